#!/bin/bash
# A private git server for the tests, in a container of the test image: the repository over SSH
# (user git, one authorized key given as $PUBKEY) and over HTTP on port 8000 (basic auth
# alice:s3cret, git-http-backend). Nothing is readable without those credentials.
set -euo pipefail
useradd -m -s /bin/bash git 2>/dev/null || true
usermod -p '*' git
install -d -m 700 -o git -g git /home/git/.ssh
printf '%s\n' "$PUBKEY" >/home/git/.ssh/authorized_keys
chown git:git /home/git/.ssh/authorized_keys && chmod 600 /home/git/.ssh/authorized_keys
git init -q -b main /tmp/w
printf 'a private repository\n' >/tmp/w/README
git -C /tmp/w add README
git -C /tmp/w -c user.name=t -c user.email=t@e commit -qm first
mkdir -p /srv/git
git clone -q --bare /tmp/w /srv/git/repo.git
chown -R git:git /srv/git
ssh-keygen -A >/dev/null
mkdir -p /run/sshd
/usr/sbin/sshd -e -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no
touch /srv/ready
exec python3 /opt/gitserver/git_http.py
