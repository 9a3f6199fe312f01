"""How each SSH connection starts the container's sshd (import-free: used per connection)."""

DIR = "/etc/podbay/ssh"
CONFIG = f"{DIR}/sshd_config"
BUNDLE = "/.podbay/sshd"  # podbay's portable sshd, when mounted (core/ssh/bundle.py)

# What the exec channel runs for each connection: the image's own sshd, else podbay's through
# its loader. sshd must be started by absolute path.
SSHD_SCRIPT = (
    "mkdir -p /run/sshd 2>/dev/null; "
    "s=$(command -v sshd || { [ -x /usr/sbin/sshd ] && echo /usr/sbin/sshd; }); "
    f'[ -n "$s" ] && exec "$s" -i -e -f {CONFIG}; '
    f"exec {BUNDLE}/ld.so --library-path {BUNDLE}/lib {BUNDLE}/sshd -i -e -f {CONFIG}"
)
