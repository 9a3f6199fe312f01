#!/bin/sh
# Kills every process whose command line holds the user-env probe's marker ($M, given in the
# environment so that this script's own command line does not), and their children, depth first.
tree() {
  # shellcheck disable=SC2013  # process ids are words
  for child in $(grep -l "^PPid:[[:space:]]*$1\$" /proc/[0-9]*/status 2>/dev/null | cut -d/ -f3)
  do tree "$child"; done
  kill -9 "$1" 2>/dev/null
}
for p in /proc/[0-9]*; do
  case "$(tr '\0' ' ' < "$p/cmdline" 2>/dev/null)" in *"$M"*) tree "${p#/proc/}" ;; esac
done
true
