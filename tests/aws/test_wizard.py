"""The TUI's guided provider setup for AWS, generated from AwsOptions, tested against moto:
live choices (instance types with their price, the account's VPCs and subnets), the test,
"use it as default", save."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Collapsible, Input, Select, Static, Switch

from podbay.tui.screens.provider_setup import ProviderSetup, SetupResult
from tests.tui.test_app import make_engine, run, until


def test_aws_setup_lists_choices_tests_and_saves(aws: None, tmp_path: Path) -> None:
    import boto3

    ec2 = boto3.client("ec2", region_name="us-east-1")
    [vpc] = ec2.describe_vpcs()["Vpcs"]
    engine, _ = make_engine(tmp_path, names=())
    saved: list[SetupResult | None] = []

    async def scenario(app: Any, pilot: Any) -> None:
        app.push_screen(ProviderSetup(None, {"docker"}), saved.append)
        await pilot.pause()
        screen = app.screen
        await pilot.press("down", "enter")  # aws
        await until(lambda: bool(screen.query("#opt-region")))
        assert screen.query_one("#name", Input).value == "aws"
        screen.query_one("#opt-region", Input).value = "us-east-1"
        await pilot.press("enter")
        await until(lambda: "step 3 of 4" in str(screen.query_one("#question", Static).render()))
        assert isinstance(screen.query_one("#opt-spot"), Switch)
        assert isinstance(screen.query_one("#opt-ubuntu_version"), Select)

        # Once the region and credentials are known: this account's VPCs, types and prices.
        def choices(field: str) -> str:
            return str(screen.query_one(f"#choices-{field}", Static).render())

        await until(lambda: "us-east-1a" in choices("subnet_id"), 20)
        assert vpc["VpcId"] in choices("vpc_id")
        assert "(default)" in choices("vpc_id")
        assert "t3.medium $0." in choices("instance_type")

        disk = screen.query_one("#opt-disk_gb", Input)
        disk.value = "4"
        await pilot.pause()
        error = str(screen.query_one("#error-disk_gb", Static).render())
        assert error == "Input should be greater than or equal to 8"
        screen.query_one("#group-Cost", Collapsible).collapsed = False
        disk.value = "60"
        screen.query_one("#opt-tags", Input).value = '{"team": "web"}'
        screen.query_one("#opt-vpc_id", Input).value = vpc["VpcId"]
        await pilot.pause()
        screen.query_one("#next").press()  # to the test, which runs at once
        result = screen.query_one("#check-result", Static)
        await until(lambda: "✓" in str(result.render()), 30)
        assert "AWS account 123456789012" in str(result.render())
        default = screen.query_one("#make-default", Switch)
        assert not default.value  # docker is there, and the default
        default.value = True
        await pilot.press("ctrl+s")  # tested and passed: saved without a question
        await until(lambda: saved)

    run(engine, scenario, size=(120, 35))
    [result] = saved
    assert result is not None and result.make_default
    config = result.config
    assert config.type == "aws" and config.name == "aws"
    assert config.options["region"] == "us-east-1"
    assert config.options["disk_gb"] == "60"  # validated as a number by the provider
    assert config.options["tags"] == {"team": "web"}
    assert config.options["vpc_id"] == vpc["VpcId"]
