#!/usr/bin/env bash
# Build the images the test suite uses (and install the local registry the pull tests start). No image registry is reachable, so they are made here:
#   podbay-test/debian:bookworm  debootstrap'd Debian (bash, git, sudo, python3, openssh-server),
#                                cached as a tarball; VERSION below forces a rebuild when it changes
#   podbay-test/busybox:latest   busybox-static only, no package manager
# The debootstrap tarball is cached outside the repo ($PODBAY_TEST_CACHE, default ~/.cache/podbay-test).
set -euo pipefail
cache=${PODBAY_TEST_CACHE:-$HOME/.cache/podbay-test}
VERSION=2
mkdir -p "$cache"

apt_missing=()
command -v debootstrap >/dev/null 2>&1 || apt_missing+=(debootstrap)
[ -x /bin/busybox ] || apt_missing+=(busybox-static)
command -v git >/dev/null 2>&1 || apt_missing+=(git)
command -v docker-registry >/dev/null 2>&1 || apt_missing+=(docker-registry)
[ -x /usr/sbin/sshd ] || apt_missing+=(openssh-server)
command -v ssh >/dev/null 2>&1 || apt_missing+=(openssh-client)
command -v tmux >/dev/null 2>&1 || apt_missing+=(tmux)
if ((${#apt_missing[@]})); then
  echo "== installing ${apt_missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_missing[@]}" >/dev/null
fi

have=$(docker image inspect -f '{{index .Config.Labels "podbay.test.version"}}' \
  podbay-test/debian:bookworm 2>/dev/null || true)
if [ "$have" != "$VERSION" ]; then
  tarball=$cache/debian-bookworm-v$VERSION-rootfs.tar
  if [ ! -s "$tarball" ]; then
    echo "== debootstrap Debian bookworm (about 90 s, cached in $cache)" >&2
    root=$(mktemp -d)
    debootstrap --variant=minbase \
      --include=bash,ca-certificates,git,sudo,python3,procps,openssh-server \
      bookworm "$root" >"$cache/debootstrap.log" 2>&1 || {
      tail -30 "$cache/debootstrap.log" >&2
      exit 1
    }
    # No host keys baked in (podbay brings its own), no package caches.
    rm -f "$root"/etc/ssh/ssh_host_*
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$root"
    rm -f "$cache"/debian-bookworm-rootfs.tar "$cache"/debian-bookworm-v[0-9]*-rootfs.tar.old
  fi
  echo "== docker import podbay-test/debian:bookworm" >&2
  docker import -c 'CMD ["/bin/bash"]' -c "LABEL podbay.test.version=$VERSION" \
    "$tarball" podbay-test/debian:bookworm >/dev/null
fi

if ! docker image inspect podbay-test/busybox:latest >/dev/null 2>&1; then
  echo "== building podbay-test/busybox:latest" >&2
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/tmp" "$root/root" "$root/etc"
  cp /bin/busybox "$root/bin/busybox"
  for applet in sh ls cat echo sleep env id mkdir printf pwd test true false rm touch; do
    ln -s busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
  tar -C "$root" -c . | docker import -c 'CMD ["/bin/sh"]' - podbay-test/busybox:latest >/dev/null
  rm -rf "$root"
fi
