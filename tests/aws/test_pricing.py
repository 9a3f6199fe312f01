from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from podbay import providers
from podbay.core.model import ProviderConfig, Source, Workspace
from podbay.providers.aws import pricing
from tests.aws import strict

TABLE = pricing.PriceBook(None)  # the bundled table alone


def test_estimate_for_known_types() -> None:
    found = TABLE.estimate("t3.medium", "us-east-1", disk_gb=40)
    assert found is not None
    assert found.hourly == pytest.approx(0.0416 + 0.005)  # the instance and its public IPv4
    assert found.monthly == pytest.approx((0.0416 + 0.005) * 730 + 0.08 * 40)
    stopped = TABLE.estimate("t3.small", "eu-west-1", 100)
    assert stopped is not None and stopped.stopped_monthly == pytest.approx(8.8)


def test_unknown_type_or_region_is_said_not_guessed() -> None:
    assert TABLE.estimate("x9.huge", "us-east-1", 40) is None
    assert TABLE.estimate("t3.medium", "ap-south-2", 40) is None


class PriceCalls:
    """Every request for a price: (operation, params)."""

    def __init__(self, strict_aws: Any) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        for operation in ("GetProducts", "DescribeSpotPriceHistory"):
            answer = strict_aws.answers[operation]
            strict_aws.answers[operation] = self._recording(operation, answer)

    def _recording(self, operation: str, answer: Any) -> Any:
        def record(params: dict[str, Any]) -> Any:
            self.sent.append((operation, params))
            return answer(params)

        return record

    def names(self) -> list[str]:
        return [name for name, _ in self.sent]


def _launch(region: str, instance_type: str, spot: bool = False) -> None:
    ec2 = boto3.client("ec2", region_name=region)
    image = ec2.describe_images(Owners=["099720109477"])["Images"][0]["ImageId"]
    market = {"InstanceMarketOptions": {"MarketType": "spot"}} if spot else {}
    ec2.run_instances(
        ImageId=image,
        InstanceType=instance_type,
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[
            {
                "ResourceType": "instance",
                "Tags": [
                    {"Key": "podbay:workspace", "Value": "app"},
                    {"Key": "podbay:home", "Value": "home1"},
                ],
            }
        ],
        **market,
    )


def _status(region: str, instance_type: str = "t3.medium", spot: bool = False) -> Any:
    provider = providers.load(
        ProviderConfig(name="cloud", type="aws", options={"region": region, "spot": spot})
    )
    ws = Workspace(
        name="app",
        provider="cloud",
        source=Source(kind="image", value="img"),
        folder="/var/lib/podbay/workspaces/app",
        owned_folder=True,
        container_name="app",
    )
    return asyncio.run(provider.poll("home1", [ws]))["app"].machine


def test_prices_come_from_the_price_list_once_a_week(
    aws: None, strict_aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = PriceCalls(strict_aws)
    _launch("us-east-1", "t3.medium")
    machine = _status("us-east-1")
    # AWS's list price (0.0418, the bundled table says 0.0416), its address, gp3 disk of 40 GB.
    assert (machine.hourly, machine.monthly) == (0.0468, 37.36)
    assert machine.stopped_monthly == 3.2
    assert calls.names() == ["GetProducts", "GetProducts"]  # the type, the disk
    assert all(params["ServiceCode"] == "AmazonEC2" for _, params in calls.sent)
    _status("us-east-1")
    assert len(calls.sent) == 2  # a second status asks nothing
    cache = Path(os.environ["PODBAY_HOME"]) / "cache" / "aws-prices.json"
    assert json.loads(cache.read_text())["us-east-1/t3.medium"][0] == 0.0418
    week_later = time.time() + 7 * 24 * 3600 + 60
    monkeypatch.setattr(time, "time", lambda: week_later)
    _status("us-east-1")
    assert len(calls.sent) == 4  # stale after a week: asked again


def test_a_region_far_from_the_price_list_is_priced_from_its_nearest_endpoint(
    aws: None, strict_aws: Any
) -> None:
    """The Price List answers in us-east-1, eu-central-1 and ap-south-1 only (strict.py refuses
    a client anywhere else)."""
    _launch("eu-west-1", "t3.medium")
    machine = _status("eu-west-1")
    assert machine.hourly == 0.0507  # 0.0457 listed + 0.005


def test_without_the_price_list_the_bundled_table_answers_and_it_is_not_asked_again(
    aws: None, strict_aws: Any
) -> None:
    def denied(params: dict[str, Any]) -> Any:
        raise strict.Violation("AccessDeniedException", "not authorized to pricing:GetProducts")

    strict_aws.answers["GetProducts"] = denied
    calls = PriceCalls(strict_aws)
    _launch("us-east-1", "t3.medium")
    machine = _status("us-east-1")
    assert (machine.hourly, machine.monthly) == (0.0466, 37.22)  # the bundled table
    _status("us-east-1")
    assert calls.names() == ["GetProducts", "GetProducts"]  # remembered: a day before again


def test_a_spot_workspace_costs_the_current_spot_price_of_its_zone(
    aws: None, strict_aws: Any
) -> None:
    calls = PriceCalls(strict_aws)
    _launch("us-east-1", "t3.medium", spot=True)
    machine = _status("us-east-1", spot=True)
    assert machine.hourly == 0.0193  # 0.0143 spot + 0.005 for the address
    [(_, spot)] = [c for c in calls.sent if c[0] == "DescribeSpotPriceHistory"]
    assert spot["InstanceTypes"] == ["t3.medium"] and spot["ProductDescriptions"] == ["Linux/UNIX"]
    assert spot["AvailabilityZone"].startswith("us-east-1")


def test_a_price_book_without_any_source_says_so() -> None:
    book = pricing.PriceBook(None)
    assert book.estimate("x9.huge", "us-east-1", 40) is None
    found = book.estimate("t3.medium", "us-east-1", 40)
    assert found is not None and found.source == "bundled table"


def test_the_form_suggests_types_ec2_knows_arm64_included_not_the_price_table(aws: None) -> None:
    suggested = asyncio.run(providers.provider_class("aws").suggestions("instance_type"))
    ec2 = boto3.client("ec2", region_name="us-east-1")
    known = ec2.describe_instance_types(InstanceTypes=suggested)["InstanceTypes"]
    arches = {t["InstanceType"]: t["ProcessorInfo"]["SupportedArchitectures"] for t in known}
    assert set(arches) == set(suggested)  # every suggestion is a real type
    assert any(a == ["arm64"] for a in arches.values())  # Graviton too
    assert set(suggested) - set(pricing.PRICES["us-east-1"])  # not the 9 types of the table


def test_a_damaged_price_cache_is_asked_again(aws: None, strict_aws: Any) -> None:
    cache = Path(os.environ["PODBAY_HOME"]) / "cache" / "aws-prices.json"
    cache.parent.mkdir(parents=True)
    cache.write_text(json.dumps({"us-east-1/t3.medium": [], "us-east-1/gp3": ["x", 1]}))
    calls = PriceCalls(strict_aws)
    _launch("us-east-1", "t3.medium")
    assert _status("us-east-1").hourly == 0.0468  # asked again, answered by the Price List
    assert calls.names() == ["GetProducts", "GetProducts"]
