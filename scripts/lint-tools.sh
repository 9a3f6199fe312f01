#!/usr/bin/env bash
# What `make lint` needs besides the Python tools in .venv: shellcheck (Debian's package).
set -euo pipefail
command -v shellcheck >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "podbay: shellcheck is missing; run: sudo apt-get install shellcheck" >&2
  exit 1
fi
echo "== installing shellcheck" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
