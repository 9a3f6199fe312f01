#!/usr/bin/env bash
# Benchmarks side by side with the reference devcontainer CLI and raw docker (see bench.py).
set -euo pipefail
cd "$(dirname "$0")"
version=0.89.0
if [ ! -x .ref/node_modules/.bin/devcontainer ] ||
   [ "$(.ref/node_modules/.bin/devcontainer --version 2>/dev/null)" != "$version" ]; then
  command -v npm >/dev/null 2>&1 || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  }
  echo "== installing the reference CLI @devcontainers/cli@$version into bench/.ref" >&2
  npm install --silent --prefix .ref "@devcontainers/cli@$version" >/dev/null
fi
../.venv/bin/python bench.py "$@"
../.venv/bin/python ssh_bench.py
../.venv/bin/python tui_bench.py
../.venv/bin/python aws_bench.py
