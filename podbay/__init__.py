"""podbay: development environments from devcontainer.json, driven from a terminal.

Installed, this package holds podbay.core, podbay.providers, podbay.tui and podbay.assets. In the
repository those folders stay at the top level and the entries here are links to them.
"""

import os

# The folder that holds this package: what a bare `python -S -c ...` (the ssh ProxyCommand, the
# relay) puts on sys.path to import podbay without site-packages.
IMPORT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
