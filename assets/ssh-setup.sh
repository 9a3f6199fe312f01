#!/bin/sh
# podbay's SSH setup in a container, one exec as root (core/ssh/bootstrap.py): find or install
# sshd, place the host key, authorized key and sshd_config under @DIR@ (filled in by podbay).
# Arguments: the login user. The files come in this exec's environment (readable by root only).
# The sessions' environment (a SetEnv line) comes in PODBAY_SSH_SETENV, or, with
# PODBAY_SSH_SETENV_LATER set, on the input once podbay knows it; meanwhile this exec can keep
# /etc/profile's PATH (PODBAY_PATCH_PROFILE) and run the user-env probe for root (PODBAY_PROBE).
# The input carries only the SetEnv line, read at the end: nothing started before that (a
# package manager, the probe's shell) may take it.
exec 3<&0 </dev/null
# Taken into the script's own variables and out of the environment: nothing started here (the
# probe's shell, sshd) sees the keys. Each name is unset first: a variable the container
# exports would otherwise pass the script's value on to the probe (f and m: the patch's).
unset user host_key authorized config_min setenv later workdir patch probe probe_arg \
  probe_marker hook_later job f m
user="$1"
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
hook_later=${PODBAY_HOOK_LATER:-}
unset PODBAY_SSH_HOST_KEY PODBAY_SSH_AUTHORIZED_KEYS PODBAY_SSH_CONFIG_MIN PODBAY_SSH_SETENV \
  PODBAY_SSH_SETENV_LATER PODBAY_SSH_WORKDIR PODBAY_PATCH_PROFILE PODBAY_PROBE PODBAY_PROBE_ARG \
  PODBAY_PROBE_MARKER PODBAY_HOOK_LATER
if [ -n "$patch" ]; then
  @PATCH_PROFILE@
fi
echo "@patched"
# Every fork counts (about 2 ms each): files are written by the shell itself, /etc/passwd is
# read by a loop of the shell, and one chmod sets the modes of what an earlier run may have left.
mkdir -p @DIR@ /run/sshd
if [ -n "$probe" ]; then
  # Its output goes to podbay between its markers, never to the log, after it ends: kept in a
  # root-only file first, so that a process an rc file leaves running cannot hold this exec's
  # output open. Then a line of the marker podbay gave, which the probe's output cannot hold.
  # Before the rest of the setup: the hooks wait for it.
  echo "@probe"
  (umask 077 && exec /bin/sh -c "$probe" "$probe_arg" >@DIR@/probe.out 2>/dev/null)
  cat @DIR@/probe.out
  printf '\n%s-end\n' "$probe_marker"
  rm -f @DIR@/probe.out
fi
umask 077
printf '%s' "$host_key" >@DIR@/host_key
printf '%s' "$config_min" >@CONFIG@.min
printf '%s' "$config_min" >@CONFIG@  # (the final one, with SetEnv, comes at the end)
chmod 600 @DIR@/host_key @CONFIG@ @CONFIG@.min
umask 022
printf '%s' "$authorized" >@DIR@/authorized_keys
# What /etc/passwd has: the login user, sshd's user, the uids taken, a last line without its
# newline (then one is added before a line is appended).
has_user="" has_sshd="" used=" " torn=""
if [ -f /etc/passwd ]; then
  while IFS=: read -r name _ id rest || { [ -n "$name" ] && torn=1; }; do
    [ "$name" = "$user" ] && has_user=1
    [ "$name" = sshd ] && has_sshd=1
    used="$used$id "
    name=""
  done </etc/passwd
fi
append_passwd() {
  if [ -n "$torn" ]; then echo >>/etc/passwd; torn=""; fi
  printf '%s\n' "$1" >>/etc/passwd
}
sshd=""
if command -v sshd >/dev/null 2>&1; then
  sshd=$(command -v sshd)
elif [ -x /usr/sbin/sshd ]; then
  sshd=/usr/sbin/sshd
