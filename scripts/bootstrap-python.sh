#!/usr/bin/env bash
# Make sure `python3 -m venv` works (fresh Debian lacks python3-venv), then create .venv.
set -euo pipefail
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "podbay: python3 with venv is missing; run: sudo apt-get install python3 python3-venv" >&2
    exit 1
  fi
  echo "== installing python3 and python3-venv" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
fi
python3 - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"podbay needs Python 3.11 or newer; this is {sys.version.split()[0]}")
PY
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
touch .venv/.installed
