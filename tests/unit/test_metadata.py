"""The devcontainer.metadata label and the spec's merge rules."""

from __future__ import annotations

import json

from podbay.core.devcontainer import metadata


def test_label_forms_array_object_and_garbage() -> None:
    assert metadata.parse_label('[{"remoteUser": "a"}]') == ([{"remoteUser": "a"}], None)
    assert metadata.parse_label('{"id": "base"}') == ([{"id": "base"}], None)
    entries, warning = metadata.parse_label("{nope")
    assert entries == [] and warning is not None and "not valid JSON" in warning
    assert metadata.parse_label(None) == ([], None)


def test_merge_follows_the_spec_rules() -> None:
    base = {
        "id": "base",
        "remoteUser": "vscode",
        "containerEnv": {"A": "base", "B": "base"},
        "capAdd": ["SYS_PTRACE"],
        "mounts": ["type=volume,source=one,target=/data", "type=volume,source=x,target=/x"],
        "forwardPorts": [3000, "localhost:8080"],
        "postCreateCommand": "echo base",
        "hostRequirements": {"cpus": 2, "memory": "4gb"},
        "customizations": {"vscode": {"extensions": ["a.b"]}},
    }
    feature = {
        "id": "./feat",
        "privileged": True,
        "capAdd": ["SYS_PTRACE", "NET_ADMIN"],
        "entrypoint": "/usr/local/bin/start",
        "mounts": [{"type": "volume", "source": "two", "target": "/data"}],
        "postCreateCommand": ["echo", "feature"],
    }
    config = {
        "containerEnv": {"B": "config"},
        "remoteEnv": {"R": "1"},
        "forwardPorts": [3000, 5000],
        "postCreateCommand": {"x": "echo config"},
        "hostRequirements": {"cpus": 1, "memory": "8gb", "gpu": "optional"},
        "customizations": {"vscode": {"extensions": ["c.d"]}},
    }
    merged = metadata.merge([base, feature, config])
    assert merged.remoteUser == "vscode"  # only the base sets it
    assert merged.containerEnv == {"A": "base", "B": "config"}  # per key, last wins
    assert merged.capAdd == ["SYS_PTRACE", "NET_ADMIN"]  # union
    assert merged.privileged and not merged.init  # any true
    assert merged.entrypoints == ["/usr/local/bin/start"]
    # One mount per target: the later entry's, in its place.
    assert merged.mounts == [
        "type=volume,source=x,target=/x",
        {"type": "volume", "source": "two", "target": "/data"},
    ]
    assert merged.forwardPorts == [3000, 8080, 5000]
    assert [(c.origin, c.command) for c in merged.hooks["postCreateCommand"]] == [
        ("base", "echo base"),
        ("./feat", ["echo", "feature"]),
        ("devcontainer.json", {"x": "echo config"}),
    ]
    assert merged.hostRequirements == {"cpus": 2, "memory": 8 * 2**30, "gpu": "optional"}
    assert merged.customizations["vscode"] == [{"extensions": ["a.b"]}, {"extensions": ["c.d"]}]


def test_last_defined_booleans_count_false() -> None:
    merged = metadata.merge([{"overrideCommand": True}, {"overrideCommand": False}])
    assert merged.overrideCommand is False
    assert metadata.merge([{"updateRemoteUserUID": False}, {}]).updateRemoteUserUID is False


def test_label_value_round_trips() -> None:
    entries = [{"id": "x", "postStartCommand": 'echo $HOME "q"\nnext'}, {}]
    assert json.loads(metadata.label_value(entries)) == entries[:1]
