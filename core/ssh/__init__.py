"""SSH attach: per-workspace keys, sshd in the container, podbay's ssh_config and known_hosts."""
