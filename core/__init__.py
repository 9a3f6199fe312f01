"""podbay's engine: workspaces, devcontainer.json, state. Imports neither Textual nor boto3."""
