#!/usr/bin/env bash
# Docker Compose v2 for the compose tests. Debian bookworm ships only Compose v1 (end of life);
# the next Debian release's docker-compose package is v2 and needs only libc6 >= 2.34. It is
# fetched with apt from this machine's own Debian mirror through a private source list (the
# system's sources stay untouched) and unpacked to /opt/podbay-test/cli-plugins, which tests put
# on Docker's plugin path through DOCKER_CONFIG. podbay itself uses whatever `docker compose` the
# user has, and says so clearly when there is none.
set -euo pipefail
dest=/opt/podbay-test/cli-plugins
[ -x "$dest/docker-compose" ] && exit 0

mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
if [ -z "$mirror" ]; then
  mirror=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' \
    /etc/apt/sources.list 2>/dev/null || true)
fi
[ -n "$mirror" ] || { echo "compose-v2.sh: no Debian mirror in the apt sources" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$work/sources.list"
opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/lists" -o Debug::NoLocking=1 -o APT::Sandbox::User=root -q)
echo "== Docker Compose v2 for the compose tests (Debian trixie's docker-compose)" >&2
apt-get "${opts[@]}" update >/dev/null
(cd "$work" && apt-get "${opts[@]}" download docker-compose >/dev/null 2>&1)
dpkg-deb -x "$work"/docker-compose_*.deb "$work/root"
mkdir -p "$dest"
install -m 0755 "$work/root/usr/libexec/docker/cli-plugins/docker-compose" "$dest/docker-compose"
