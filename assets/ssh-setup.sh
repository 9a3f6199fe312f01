#!/bin/sh
# podbay's SSH setup in a container, one exec as root (core/ssh/bootstrap.py): find or install
# sshd, place the host key, authorized key and sshd_config under @DIR@ (filled in by podbay).
# Arguments: the login user. The files come in this exec's environment (readable by root only).
# The sessions' environment (a SetEnv line) comes in PODBAY_SSH_SETENV, or, with
# PODBAY_SSH_SETENV_LATER set, on the input once podbay knows it; meanwhile this exec can keep
# /etc/profile's PATH (PODBAY_PATCH_PROFILE) and run the user-env probe for root (PODBAY_PROBE).
user="$1"
# The input carries only the SetEnv line, read at the end: nothing started before that (a
# package manager, the probe's shell) may take it.
exec 3<&0 </dev/null
# Taken into the script's own variables (unset first: one the container exports would pass a
# value on) and out of the environment: nothing started here (the probe's shell, sshd) sees
# the keys.
unset host_key authorized config_min setenv later workdir patch probe probe_arg probe_marker
host_key=$PODBAY_SSH_HOST_KEY
authorized=$PODBAY_SSH_AUTHORIZED_KEYS
config_min=$PODBAY_SSH_CONFIG_MIN
setenv=${PODBAY_SSH_SETENV:-}
later=${PODBAY_SSH_SETENV_LATER:-}
workdir=${PODBAY_SSH_WORKDIR:-}
patch=${PODBAY_PATCH_PROFILE:-}
probe=${PODBAY_PROBE:-}
probe_arg=${PODBAY_PROBE_ARG:-}
probe_marker=${PODBAY_PROBE_MARKER:-}
unset PODBAY_SSH_HOST_KEY PODBAY_SSH_AUTHORIZED_KEYS PODBAY_SSH_CONFIG_MIN PODBAY_SSH_SETENV \
  PODBAY_SSH_SETENV_LATER PODBAY_SSH_WORKDIR PODBAY_PATCH_PROFILE PODBAY_PROBE PODBAY_PROBE_ARG \
  PODBAY_PROBE_MARKER
if [ -n "$patch" ]; then
  @PATCH_PROFILE@
fi
echo "@patched"
umask 022
mkdir -p @DIR@
if [ -n "$probe" ]; then
  # Its output goes to podbay between its markers, never to the log, after it ends: kept in a
  # file first, so that a process an rc file leaves running cannot hold this exec's output
  # open. Then a line of the marker podbay gave, which the probe's output cannot hold.
  echo "@probe"
  out=@DIR@/probe.out
  (umask 077 && : >"$out")
  /bin/sh -c "$probe" "$probe_arg" >"$out" 2>/dev/null
  cat "$out"
  rm -f "$out"
  printf '\n%s-end\n' "$probe_marker"
fi
(umask 077 && printf '%s' "$host_key" > @DIR@/host_key)
chmod 600 @DIR@/host_key
printf '%s' "$authorized" > @DIR@/authorized_keys
# The config with the sessions' environment (SetEnv), which may hold tokens, is root's only;
# until then, and where an old sshd refuses SetEnv, sshd runs with the one without it.
(umask 077 && printf '%s' "$config_min" > @CONFIG@.min)
chmod 600 @CONFIG@.min
find_sshd() { command -v sshd || { test -x /usr/sbin/sshd && echo /usr/sbin/sshd; }; }
sshd=$(find_sshd)
run_sshd() {
  if [ "$sshd" = @BUNDLE@/sshd ]; then
    @BUNDLE@/ld.so --library-path @BUNDLE@/lib @BUNDLE@/sshd "$@"
  else
    "$sshd" "$@"
  fi
}
# podbay's portable sshd (core/ssh/bundle.py), mounted read-only, when the image has none and
# the volume is whole (`complete` comes last out of its archive).
if [ -z "$sshd" ] && [ -x @BUNDLE@/ld.so ] && [ -e @BUNDLE@/complete ]; then
  sshd=@BUNDLE@/sshd
  # sshd's privilege separation drops to a user named sshd, which images without it lack.
  if ! grep -qs '^sshd:' /etc/passwd; then
    if [ -s /etc/passwd ] && [ -n "$(tail -c 1 /etc/passwd)" ]; then echo >>/etc/passwd; fi
    uid=$(awk -F: '{ used[$3] = 1 } END { for (i = 100; i < 60000; i++) if (!(i in used)) { print i; exit } }' /etc/passwd 2>/dev/null)
    echo "sshd:x:${uid:-74}:65534:sshd privilege separation:/run/sshd:/bin/false" >>/etc/passwd
  fi
  # The privilege separation folder this sshd was built with: /run/sshd (Debian, Ubuntu),
  # /usr/share/empty.sshd (Fedora), /var/lib/empty (SUSE).
  mkdir -p /run/sshd
  # Checked with a SetEnv line as the sessions' environment will add (OpenSSH 7.8 and later
  # read it): then the final config needs no check of its own.
  if run_sshd -t -f @CONFIG@.min -o "SetEnv PODBAY=1" >/dev/null 2>&1; then
    checked=1
  else
    missing=$(run_sshd -t -f @CONFIG@.min 2>&1 | sed -n 's/.*Missing privilege separation directory: *//p')
    if [ -n "$missing" ]; then mkdir -p "$missing"; fi
    if ! run_sshd -t -f @CONFIG@.min >/dev/null 2>&1; then
      echo "podbay's portable sshd does not run in this image: $(run_sshd -t -f @CONFIG@.min 2>&1 | tail -n 1)"
      sshd=""
    fi
  fi
