"""Secrets reach a workspace's hooks, `podbay exec` and `podbay ssh` sessions as environment
variables, and nowhere else: not the container's own environment (docker inspect), not a
file in it, not podbay's logs or --json."""

from __future__ import annotations

import hashlib
import json
import subprocess

from tests.conftest import IMAGE, Podbay, write_config

VALUE = "s3cret-value-of-podbay-tests"
DIGEST = hashlib.sha256(VALUE.encode()).hexdigest()


def test_secrets_are_in_hooks_and_sessions_and_nowhere_else(podbay: Podbay) -> None:
    podbay.ok("secret", "set", "DB_PASSWORD", input=VALUE)
    podbay.ok("secret", "set", "SHARED", input="everyone")
    write_config(
        podbay.cwd / "app",
        {
            "image": IMAGE,
            # A hook sees it (and keeps only its digest: no file holds the value itself).
            "postCreateCommand": 'printf %s "$DB_PASSWORD" | sha256sum > /tmp/hook-saw',
            "postAttachCommand": 'printf %s "$DB_PASSWORD" | sha256sum > /tmp/attach-saw',
        },
    )
    podbay.ok("up", "app")
    podbay.ok("secret", "set", "SHARED", "--workspace", "app", input="app's own")
    seen = podbay.ok("exec", "app", "--", "sh", "-c", "cat /tmp/hook-saw; echo $SHARED").stdout
    assert seen.split("\n")[0].startswith(DIGEST)
    assert seen.split("\n")[1] == "app's own"  # a workspace's own wins
    assert podbay.ok("exec", "app", "--", "printenv", "DB_PASSWORD").stdout == VALUE + "\n"
    # postAttachCommand of an interactive attach (run detached by `podbay ssh`) has them too.
    podbay.ok("exec", "app", "--", "rm", "/tmp/attach-saw")
    podbay.ok("ssh", "app", input="exit\n")
    # (it runs detached: waited for by its file, up to 5 s)
    attached = (
        "for i in $(seq 50); do [ -s /tmp/attach-saw ] && break; sleep 0.1; done;"
        " cat /tmp/attach-saw"
    )
    assert podbay.ok("exec", "app", "--", "sh", "-c", attached).stdout.startswith(DIGEST)
    probe = 'echo "$DB_PASSWORD"; env | grep -c PODBAY_SECRET || true'
    session = podbay.ok("ssh", "app", "--", probe)
    assert session.stdout == f"{VALUE}\n0\n"  # renamed: no PODBAY_SECRET_* left behind

    # Nowhere else.
    container = podbay.status("app")["containerId"]
    inspect = subprocess.run(
        ["docker", "inspect", container], capture_output=True, text=True, check=True
    ).stdout
    assert VALUE not in inspect
    scan = podbay(
        "exec", "app", "--", "grep", "-rIl", "--exclude-dir=proc", "--exclude-dir=sys",
        "--exclude-dir=dev", VALUE, "/",
    )  # fmt: skip
    assert scan.returncode == 1 and scan.stdout == "", scan.stdout
    for path in (podbay.home / "logs").rglob("*"):
        assert not path.is_file() or VALUE.encode() not in path.read_bytes(), path
    outputs = [
        podbay.ok("status", "app", "--json").stdout,
        podbay.ok("list", "--json").stdout,
        podbay.ok("secret", "list", "--json").stdout,
        podbay.ok("logs", "app").stdout,
    ]
    assert not any(VALUE in text for text in outputs)
    assert json.loads(outputs[2])["secrets"][0]["name"] == "DB_PASSWORD"