fi
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
  if [ -z "$has_sshd" ]; then
    uid=100
    while case "$used" in *" $uid "*) true ;; *) false ;; esac; do uid=$((uid + 1)); done
    append_passwd "sshd:x:$uid:65534:sshd privilege separation:/run/sshd:/bin/false"
  fi
  # Checked with a SetEnv line as the sessions' environment will add (OpenSSH 7.8 and later
  # read it): then the final config needs no check of its own. The privilege separation
  # folder this sshd was built with: /run/sshd (Debian, Ubuntu), /usr/share/empty.sshd
  # (Fedora), /var/lib/empty (SUSE).
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
  echo "@installing"
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
  sshd=$(command -v sshd || { test -x /usr/sbin/sshd && echo /usr/sbin/sshd; })
  [ -n "$sshd" ] || { echo "openssh-server installed no sshd"; exit 42; }
  mkdir -p /run/sshd
  echo "@installed"
fi
# sshd logs in only users of /etc/passwd; a minimal image may have none (distroless, scratch).
if [ -z "$has_user" ]; then
  shell=/bin/sh
  [ -x /bin/bash ] && shell=/bin/bash
  case "$user" in
    *[!0-9]*|"") numeric="" ;;
    *) numeric=1 ;;
  esac
  if [ "$user" = root ]; then
    append_passwd "root:x:0:0:root:/root:$shell"
    mkdir -p /root
  elif [ -n "$numeric" ]; then
    # A user given by number (containerUser "1000"): sshd logs in by name, so the number gets
    # a line of its own, with the home and shell of that uid's entry when there is one.
    rest=""
    if [ -f /etc/passwd ]; then
      while IFS=: read -r _ _ id more || [ -n "$id" ]; do
        if [ "$id" = "$user" ]; then rest=$more; break; fi
        id=""
      done </etc/passwd
    fi
    append_passwd "$user:x:$user:${rest:-$user::/:$shell}"
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
  config_min="$config_min
ForceCommand @DIR@/session"
  printf '%s\n' "$config_min" >@CONFIG@.min
fi
# What `up` suggests to run: bash where there is one.
command -v bash >/dev/null 2>&1 || echo "@no-bash"
if [ -n "$later" ]; then
  IFS= read -r setenv <&3 || :
fi
{
  printf '%s\n' "$config_min"
  [ -z "$setenv" ] || printf '%s\n' "$setenv"
} >@CONFIG@
if [ -z "${checked:-}" ] && ! run_sshd -t -f @CONFIG@ >/dev/null 2>&1; then
  cp @CONFIG@.min @CONFIG@
  run_sshd -t -f @CONFIG@ 2>&1 || exit 43
fi
# A locked password ("!") makes some sshd refuse the user even with a key: "*" instead.
if [ -w /etc/shadow ]; then
  locked=""
  while IFS=: read -r name field _ || [ -n "$name" ]; do
    if [ "$name" = "$user" ]; then
      case "$field" in '!'|'!!'|'!*') locked=1 ;; esac
      break
    fi
    name=""
  done </etc/shadow
  [ -z "$locked" ] || sed -i "s/^$user:[^:]*:/$user:*:/" /etc/shadow
fi
# Done. With PODBAY_HOOK_LATER (a root user; its value is a token that only podbay knows), this
# exec then becomes the first lifecycle hook, an exec less: the next input line is shell code
# that ends in `exec` (printf's %b escapes), run as an exec as root would run the hook; an
# empty line for none.
if [ -n "$hook_later" ]; then
  if [ -n "$workdir" ] && [ -d "$workdir" ]; then
    echo "@ready $hook_later hook"
  else
    echo "@ready $hook_later"
  fi
  IFS= read -r job <&3 || :
  exec 3<&-
  if [ -n "$job" ]; then
    job=$(printf '%b' "$job")
    echo "@hook"
    eval "$job"
    exit 127
  fi
fi