fi
if [ -z "$sshd" ]; then
  echo "sshd is not in the image; installing openssh-server"
  (
    set -e
    created_policy=
    if [ ! -e /usr/sbin/policy-rc.d ] && [ -d /usr/sbin ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
      created_policy=1
    fi
    trap '[ -z "$created_policy" ] || rm -f /usr/sbin/policy-rc.d' EXIT
    if command -v apt-get >/dev/null 2>&1; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get -o DPkg::Lock::Timeout=300 update -qq
      apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
        openssh-server >/dev/null
    elif command -v apk >/dev/null 2>&1; then
      apk add --no-cache -q openssh-server
    elif command -v dnf >/dev/null 2>&1; then
      dnf install -y -q openssh-server
    elif command -v microdnf >/dev/null 2>&1; then
      microdnf install -y openssh-server
    elif command -v yum >/dev/null 2>&1; then
      yum install -y -q openssh-server
    elif command -v zypper >/dev/null 2>&1; then
      zypper -n -q install openssh
    else
      echo "no package manager (apt, apk, dnf, microdnf, yum, zypper) to install openssh-server"
      exit 42
    fi
  ) || exit $?
  sshd=$(find_sshd)
  [ -n "$sshd" ] || { echo "openssh-server installed no sshd"; exit 42; }
  echo "@installed"
fi
mkdir -p /run/sshd
# sshd logs in only users of /etc/passwd; a minimal image may have none (distroless, scratch).
if ! grep -qs "^$user:" /etc/passwd; then
  if [ "$user" = root ]; then
    if [ -s /etc/passwd ] && [ -n "$(tail -c 1 /etc/passwd)" ]; then echo >>/etc/passwd; fi
    shell=/bin/sh
    [ -x /bin/bash ] && shell=/bin/bash
    echo "root:x:0:0:root:/root:$shell" >>/etc/passwd
    mkdir -p /root
  elif printf '%s\n' "$user" | grep -qx '[0-9][0-9]*'; then
    # A user given by number (containerUser "1000"): sshd logs in by name, so the number gets
    # a line of its own, with the home and shell of that uid's entry when there is one.
    if [ -s /etc/passwd ] && [ -n "$(tail -c 1 /etc/passwd)" ]; then echo >>/etc/passwd; fi
    rest=$(awk -F: -v u="$user" '$3 == u { print $4 ":" $5 ":" $6 ":" $7; exit }' /etc/passwd 2>/dev/null)
    shell=/bin/sh
    [ -x /bin/bash ] && shell=/bin/bash
    printf '%s\n' "$user:x:$user:${rest:-$user::/:$shell}" >>/etc/passwd
  else
    echo "the login user $user is not in the image's /etc/passwd"
    exit 44
  fi
fi
# Sessions start in the workspace folder, as `podbay ssh` does; sftp keeps the home folder.
# A ForceCommand does it, and sftp then needs an sftp-server program to be handed to.
sftp=""
if [ "$sshd" = @BUNDLE@/sshd ]; then
  if [ -x @BUNDLE@/sftp-server ]; then
    sftp="@BUNDLE@/ld.so --library-path @BUNDLE@/lib @BUNDLE@/sftp-server"
  fi
else
  for f in /usr/lib/openssh/sftp-server /usr/libexec/openssh/sftp-server \
    /usr/lib/ssh/sftp-server /usr/libexec/sftp-server; do
    if [ -x "$f" ]; then sftp=$f; break; fi
  done
fi
if [ -n "$sftp" ] && [ -n "$workdir" ]; then
  printf '%s' "$workdir" >@DIR@/workdir
  # The session script's own variables, written as they are.
  # shellcheck disable=SC2016
  {
    printf '%s\n' '#!/bin/sh'
    printf '%s\n' 'command=$SSH_ORIGINAL_COMMAND'
    printf '%s\n' 'unset SSH_ORIGINAL_COMMAND'
    printf '%s\n' 'case "$command" in'
    printf '%s\n' "  internal-sftp|internal-sftp\\ *|*/sftp-server) exec $sftp ;;"
    printf '%s\n' '  "scp -"[tf]*|*" scp -"[tf]*|"rsync --server"*|git-upload-pack*|git-receive-pack*) ;;'
    printf '%s\n' '  *) cd "$(cat @DIR@/workdir)" 2>/dev/null || true ;;'
    printf '%s\n' 'esac'
    printf '%s\n' '[ -z "$command" ] || exec "${SHELL:-/bin/sh}" -c "$command"'
    printf '%s\n' 'exec "${SHELL:-/bin/sh}" -l'
  } >@DIR@/session
  chmod 755 @DIR@/session
  echo "ForceCommand @DIR@/session" >>@CONFIG@.min
fi
# What `up` suggests to run: bash where there is one.
command -v bash >/dev/null 2>&1 || echo "@no-bash"
if [ -n "$later" ]; then
  IFS= read -r setenv <&3 || :
fi
(umask 077 && { cat @CONFIG@.min; [ -z "$setenv" ] || printf '%s\n' "$setenv"; } > @CONFIG@)
chmod 600 @CONFIG@
if [ -z "${checked:-}" ] && ! run_sshd -t -f @CONFIG@ >/dev/null 2>&1; then
  cp @CONFIG@.min @CONFIG@
  run_sshd -t -f @CONFIG@ 2>&1 || exit 43
fi
if [ -w /etc/shadow ]; then
  field=$(awk -F: -v u="$user" '$1 == u { print $2 }' /etc/shadow)
  case "$field" in
    '!'|'!!'|'!*') sed -i "s/^$user:[^:]*:/$user:*:/" /etc/shadow ;;
  esac
fi
