"""In a podbay subprocess started by an AWS test (this folder on PYTHONPATH): AWS's request
constraints, EC2's eventual consistency and random throttling, as tests/aws/strict.py has them
in-process."""

import os

if os.environ.get("PODBAY_TEST_STRICT_AWS") == "1":
    from tests.aws import strict

    strict.install(strict.EventualConsistency())
    # Seeded by the test that started this process, as in-process throttling is.
    seed = os.environ.get("PYTEST_CURRENT_TEST", "0").split(" ")[0]
    strict.install_throttling(strict.Throttling(strict.THROTTLE_RATE, seed))
