#!/bin/sh
# Runs a feature's install.sh as the spec says: as root, in the feature's folder, with the
# builtin variables and the options exported (podbay copies it beside each feature).
set -e
cd "$(dirname "$0")"
home_of() { sed -n "s/^$1:[^:]*:[^:]*:[^:]*:[^:]*:\([^:]*\):.*/\1/p" /etc/passwd | head -n 1; }
set -a
# shellcheck source=/dev/null
. ./podbay-builtin.env
_REMOTE_USER_HOME="$(home_of "$_REMOTE_USER")"
_CONTAINER_USER_HOME="$(home_of "$_CONTAINER_USER")"
# shellcheck source=/dev/null
. ./devcontainer-features.env
set +a
chmod +x ./install.sh
./install.sh
