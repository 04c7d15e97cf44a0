"""A worker process for tests/services/test_limits_across_workers.py (no Django).

``python -m tests.services.limits_worker URL PREFIX KIND`` waits for the test's go, runs a batch
of calls to one limited tool through a `RedisLimiter`, and records into Redis under PREFIX:
``events`` gets ``start <pid>`` / ``end <pid>`` as each call starts and ends (so their order is
the order of real overlap); ``starts`` gets each start's Redis server time; ``results`` one
status per call. KIND ``hold`` instead takes one permit, says so, and holds it until killed.
"""

from __future__ import annotations

import asyncio
import os
import sys

import redis

from tools_app.engine import CallContext, ExecutionOptions, ToolCall, ToolSpec, execute_batch
from tools_app.engine.redis_limits import RedisLimiter

CALLS = 8


class Recorded:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client, self.prefix = client, prefix

    async def invoke(self, arguments: dict, context: CallContext) -> str:
        seconds, micros = self.client.time()
        self.client.rpush(f"{self.prefix}:starts", f"{seconds}.{micros:06d}")
        self.client.rpush(f"{self.prefix}:events", f"start {os.getpid()}")
        await asyncio.sleep(0.02)  # long enough for calls of both processes to meet
        self.client.rpush(f"{self.prefix}:events", f"end {os.getpid()}")
        return "ok"


def spec_for(kind: str, implementation: Recorded) -> ToolSpec:
    if kind == "concurrency":
        options: dict = {"concurrency_limit": 2}
    elif kind == "rate-wait":
        options = {"rate_limit_per_s": 10.0}
    elif kind == "rate-reject":
        options = {"rate_limit_per_s": 1.0, "rate_limit_mode": "reject"}
    else:
        options = {"concurrency_limit": 1}
    return ToolSpec("get_weather", {"type": "object"}, implementation, **options)


async def main(url: str, prefix: str, kind: str) -> None:
    client = redis.Redis.from_url(url)
    limiter = RedisLimiter(client, prefix=f"{prefix}:limits", lease_s=0.6).scoped("team-1")
    spec = spec_for(kind, Recorded(client, prefix))
    client.rpush(f"{prefix}:ready", os.getpid())
    client.blpop([f"{prefix}:go"], timeout=30)
    if kind == "hold":
        await limiter.acquire("get_weather", spec)
        client.rpush(f"{prefix}:held", os.getpid())
        await asyncio.Event().wait()  # until SIGKILL
    calls = [ToolCall(f"c{i}", "get_weather", "{}") for i in range(CALLS)]
    batch = await execute_batch(calls, [spec], ExecutionOptions(limiter=limiter))
    for result in batch.results:
        code = result.error.code.value if result.error is not None else result.status
        client.rpush(f"{prefix}:results", code)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
