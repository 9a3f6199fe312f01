#!/bin/sh
# podbay sync --watch: place the files uploaded to $3 into the copy $1 on the machine, each
# dated as the mark $2 (so it is not taken for a change made there). Never through a symbolic
# link or outside the copy (what runs in the container can plant links in it): such a file is
# said as "@outside NAME". A file changed there since the mark is not overwritten: "@raced
# NAME". The upload folder goes at the end.
set -u
root=$(cd "$1" && pwd -P) || exit 1
mark=$2
upload=$3
cd "$upload" || exit 1
find . -type f -exec sh -c '
  root=$1 mark=$2
  shift 2
  inside() {
    case "$1/" in "$root"/*) return 0 ;; *) return 1 ;; esac
  }
  for n in "$@"; do
    n=${n#./}
    dir=$(dirname "$n")
    probe="$root/$dir"
    while [ ! -e "$probe" ]; do probe=$(dirname "$probe"); done
    real=$(cd "$probe" && pwd -P) || exit 1
    if ! inside "$real"; then echo "@outside $n"; continue; fi
    mkdir -p "$root/$dir" || exit 1
    real=$(cd "$root/$dir" && pwd -P) || exit 1
    if ! inside "$real"; then echo "@outside $n"; continue; fi
    target="$real/$(basename "$n")"
    if [ -L "$target" ] || [ -d "$target" ]; then echo "@outside $n"; continue; fi
    if [ -e "$target" ] && [ "$target" -nt "$mark" ]; then echo "@raced $n"; continue; fi
    cp -p "$n" "$target" && touch -r "$mark" "$target" || exit 1
  done
' sh "$root" "$mark" {} + || exit 1
cd / && rm -rf "$upload"
