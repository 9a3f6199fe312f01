"""Feature references, option variables, the install order algorithm."""

from __future__ import annotations

import subprocess

import pytest

from podbay.core.devcontainer import features as feat
from podbay.core.errors import ConfigError


def test_reference_kinds() -> None:
    local = feat.parse_ref("./hello")
    assert (local.kind, local.resource) == ("local", "./hello")
    oci = feat.parse_ref("registry.example/Devcontainers/features/go:1.2")
    assert (oci.kind, oci.resource, oci.tag, oci.id) == (
        "oci",
        "registry.example/devcontainers/features/go",
        "1.2",
        "go",
    )
    pinned = feat.parse_ref("localhost:5000/f/x@sha256:" + "a" * 64)
    assert (pinned.registry, pinned.path, pinned.reference) == (
        "localhost:5000",
        "f/x",
        "sha256:" + "a" * 64,
    )
    assert feat.parse_ref("127.0.0.1:5000/f/x").tag == "latest"
    tarball = feat.parse_ref("https://example.org/r/devcontainer-feature-go.tgz")
    assert (tarball.kind, tarball.id) == ("tarball", "go")


@pytest.mark.parametrize(
    ("written", "words"),
    [
        ("/abs/feature", "absolute paths"),
        ("myfeature", "neither a path"),
        ("node", "full OCI reference"),
        ("https://example.org/feature.tgz", "devcontainer-feature-ID.tgz"),
        ("namespace/feature", "does not name a registry"),
        ("registry.example/a/b@sha256:short", "digest"),
    ],
)
def test_bad_references_are_explained(written: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        feat.parse_ref(written)
    assert words in info.value.message and info.value.hint


def test_options_become_upper_case_variables_with_defaults() -> None:
    manifest = feat.FeatureJson.model_validate(
        {
            "id": "x",
            "options": {
                "version": {"type": "string", "default": "latest"},
                "installTools": {"type": "boolean", "default": True},
                "my-opt.2": {"type": "string", "default": "d"},
            },
        }
    )
    env = feat.option_env(manifest, feat.user_options({"installTools": False, "extra": "e"}))
    assert env == {"VERSION": "latest", "INSTALLTOOLS": "false", "MY_OPT_2": "d", "EXTRA": "e"}
    assert feat.option_env(manifest, feat.user_options("1.22"))["VERSION"] == "1.22"
    assert feat.env_name("9lives") == "_LIVES"


def test_env_file_keeps_values_as_written() -> None:
    text = feat.env_file({"A": 'it\'s "$HOME" `x`', "B": "plain"})
    out = subprocess.run(
        ["sh", "-c", '. /dev/stdin; printf "%s|%s" "$A" "$B"'],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == 'it\'s "$HOME" `x`|plain'


def node(key: str, resource: str = "", **kw: object) -> feat.OrderNode:
    resource = resource or key
    return feat.OrderNode(key=key, resource=resource, written=resource, source=resource, **kw)


def test_depends_on_and_installs_after_order_features() -> None:
    nodes = [
        node("./c"),
        node("./a", depends_on=["./c"], installs_after=["./b"]),
        node("./b"),
    ]
    assert feat.install_order(nodes, []) == ["./b", "./c", "./a"]


def test_installs_after_a_feature_not_selected_is_ignored() -> None:
    assert feat.install_order([node("./a", installs_after=["./zzz"]), node("./b")], []) == [
        "./a",
        "./b",
    ]


def test_override_order_wins_among_ready_features() -> None:
    nodes = [node("./a"), node("./b"), node("./c")]
    assert feat.install_order(nodes, ["./c", "./b"]) == ["./c", "./b", "./a"]
    # A dependency still comes first, whatever the override says.
    nodes = [node("./a"), node("./b", depends_on=["./a"])]
    assert feat.install_order(nodes, ["./b"]) == ["./a", "./b"]


def test_a_cycle_is_an_error_naming_each_feature_in_it_once() -> None:
    """Two instances of ./a (a dependsOn with options beside the user's own entry) are told
    apart by their options; ./d, which only waits for the cycle, is not named."""
    nodes = [
        node("a1", "./a", options={"v": "1"}, installs_after=["./b"]),
        node("a2", "./a", options={}, depends_on=["c"]),
        node("b", "./b", depends_on=["a2"]),
        node("c", "./c", depends_on=["a1"]),
        node("d", "./d", depends_on=["b"]),
    ]
    with pytest.raises(ConfigError) as info:
        feat.install_order(nodes, [])
    assert info.value.message == (
        "features depend on each other in a cycle: ./a (no options), ./a (v=1), ./b, ./c"
    )


def test_instances_of_one_feature_in_a_round_by_the_reference_clis_rule() -> None:
    """Fewer options first, then option names, then values (false before true); not the
    spec's "more options first" (docs/compatibility.md)."""
    nodes = [
        node("k3", "./f", options={"b": "x", "a": "1"}),
        node("k2", "./f", options={"b": "x"}),
        node("k1", "./f", options={"a": "z"}),
        node("k0", "./f", options={}),
        node("t", "./f", options={"c": True}),
        node("f", "./f", options={"c": False}),
    ]
    assert feat.install_order(nodes, []) == ["k0", "k1", "k2", "f", "t", "k3"]


def test_features_in_a_round_are_ordered_as_the_reference_clis_localecompare() -> None:
    """What Node's localeCompare gives for these (case after letters, punctuation before
    digits before letters), not what sorting by code points would."""
    words = ["a/b", "B", "1.9", "A", "a", "_", "ab", "a-b", "1.10", "Z", "a.b", "a_b", "b"]
    ordered = ["_", "1.10", "1.9", "a", "A", "a_b", "a-b", "a.b", "a/b", "ab", "b", "B", "Z"]
    assert sorted(words, key=feat.collation_key) == ordered
    nodes = [node(w, "./" + w) for w in words]
    assert feat.install_order(nodes, []) == ordered
