#!/bin/sh
# Run in the container by `podbay code`: Remote-SSH has no flag for extensions, so this waits
# (up to 10 minutes) for VS Code's server and installs them with its own CLI.
# Arguments: the extension ids.
for _ in $(seq 600); do
  server=$(find "$HOME/.vscode-server" -path '*bin/code-server' -type f 2>/dev/null | head -n 1)
  [ -n "$server" ] && break
  sleep 1
done
[ -n "$server" ] || exit 0
for extension in "$@"; do "$server" --install-extension "$extension" >/dev/null 2>&1; done
