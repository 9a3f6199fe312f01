#!/bin/sh
# podbay: install Docker on an SSH machine (podbay provider add ssh, once the user said yes).
# Run as root (sudo -n sh -c SCRIPT sh USER); USER is the login that will use Docker.
set -eu
user=$1
if ! command -v apt-get >/dev/null 2>&1; then
  echo "no apt-get here to install Docker with"
  exit 3
fi
export DEBIAN_FRONTEND=noninteractive
apt-get -qq update
apt-get -y -qq install docker.io >/dev/null
getent group docker >/dev/null 2>&1 || groupadd docker
usermod -aG docker "$user"
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl enable --now docker >/dev/null 2>&1
fi
echo "@installed"
