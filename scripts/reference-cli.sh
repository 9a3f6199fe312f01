#!/usr/bin/env bash
# The reference devcontainer CLI (@devcontainers/cli from npm) in bench/.ref, for the
# differential tests (tests/compat) and the benchmarks. Installs Node.js and npm if missing.
set -euo pipefail
cd "$(dirname "$0")/../bench"
version=0.89.0
if [ -x .ref/node_modules/.bin/devcontainer ] &&
   [ "$(.ref/node_modules/.bin/devcontainer --version 2>/dev/null)" = "$version" ]; then
  exit 0
fi
command -v npm >/dev/null 2>&1 || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
}
echo "== installing the reference CLI @devcontainers/cli@$version into bench/.ref" >&2
npm install --silent --prefix .ref "@devcontainers/cli@$version" >/dev/null
