"""EC2's eventual consistency: an id made moments ago may answer NotFound for a while.

The EC2 developer guide ("Eventual consistency") says to retry with backoff, for up to a few
minutes; podbay retries only calls that name something it has just made, for up to 60 s.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from podbay.providers.aws.errors import AwsError

T = TypeVar("T")

NOT_YET = ("InvalidInstanceID.NotFound", "InvalidGroup.NotFound", "InvalidGroupId.NotFound")

# Faults that pass, for a call whose client tries only twice (RunInstances: see
# AwsProvider.client): throttling and AWS's own errors, but not a zone without capacity.
PASSING = (
    "RequestLimitExceeded",
    "Throttling",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "Unavailable",
)


async def until_visible(
    attempt: Callable[[], Awaitable[T]],
    pause: float,
    limit: float = 60.0,
    also: tuple[str, ...] = (),
) -> T:
    """`attempt()`, again while it answers that a just-made id does not exist (or with one of
    the codes in `also`)."""
    deadline = time.monotonic() + limit
    delay = pause / 2
    while True:
        try:
            return await attempt()
        except AwsError as exc:
            if exc.code not in (*NOT_YET, *also) or time.monotonic() >= deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(max(delay * 2, pause), 5.0)
