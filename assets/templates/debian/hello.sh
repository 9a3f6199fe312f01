#!/bin/sh
# A tiny script: run `sh hello.sh`.
echo "Hello from your podbay workspace on Debian $(cat /etc/debian_version)"
