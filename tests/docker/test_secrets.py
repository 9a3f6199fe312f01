"""Secrets reach a workspace's hooks, `podbay exec` and `podbay ssh` sessions as environment
variables, and nowhere else: not the container's own environment (docker inspect), not a
file in it, not podbay's logs or --json."""

from __future__ import annotations

import hashlib
import json
import subprocess

from tests.conftest import BUSYBOX, IMAGE, Podbay, write_config

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
    # A workspace's own secrets go with it: a new one of that name starts without them.
    podbay.ok("delete", "app", "--yes")
    left = podbay.json("secret", "list")["secrets"]
    assert [(s["name"], s["workspace"]) for s in left] == [
        ("DB_PASSWORD", None),
        ("SHARED", None),
    ]


def openssh(podbay: Podbay, *args: str) -> subprocess.CompletedProcess[str]:
    """`ssh NAME.podbay`: the real OpenSSH client with podbay's config, as VS Code runs it."""
    config = str(podbay.home / "ssh_config")
    return subprocess.run(
        ["ssh", "-F", config, *args], capture_output=True, text=True, env=podbay.env, timeout=120
    )


def test_openssh_and_vs_code_sessions_get_the_secrets_of_their_connection(podbay: Podbay) -> None:
    """`ssh NAME.podbay` (VS Code's way in): each connection's sshd is given the secrets as its
    sessions' environment, beside the config's own, in busybox's image too (podbay's bundled
    sshd); a value no sshd_config line can hold is not given; none is in a file. A secret that
    cannot be read refuses the connection in one line."""
    podbay.ok("secret", "set", "DB_PASSWORD", input=VALUE)
    quoted = podbay.ok("secret", "set", "QUOTED", input='with "quotes"')
    assert "`ssh NAME.podbay` and VS Code sessions do not get it" in quoted.stderr
    hashed = podbay.ok("secret", "set", "HASHED", input="a#b")  # (sshd < 8.7 cuts lines at #)
    assert "sessions do not get it" in hashed.stderr
    podbay.ok("secret", "set", "BOTH", input="the secret's")
    config = {"image": BUSYBOX, "remoteEnv": {"FROM_CONFIG": "kept", "BOTH": "the config's"}}
    write_config(podbay.cwd / "vs", config)
    podbay.ok("up", "vs")
    probe = 'echo "$DB_PASSWORD|$FROM_CONFIG|${QUOTED-not given}|${HASHED-not given}|$BOTH"'
    session = openssh(podbay, "vs.podbay", probe)
    expected = f"{VALUE}|kept|not given|not given|the secret's\n"
    assert session.stdout == expected, session.stderr
    # No file of the container holds it (its whole filesystem, exported while connected).
    with subprocess.Popen(
        ["ssh", "-F", str(podbay.home / "ssh_config"), "vs.podbay", "echo ready; cat"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=podbay.env,
    ) as held:  # fmt: skip
        assert held.stdout is not None and held.stdout.readline() == b"ready\n"
        container = podbay.status("vs")["containerId"]
        exported = subprocess.run(["docker", "export", container], capture_output=True, check=True)
        assert held.stdin is not None
        held.stdin.close()
    assert len(exported.stdout) > 100_000 and VALUE.encode() not in exported.stdout
    assert VALUE not in (podbay.home / "ssh_config").read_text()

    keyring_file = podbay.home / "xdg" / "python_keyring" / "keyring_pass.cfg"
    keyring_file.unlink()
    refused = openssh(podbay, "-o", "ControlPath=none", "vs.podbay", "true")
    assert refused.returncode == 255
    assert "podbay: error: secret BOTH is no longer in the keyring" in refused.stderr
    assert "hint: set it again: podbay secret set BOTH" in refused.stderr
