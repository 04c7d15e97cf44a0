"""The dispatch tests' real workers (tests/services/test_dispatch.py), for every services test:
`redis_url`, `isolation` (a channel-layer prefix and Celery queue of the test's own) and
`workers` (worker processes started by the test and stopped after it)."""

from tests.services.test_dispatch import isolation, redis_url, workers

__all__ = ["isolation", "redis_url", "workers"]
