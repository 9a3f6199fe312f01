#!/bin/sh
# Your dotfiles in a new container, as the workspace's remote user (podbay's core/dotfiles.py),
# from ~/dotfiles, where podbay copied the repository. $1: the install command the user set, a
# file of the repository or a command line ("" to look for one, as the reference CLI does). It
# comes as an argument, never as shell text.
set -u
cd "$HOME/dotfiles" || exit 125
command=$1
if [ -z "$command" ]; then
  for candidate in install.sh install bootstrap.sh bootstrap script/bootstrap setup.sh setup script/setup; do
    if [ -e "$candidate" ]; then
      command=$candidate
      break
    fi
  done
fi
if [ -z "$command" ]; then
  linked=""
  for file in .[!.]* ..?*; do
    [ -e "$file" ] || continue
    [ "$file" = .git ] && continue
    ln -sf "$PWD/$file" "$HOME/" && linked="$linked $file"
  done
  echo "no install script: linked${linked:- nothing} into $HOME"
  exit 0
fi
if [ -e "$command" ]; then  # a file of the repository
  case "$command" in
    /*|./*|../*) ;;
    *) command="./$command" ;;
  esac
  [ -x "$command" ] || chmod +x "$command"
  echo "running $command"
  exec "$command"
fi
echo "running $command"
exec /bin/sh -c "$command"  # a command line the user set
