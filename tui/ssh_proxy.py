"""The ssh ProxyCommand's entry (core/ssh/proxy.py), with the front's way to read a workspace's
secrets: they reach the sessions of `ssh NAME.podbay` and VS Code as sshd SetEnv words, given
to the container's sshd for this connection only (core/ssh/sshd.py)."""

from __future__ import annotations

from podbay.core.ssh import proxy


def session_env(name: str) -> str:
    """The workspace's secrets as SetEnv words ("" when none is set for it)."""
    import site

    site.main()  # the ProxyCommand runs as `python -S`: the keyring and boto3 are site packages
    from podbay.core.ssh.bootstrap import setenv_words
    from podbay.tui.cli.attach_verbs import workspace_secrets

    return setenv_words(workspace_secrets(name))[0]


def main() -> None:
    proxy.main(session_env)
