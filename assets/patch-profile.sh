#!/bin/sh
# Login shells on Debian and others reset PATH in /etc/profile, losing what the image and
# features put there; keep an inherited PATH (the reference CLI makes the same change). Once.
# shellcheck disable=SC2016  # ${PATH...} is written into the file, not expanded here
f=/etc/profile; m=/var/lib/podbay-profile-patched; [ -e "$m" ] || { [ -f "$f" ] && sed -i -E 's/((^|\s)PATH=)([^\$]*)$/\1${PATH:-\3}/g' "$f"; touch "$m"; } 2>/dev/null; true
