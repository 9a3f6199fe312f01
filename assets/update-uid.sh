#!/bin/sh
# Give the remote user the uid and gid that own the workspace's source, so files the user
# writes in the container are theirs outside it. The reference CLI's updateUID step, as one
# script: leave the uid alone when another user has it; keep the gid when another group has it.
# Usage: update-uid.sh USER NEW_UID NEW_GID   (runs as root while the image is built)
REMOTE_USER="$1"
NEW_UID="$2"
NEW_GID="$3"
entry=$(grep "^${REMOTE_USER}:" /etc/passwd | head -n 1)
if [ -z "$entry" ]; then
  echo "podbay: user $REMOTE_USER is not in /etc/passwd; uid left alone"
  exit 0
fi
OLD_UID=$(echo "$entry" | cut -d: -f3)
OLD_GID=$(echo "$entry" | cut -d: -f4)
HOME_FOLDER=$(echo "$entry" | cut -d: -f6)
EXISTING_USER=$(awk -F: -v id="$NEW_UID" '$3 == id { print $1; exit }' /etc/passwd)
EXISTING_GROUP=$(awk -F: -v id="$NEW_GID" '$3 == id { print $1; exit }' /etc/group)
if [ "$OLD_UID" = "$NEW_UID" ] && [ "$OLD_GID" = "$NEW_GID" ]; then
  echo "podbay: $REMOTE_USER already has $NEW_UID:$NEW_GID"
  exit 0
fi
if [ "$OLD_UID" != "$NEW_UID" ] && [ -n "$EXISTING_USER" ]; then
  echo "podbay: uid $NEW_UID belongs to $EXISTING_USER; $REMOTE_USER keeps $OLD_UID"
  exit 0
fi
if [ "$OLD_GID" != "$NEW_GID" ] && [ -n "$EXISTING_GROUP" ]; then
  echo "podbay: gid $NEW_GID belongs to group $EXISTING_GROUP; $REMOTE_USER keeps gid $OLD_GID"
  NEW_GID="$OLD_GID"
fi
echo "podbay: $REMOTE_USER $OLD_UID:$OLD_GID -> $NEW_UID:$NEW_GID"
sed -i -e "s/^\(${REMOTE_USER}:[^:]*:\)[^:]*:[^:]*/\1${NEW_UID}:${NEW_GID}/" /etc/passwd
if [ "$OLD_GID" != "$NEW_GID" ]; then
  sed -i -e "s/^\([^:]*:[^:]*:\)${OLD_GID}:/\1${NEW_GID}:/" /etc/group
fi
if [ -d "$HOME_FOLDER" ]; then
  chown -R "$NEW_UID:$NEW_GID" "$HOME_FOLDER"
fi
