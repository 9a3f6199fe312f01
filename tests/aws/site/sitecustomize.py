"""In a podbay subprocess started by an AWS test (this folder on PYTHONPATH): AWS's request
constraints, EC2's eventual consistency and random throttling, as tests/aws/strict.py has them
in-process."""

import os

if os.environ.get("PODBAY_TEST_STRICT_AWS") == "1":
    from tests.aws import strict

    strict.install(strict.EventualConsistency())
    strict.install_throttling(
        strict.Throttling(strict.THROTTLE_RATE, os.environ.get("PODBAY_TEST_THROTTLE_SEED", "0"))
    )
