#!/bin/sh
# podbay's portable sshd (core/ssh/bundle.py), made on the machine that runs the containers:
# that machine's own OpenSSH sshd, the libraries it links and their loader, run by the loader
# in any container of the same architecture (glibc, musl or none), so nothing is installed in
# a container. Argument: "key" prints the architecture and the sshd's digest; "make" builds the
# bundle as a tar file and prints its path.
set -eu
sshd=$(command -v sshd 2>/dev/null || true)
[ -n "$sshd" ] || sshd=/usr/sbin/sshd
[ -x "$sshd" ] || { echo "no sshd on this machine" >&2; exit 3; }
command -v ldd >/dev/null 2>&1 || { echo "no ldd on this machine" >&2; exit 3; }
# OpenSSH 9.8 and later run each connection in a separate sshd-session (and 10.0 sshd-auth)
# found at a path built into sshd: not yet carried in the bundle, so such a machine's
# containers get sshd from their package manager instead.
for split in /usr/lib/openssh/sshd-session /usr/libexec/openssh/sshd-session \
  /usr/lib/ssh/sshd-session /usr/libexec/sshd-session; do
  [ ! -e "$split" ] || { echo "sshd runs sessions in $split (OpenSSH 9.8+)" >&2; exit 3; }
done
sftp=""
for f in /usr/lib/openssh/sftp-server /usr/libexec/openssh/sftp-server /usr/lib/ssh/sftp-server \
  /usr/libexec/sftp-server; do
  if [ -x "$f" ]; then sftp=$f; break; fi
done
# The libraries: what ldd lists, and the name-service modules glibc loads by name (before
# glibc 2.34, reading /etc/passwd needs libnss_files, which ldd does not list).
libs() {
  ldd "$sshd" ${sftp:+"$sftp"} |
    awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $1 !~ /:$/ { print $1 }'
  libc=$(ldd "$sshd" | awk '$1 ~ /^libc\.so/ && $3 ~ /^\// { print $3 }')
  for nss in libnss_files.so.2 libnss_compat.so.2; do
    if [ -n "$libc" ] && [ -e "${libc%/*}/$nss" ]; then echo "${libc%/*}/$nss"; fi
  done
}
if [ "$1" = key ]; then
  # Named by the programs as they are and by ldconfig's cache, which every library install or
  # update rewrites (a security update makes a new bundle). Asked at every new container: no
  # ldd here, only stat.
  cache=""
  if [ -e /etc/ld.so.cache ]; then cache=/etc/ld.so.cache; fi
  digest=$(stat -L -c '%n %s %Y' "$sshd" ${sftp:+"$sftp"} ${cache:+"$cache"} | sha256sum)
  printf '%s %s\n' "$(uname -m)" "${digest%% *}"
  exit 0
fi
umask 022
out=$(mktemp -d "${TMPDIR:-/tmp}/podbay-sshd.XXXXXXXX")
mkdir "$out/b" "$out/b/lib"
cp "$sshd" "$out/b/sshd"
# sftp-server too: sessions forced into the workspace folder hand sftp to it.
[ -z "$sftp" ] || cp "$sftp" "$out/b/sftp-server"
libs | sort -u | while read -r lib; do cp -L "$lib" "$out/b/lib/"; done
loader=$(ldd "$sshd" | awk '$1 ~ /^\// && $1 ~ /ld-/ { print $1 }' | head -n 1)
[ -n "$loader" ] || { echo "sshd lists no ELF loader" >&2; exit 3; }
cp -L "$loader" "$out/b/ld.so"
"$sshd" -V 2>&1 | head -n 1 >"$out/b/version" || true
chmod -R go+rX "$out/b"
tar -C "$out/b" -cf "$out/sshd.tar" .
# Last in the archive: a volume whose extraction stopped half way has no `complete`.
touch "$out/complete"
tar -C "$out" -rf "$out/sshd.tar" ./complete
rm -rf "$out/b"
echo "$out/sshd.tar"
