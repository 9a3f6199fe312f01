"""The TUI's provider form for AWS, generated from AwsOptions, tested against moto."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Input, Select, Static, Switch

from podbay.core.model import ProviderConfig
from podbay.tui.screens.provider_form import ProviderForm
from tests.tui.test_app import make_engine, run, until


def test_aws_form_validates_tests_and_saves(aws: None, tmp_path: Path) -> None:
    engine, _ = make_engine(tmp_path, names=())
    saved: list[ProviderConfig | None] = []

    async def scenario(app: Any, pilot: Any) -> None:
        app.push_screen(ProviderForm(None, {"docker"}), saved.append)
        await pilot.pause()
        screen = app.screen
        screen.query_one("#type", Select).value = "aws"
        await until(lambda: bool(screen.query("#opt-region")))
        assert screen.query_one("#name", Input).value == "aws"
        assert isinstance(screen.query_one("#opt-spot"), Switch)
        assert isinstance(screen.query_one("#opt-ubuntu_version"), Select)
        region = screen.query_one("#opt-region", Input)
        disk = screen.query_one("#opt-disk_gb", Input)
        tags = screen.query_one("#opt-tags", Input)
        disk.value = "4"
        await pilot.pause()
        assert "greater than or equal to 8" in str(
            screen.query_one("#error-disk_gb", Static).render()
        )
        disk.value = "60"
        tags.value = '{"team": "web"}'
        region.value = "us-east-1"
        await pilot.pause()
        screen.query_one("#test").press()
        result = screen.query_one("#check-result", Static)
        await until(lambda: "✓" in str(result.render()) or "✗" in str(result.render()), 20)
        assert "AWS account 123456789012" in str(result.render())
        await pilot.press("ctrl+s")
        await until(lambda: saved)

    run(engine, scenario)
    [config] = saved
    assert config is not None
    assert config.type == "aws" and config.name == "aws"
    assert config.options["region"] == "us-east-1"
    assert config.options["disk_gb"] == "60"  # validated as a number by the provider
    assert config.options["tags"] == {"team": "web"}
