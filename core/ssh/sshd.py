"""How each SSH connection starts the container's sshd (import-free: used per connection)."""

DIR = "/etc/podbay/ssh"
CONFIG = f"{DIR}/sshd_config"

# What the exec channel runs for each connection. sshd must be started by absolute path.
SSHD_SCRIPT = (
    "mkdir -p /run/sshd 2>/dev/null; "
    'exec "$(command -v sshd || echo /usr/sbin/sshd)" -i -e -f ' + CONFIG
)
