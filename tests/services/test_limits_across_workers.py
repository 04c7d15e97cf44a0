"""Per-tool limits in Redis hold across worker processes, and a killed worker's permit returns.

Each test starts real worker processes (tests/services/limits_worker.py) on a key prefix of its
own in Redis db 15; they start together on the test's go and record what they did in Redis.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings

from tests.conftest import service_unavailable
from tools_app.engine import MockImplementation, ToolSpec
from tools_app.engine.redis_limits import RedisLimiter

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]


class Workers:
    def __init__(self, client: redis.Redis, url: str, prefix: str) -> None:
        self.client, self.url, self.prefix = client, url, prefix
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, kind: str, count: int = 2) -> list[subprocess.Popen[bytes]]:
        started = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.services.limits_worker", self.url, self.prefix, kind],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            for _ in range(count)
        ]
        self.processes += started
        for _ in started:
            assert self.client.blpop([f"{self.prefix}:ready"], timeout=60), "a worker never started"
        self.client.rpush(f"{self.prefix}:go", *["go"] * count)
        return started

    def finish(self) -> None:
        for process in self.processes:
            assert process.wait(timeout=60) == 0

    def values(self, name: str) -> list[str]:
        return [v.decode() for v in self.client.lrange(f"{self.prefix}:{name}", 0, -1)]


@pytest.fixture
def workers() -> Iterator[Workers]:
    url = settings.REDIS_URL
    if not url:
        service_unavailable("REDIS_URL is not set; set REDIS_URL=redis://127.0.0.1:6379/15")
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        service_unavailable(f"Redis at {url} is unreachable: {exc}")
    prefix = f"fcstudio-test:{uuid.uuid4().hex}"
    pool = Workers(client, url, prefix)
    yield pool
    for process in pool.processes:
        if process.poll() is None:
            process.kill()
            process.wait()
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_two_workers_together_never_exceed_the_concurrency_limit(workers: Workers) -> None:
    workers.start("concurrency")
    workers.finish()
    events = workers.values("events")
    in_flight = peak = 0
    for event in events:
        in_flight += 1 if event.startswith("start") else -1
        peak = max(peak, in_flight)
    assert peak <= 2
    assert len({event.split()[1] for event in events}) == 2  # both processes ran calls
    assert workers.values("results") == ["ok"] * 16


def test_two_workers_together_keep_to_the_rate(workers: Workers) -> None:
    workers.start("rate-wait")
    workers.finish()
    starts = sorted(float(t) for t in workers.values("starts"))
    assert len(starts) == 16
    rate = 10.0  # with a burst of 10: the k-th call (from 0) starts no sooner than (k+1-10)/10 s
    for k, started in enumerate(starts):
        assert started - starts[0] >= (k + 1 - rate) / rate - 0.05, (k, started - starts[0])


def test_rejecting_rate_limit_refuses_calls_of_both_workers(workers: Workers) -> None:
    workers.start("rate-reject")
    workers.finish()
    results = workers.values("results")
    assert len(results) == 16
    assert 1 <= results.count("ok") <= 2  # a burst of 1, and maybe one refill during the run
    assert results.count("RATE_LIMITED") == 16 - results.count("ok")


def test_a_killed_workers_permit_comes_back_after_its_lease(workers: Workers) -> None:
    (holder,) = workers.start("hold", count=1)
    assert workers.client.blpop([f"{workers.prefix}:held"], timeout=30)
    limiter = RedisLimiter(workers.client, prefix=f"{workers.prefix}:limits", lease_s=0.6)
    spec = ToolSpec("get_weather", {"type": "object"}, MockImplementation(), concurrency_limit=1)
    team = limiter.scoped("team-1")

    async def acquire(timeout: float) -> None:
        permit = await asyncio.wait_for(team.acquire("get_weather", spec), timeout)
        await permit.release()

    # Alive, the holder renews its lease: more than three leases pass and it is still held.
    with pytest.raises(TimeoutError):
        asyncio.run(acquire(2.0))
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    asyncio.run(acquire(10.0))  # one lease after the kill the permit is free again
