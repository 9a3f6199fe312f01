from tests.docker.conftest import _needs_docker  # noqa: F401  (same requirement: a real engine)
