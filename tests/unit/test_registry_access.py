"""Which registries a Dockerfile's FROM lines pull from: the ones whose credentials a build
on a workspace's own machine is lent."""

from __future__ import annotations

from podbay.core.registry_access import DOCKER_HUB, from_registries, registry_of


def test_registries_of_image_references() -> None:
    assert registry_of("debian:bookworm") == DOCKER_HUB
    assert registry_of("library/debian") == DOCKER_HUB
    assert registry_of("ghcr.example.org/team/base:1") == "ghcr.example.org"
    assert registry_of("localhost:5000/base") == "localhost:5000"
    assert registry_of("123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1") == (
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    )


def test_from_lines_with_args_stages_and_scratch() -> None:
    dockerfile = (
        "ARG BASE=registry.example.org/base:1\n"
        "ARG TOOLS\n"
        "FROM ${BASE} AS build\n"
        "FROM --platform=linux/amd64 $TOOLS AS tools\n"
        "from build AS again\n"
        "FROM scratch\n"
        "FROM debian:bookworm\n"
    )
    assert from_registries(dockerfile, {"TOOLS": "127.0.0.1:5000/tools"}) == [
        "registry.example.org",
        "127.0.0.1:5000",
        DOCKER_HUB,
    ]
    assert from_registries(dockerfile, {"BASE": "other.example.org/b", "TOOLS": "t"}) == [
        "other.example.org",
        DOCKER_HUB,
    ]


def test_hub_names_quoted_defaults_and_continued_lines() -> None:
    dockerfile = (
        'ARG BASE="registry.example.org/base:1"\n'
        "FROM \\\n  ${BASE} AS one\n"
        "FROM index.docker.io/x/y\n"
        "FROM docker.io/library/debian:12\n"
    )
    assert from_registries(dockerfile, {}) == ["registry.example.org", DOCKER_HUB]
