#!/usr/bin/env bash
# Make sure a Docker engine answers: install Debian's docker.io when missing, start dockerd when
# none runs. Idempotent; used by `make run`, `make test` and CI.
set -euo pipefail

need_apt=()
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
if ((${#need_apt[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "podbay: Docker is not installed; run: sudo apt-get install ${need_apt[*]}" >&2
    exit 1
  fi
  echo "== installing ${need_apt[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if docker info >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "podbay: Docker is not running; start it: sudo systemctl start docker" >&2
  exit 1
fi
echo "== starting dockerd (log: /var/log/podbay-dockerd.log)" >&2
nohup dockerd >/var/log/podbay-dockerd.log 2>&1 &
for _ in $(seq 1 120); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 0.5
done
echo "podbay: dockerd did not answer within 60 s; see /var/log/podbay-dockerd.log" >&2
tail -20 /var/log/podbay-dockerd.log >&2 || true
exit 1
