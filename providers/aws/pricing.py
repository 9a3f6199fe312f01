"""What a workspace's machine costs: AWS's own prices where AWS can be asked, a bundled table
where it cannot.

On-demand and disk prices come from the AWS Price List API (`pricing:GetProducts`), spot prices
from `DescribeSpotPriceHistory`; both are kept in a cache file under $PODBAY_HOME (a week for
list prices, an hour for spot prices, a day before asking again after a refusal), so a status
costs no extra call on most days. The bundled table below, from the Price List as of 2026, is
the offline fallback; a type or region in neither gives None ("not in the price table").
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podbay.core.errors import ProviderError

HOURS_PER_MONTH = 730

PRICES: dict[str, dict[str, float]] = {
    "us-east-1": {
        "t3.small": 0.0208,
        "t3.medium": 0.0416,
        "t3.large": 0.0832,
        "t3.xlarge": 0.1664,
        "m6i.large": 0.096,
        "m6i.xlarge": 0.192,
        "c6i.large": 0.085,
        "c6i.xlarge": 0.17,
        "g5.xlarge": 1.006,
    },
    "eu-west-1": {
        "t3.small": 0.0228,
        "t3.medium": 0.0456,
        "t3.large": 0.0912,
        "t3.xlarge": 0.1824,
        "m6i.large": 0.107,
        "m6i.xlarge": 0.214,
        "c6i.large": 0.0912,
        "c6i.xlarge": 0.1824,
        "g5.xlarge": 1.123,
    },
}

GP3_PER_GB_MONTH = {"us-east-1": 0.08, "eu-west-1": 0.088}

# AWS bills every public IPv4 address by the hour since February 2024, the same in every
# region; a workspace's instance has one while it runs (a stopped instance gives it back).
PUBLIC_IPV4_PER_HOUR = 0.005

WEEK, HOUR, DAY = 7 * 24 * 3600, 3600, 24 * 3600
REFRESH_LIMIT = 12.0  # seconds a status may spend asking for prices

# The Price List API answers in these regions only; the nearest one is asked.
PRICE_LIST_REGIONS = {"eu": "eu-central-1", "ap": "ap-south-1", "me": "ap-south-1"}

Call = Callable[..., Awaitable[Any]]


def client_timeouts() -> Any:
    """A price is not worth a long wait: a Price List that does not answer is skipped."""
    from botocore.config import Config

    return Config(connect_timeout=5, read_timeout=10)


def price_list_region(region: str) -> str:
    return PRICE_LIST_REGIONS.get(region.split("-")[0], "us-east-1")


def _match(**fields: str) -> list[dict[str, str]]:
    return [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in fields.items()]


def instance_filters(region: str, instance_type: str) -> list[dict[str, str]]:
    """The one Linux, shared-tenancy, no-extra-software product of a type in a region."""
    return _match(
        regionCode=region,
        instanceType=instance_type,
        operatingSystem="Linux",
        tenancy="Shared",
        preInstalledSw="NA",
        capacitystatus="Used",
        licenseModel="No License required",
    )


def disk_filters(region: str) -> list[dict[str, str]]:
    return _match(regionCode=region, productFamily="Storage", volumeApiName="gp3")


def on_demand_usd(price_list: list[str]) -> float | None:
    """The on-demand USD price of the first product in a GetProducts answer."""
    for item in price_list:
        product = json.loads(item)
        for term in (product.get("terms", {}).get("OnDemand") or {}).values():
            for dimension in (term.get("priceDimensions") or {}).values():
                usd = dimension.get("pricePerUnit", {}).get("USD")
                if usd is not None and float(usd) > 0:
                    return float(usd)
    return None


@dataclass(frozen=True)
class Estimate:
    hourly: float  # while running: the instance and its public address
    monthly: float  # always on, the disk included
    stopped_monthly: float  # stopped: the disk only
    source: str  # "AWS Price List", "spot price", "bundled table"


def _entry(value: Any) -> bool:
    """A cache entry: [price or None, when it was asked]."""
    return (
        isinstance(value, list)
        and len(value) == 2
        and (value[0] is None or isinstance(value[0], int | float))
        and isinstance(value[1], int | float)
    )


class PriceBook:
    """Prices by (region, type), from the cache file or the bundled table; `refresh` asks AWS
    for what is missing or stale."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._data: dict[str, list[Any]] | None = None

    def _entries(self) -> dict[str, list[Any]]:
        if self._data is None:
            self._data = {}
            if self.path is not None:
                try:
                    loaded = json.loads(self.path.read_text())
                    self._data = {k: v for k, v in loaded.items() if _entry(v)}
                except (OSError, ValueError, AttributeError):
                    pass  # a missing or damaged cache (or entry) is asked again
        return self._data

    def _fresh(self, key: str, ttl: float) -> bool:
        entry = self._entries().get(key)
        if entry is None:
            return False
        value, at = entry
        return bool(time.time() - float(at) < (ttl if value is not None else DAY))

    def _value(self, key: str) -> float | None:
        entry = self._entries().get(key)
        return None if entry is None or entry[0] is None else float(entry[0])

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(self._entries(), indent=1, sort_keys=True))
        temporary.replace(self.path)

    async def refresh(
        self,
        call: Call,
        region: str,
        instance_types: Iterable[str],
        spot: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Ask AWS for each price that is missing or stale: list prices of `instance_types`
        and the region's gp3 disk, and spot prices of (zone, type) pairs. A refusal is
        remembered for a day; the bundled table answers meanwhile."""
        ask = functools.partial
        wanted: list[tuple[str, float, Callable[[], Awaitable[float | None]]]] = [
            (f"{region}/{kind}", WEEK, ask(_list_price, call, instance_filters(region, kind)))
            for kind in sorted(set(instance_types))
        ]
        wanted.append((f"{region}/gp3", WEEK, ask(_list_price, call, disk_filters(region))))
        wanted += [
            (f"spot/{zone}/{kind}", HOUR, ask(_spot, call, zone, kind))
            for zone, kind in sorted(set(spot))
        ]
        stale = [(key, price) for key, ttl, price in wanted if not self._fresh(key, ttl)]
        if not stale:
            return

        async def one(key: str, price: Callable[[], Awaitable[float | None]]) -> None:
            try:
                value = await price()
            except ProviderError:
                value = None  # no permission, no network: the table answers, asked again later
            self._entries()[key] = [value, time.time()]

        # All at once, and never long: a status does not wait on a price.
        asks = [asyncio.ensure_future(one(key, price)) for key, price in stale]
        _, late = await asyncio.wait(asks, timeout=REFRESH_LIMIT)
        for task in late:
            task.cancel()
        for key, _ in stale:
            self._entries().setdefault(key, [None, time.time()])
        # Prices are an estimate; a read-only home only costs the cache.
        with contextlib.suppress(OSError):
            self._save()

    def estimate(
        self, instance_type: str, region: str, disk_gb: int, spot_zone: str | None = None
    ) -> Estimate | None:
        """The cost of a machine, or None for a type or region no source knows."""
        listed = self._value(f"{region}/{instance_type}")
        disk = self._value(f"{region}/gp3")
        source = "AWS Price List"
        if listed is None or disk is None:
            listed = listed if listed is not None else PRICES.get(region, {}).get(instance_type)
            disk = disk if disk is not None else GP3_PER_GB_MONTH.get(region)
            source = "bundled table"
        spot = self._value(f"spot/{spot_zone}/{instance_type}") if spot_zone else None
        instance = spot if spot is not None else listed
        if spot is not None:
            source = "spot price"
        if instance is None or disk is None:
            return None
        hourly = instance + PUBLIC_IPV4_PER_HOUR
        return Estimate(hourly, hourly * HOURS_PER_MONTH + disk * disk_gb, disk * disk_gb, source)


async def _list_price(call: Call, filters: list[dict[str, str]]) -> float | None:
    found = await call(
        "pricing",
        "get_products",
        ServiceCode="AmazonEC2",
        Filters=filters,
        FormatVersion="aws_v1",
        MaxResults=10,
    )
    return on_demand_usd(found.get("PriceList", []))


async def _spot(call: Call, zone: str, kind: str) -> float | None:
    """The latest Linux spot price of a type in a zone."""
    found = await call(
        "ec2",
        "describe_spot_price_history",
        InstanceTypes=[kind],
        ProductDescriptions=["Linux/UNIX"],
        AvailabilityZone=zone,
        StartTime=time.time(),
        MaxResults=1,
    )
    history = found.get("SpotPriceHistory", [])
    return float(history[0]["SpotPrice"]) if history else None
