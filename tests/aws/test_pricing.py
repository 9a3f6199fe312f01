from __future__ import annotations

import pytest

from podbay.providers.aws.pricing import estimate, stopped_per_month


def test_estimate_for_known_types() -> None:
    hourly, monthly = estimate("t3.medium", "us-east-1", disk_gb=40)  # type: ignore[misc]
    assert hourly == pytest.approx(0.0416 + 0.005)  # the instance and its public IPv4
    assert monthly == pytest.approx((0.0416 + 0.005) * 730 + 0.08 * 40)
    assert stopped_per_month("eu-west-1", 100) == pytest.approx(8.8)


def test_unknown_type_or_region_is_said_not_guessed() -> None:
    assert estimate("x9.huge", "us-east-1", 40) is None
    assert estimate("t3.medium", "ap-south-2", 40) is None
    assert stopped_per_month("ap-south-2", 40) is None
