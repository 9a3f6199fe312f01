"""A bundled on-demand price table (Linux, USD per hour) for an estimate in the list and TUI.

From the AWS Price List as of 2026; prices change, so the UI calls it an estimate. Types or regions
not in the table give None, which the UI shows as "not in the price table".
"""

from __future__ import annotations

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


# AWS bills every public IPv4 address by the hour since February 2024, in every region; a
# workspace's instance has one while it runs (a stopped instance gives it back).
PUBLIC_IPV4_PER_HOUR = 0.005


def estimate(instance_type: str, region: str, disk_gb: int) -> tuple[float, float] | None:
    """($/h while running: the instance and its public address; $/month always on, the disk
    included), or None for a type or region not in the table."""
    instance = PRICES.get(region, {}).get(instance_type)
    disk = GP3_PER_GB_MONTH.get(region)
    if instance is None or disk is None:
        return None
    hourly = instance + PUBLIC_IPV4_PER_HOUR
    return hourly, hourly * HOURS_PER_MONTH + disk * disk_gb


def stopped_per_month(region: str, disk_gb: int) -> float | None:
    """What a stopped workspace costs: only its disk."""
    disk = GP3_PER_GB_MONTH.get(region)
    return None if disk is None else disk * disk_gb
