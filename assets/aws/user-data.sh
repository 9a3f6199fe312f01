#!/bin/bash
# podbay user-data: run once as root when the instance first boots (cloud-init runs it).
# It holds no cloud credentials: only the workspace's public client key and the SSH host key
# podbay generated for this machine (so podbay's first connection is already pinned).
# -E: the ERR trap below also fires inside functions.
set -Eeuo pipefail
umask 022

PODBAY_USER=@@USER@@
CLIENT_KEY=@@CLIENT_KEY@@
HOST_KEY=@@HOST_KEY@@
IDLE_MINUTES=@@IDLE_MINUTES@@
WORKSPACES=@@WORKSPACES@@

mkdir -p /var/lib/podbay
rm -f /var/lib/podbay/ready /var/lib/podbay/failed
trap 'echo "user-data failed at line $LINENO" >/var/lib/podbay/failed' ERR
has_systemd() { [ -d /run/systemd/system ]; }
fail() {
  echo "$1" >/var/lib/podbay/failed
  exit 1
}
# A copy `podbay up` can run again after a failed step (root only: it holds the host key).
if [ "$0" != /var/lib/podbay/user-data.sh ]; then install -m 0700 "$0" /var/lib/podbay/user-data.sh; fi

# 1. The login user: key-only, passwordless sudo.
if ! id "$PODBAY_USER" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash "$PODBAY_USER"
fi
for group in sudo wheel; do
  if getent group "$group" >/dev/null; then usermod -aG "$group" "$PODBAY_USER"; fi
done
echo "$PODBAY_USER ALL=(ALL) NOPASSWD:ALL" >/etc/sudoers.d/90-podbay
chmod 0440 /etc/sudoers.d/90-podbay
home=$(getent passwd "$PODBAY_USER" | cut -d: -f6)
install -d -m 0700 -o "$PODBAY_USER" -g "$PODBAY_USER" "$home/.ssh"
printf '%s\n' "$CLIENT_KEY" >"$home/.ssh/authorized_keys"
chown "$PODBAY_USER:$PODBAY_USER" "$home/.ssh/authorized_keys"
chmod 0600 "$home/.ssh/authorized_keys"

# 2. The host key podbay pinned, and only that one; no passwords, no root logins.
#    Kept in a folder of its own: cloud-init deletes /etc/ssh/ssh_host_*key* when an image made
#    from this machine boots again.
install -d -m 0755 /etc/ssh/podbay
(umask 077 && printf '%s\n' "$HOST_KEY" >/etc/ssh/podbay/ssh_host_ed25519_key)
ssh-keygen -y -f /etc/ssh/podbay/ssh_host_ed25519_key >/etc/ssh/podbay/ssh_host_ed25519_key.pub
mkdir -p /etc/ssh/sshd_config.d
cat >/etc/ssh/sshd_config.d/10-podbay.conf <<EOF
HostKey /etc/ssh/podbay/ssh_host_ed25519_key
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowStreamLocalForwarding yes
ClientAliveInterval 30
EOF
if ! grep -qs '^Include /etc/ssh/sshd_config.d/' /etc/ssh/sshd_config; then
  sed -i '1i Include /etc/ssh/sshd_config.d/*.conf' /etc/ssh/sshd_config
fi
if has_systemd; then systemctl restart ssh 2>/dev/null || systemctl restart sshd; fi

# 3. Docker, when the image has none. A first boot's unattended-upgrades holds apt's lock for
#    minutes: wait for it rather than fail for good. BuildKit (buildx) where it is packaged.
if ! command -v docker >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt() { apt-get -o DPkg::Lock::Timeout=600 "$@"; }
    if ! apt update -q; then
      sleep 5
      apt update -q
    fi
    apt install -y -q docker.io git
    apt install -y -q docker-buildx >/dev/null 2>&1 || true
  elif command -v dnf >/dev/null 2>&1; then
    dnf install -y docker git
  else
    fail "no package manager to install Docker with"
  fi
  if has_systemd; then systemctl enable --now docker; fi
fi
getent group docker >/dev/null || groupadd docker
usermod -aG docker "$PODBAY_USER"
install -d -m 0755 -o "$PODBAY_USER" -g "$PODBAY_USER" "$WORKSPACES"

# 4. The inactivity watchdog: power off (the instance then stops, only its disk is billed)
#    when no SSH connection has been open for IDLE_MINUTES.
cat >/usr/local/sbin/podbay-idle <<'EOF'
#!/bin/sh
# Power the machine off after PODBAY_IDLE_MINUTES without an established SSH connection.
minutes=${PODBAY_IDLE_MINUTES:-30}
state=${PODBAY_IDLE_STATE:-/run/podbay-idle}
poweroff=${PODBAY_IDLE_POWEROFF:-systemctl poweroff}
# An established TCP connection on local port 22 (0x0016), IPv4 or IPv6 (tables that exist:
# awk stops at a missing file, and an open session would then read as idle).
tables=""
for table in /proc/net/tcp /proc/net/tcp6; do [ -e "$table" ] && tables="$tables $table"; done
# shellcheck disable=SC2086 # the list of tables is meant to split
if [ -n "$tables" ] && awk 'FNR > 1 && $4 == "01" && $2 ~ /:0016$/ { found = 1 } END { exit !found }' $tables; then
  touch "$state"
  exit 0
fi
if [ ! -e "$state" ]; then
  touch "$state"
  exit 0
fi
idle=$(($(date +%s) - $(stat -c %Y "$state")))
if [ "$idle" -ge $((minutes * 60)) ]; then
  logger -t podbay-idle "no SSH connection for ${idle}s: powering off" 2>/dev/null || true
  exec $poweroff
fi
EOF
chmod 0755 /usr/local/sbin/podbay-idle
mkdir -p /etc/systemd/system
cat >/etc/systemd/system/podbay-idle.service <<EOF
[Unit]
Description=podbay: power off after ${IDLE_MINUTES} minutes without SSH

[Service]
Type=oneshot
Environment=PODBAY_IDLE_MINUTES=${IDLE_MINUTES}
ExecStart=/usr/local/sbin/podbay-idle
EOF
cat >/etc/systemd/system/podbay-idle.timer <<EOF
[Unit]
Description=podbay: check for SSH activity every minute

[Timer]
OnBootSec=1min
OnUnitActiveSec=1min

[Install]
WantedBy=timers.target
EOF
if has_systemd; then systemctl daemon-reload && systemctl enable --now podbay-idle.timer; fi
echo "$IDLE_MINUTES" >/var/lib/podbay/idle-minutes

touch /var/lib/podbay/ready
