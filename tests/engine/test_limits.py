"""Limits: batch max_concurrency, per-tool concurrency, per-tool token-bucket rate limits."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tools_app.engine import (
    ErrorCode,
    ExecutionOptions,
    InMemoryLimiter,
    PythonImplementation,
    TokenBucket,
    ToolSpec,
    execute_batch,
    execute_batch_sync,
)

from .support import FunctionImpl, call, echo_spec


class InFlight:
    """Counts concurrently running invocations; each waits until `target` run at once.

    If the engine never lets `target` calls run together the wait times out and the test fails
    on the recorded maximum, rather than hanging.
    """

    def __init__(self, target: int) -> None:
        self.target = target
        self.now = 0
        self.max = 0
        self.gate = asyncio.Event()

    async def __call__(self, arguments, context):
        self.now += 1
        self.max = max(self.max, self.now)
        if self.now >= self.target:
            self.gate.set()
        try:
            await asyncio.wait_for(self.gate.wait(), 5)
        finally:
            self.now -= 1
        return "ok"


@pytest.mark.asyncio
@pytest.mark.parametrize("strategy", ["asyncio", "sequential"])
async def test_max_concurrency_bounds_calls_in_flight(strategy):
    limit = 1 if strategy == "sequential" else 3
    counter = InFlight(limit)
    spec = echo_spec("work", implementation=FunctionImpl(counter))
    batch = await execute_batch(
        [call(f"c{i}", "work") for i in range(10)],
        [spec],
        ExecutionOptions(strategy=strategy, max_concurrency=3),
    )
    assert all(r.ok for r in batch.results)
    assert counter.max == limit


def test_threads_strategy_respects_max_concurrency():
    lock = threading.Lock()
    state = {"now": 0, "max": 0}
    reached = threading.Event()

    def work() -> str:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
            if state["now"] >= 4:
                reached.set()
        reached.wait(5)
        with lock:
            state["now"] -= 1
        return "ok"

    spec = echo_spec("work", implementation=PythonImplementation(work))
    batch = execute_batch_sync(
        [call(f"c{i}", "work") for i in range(12)],
        [spec],
        ExecutionOptions(strategy="threads", max_concurrency=4),
    )
    assert all(r.ok for r in batch.results)
    assert state["max"] == 4
    assert {r.worker for r in batch.results} <= {f"fcstudio-threads_{i}" for i in range(4)}


@pytest.mark.asyncio
async def test_per_tool_concurrency_limit_leaves_other_tools_free():
    limited, free = InFlight(2), InFlight(4)
    specs = [
        echo_spec("limited", implementation=FunctionImpl(limited), concurrency_limit=2),
        echo_spec("free", implementation=FunctionImpl(free)),
    ]
    calls = [call(f"l{i}", "limited") for i in range(6)] + [call(f"f{i}", "free") for i in range(4)]
    batch = await execute_batch(calls, specs)
    assert all(r.ok for r in batch.results)
    assert limited.max == 2
    assert free.max == 4


@pytest.mark.asyncio
async def test_a_shared_limiter_limits_across_batches():
    counter = InFlight(1)
    spec = echo_spec("one", implementation=FunctionImpl(counter), concurrency_limit=1)
    limiter = InMemoryLimiter()
    first, second = await asyncio.gather(
        execute_batch(
            [call("a1", "one"), call("a2", "one")], [spec], ExecutionOptions(limiter=limiter)
        ),
        execute_batch(
            [call("b1", "one"), call("b2", "one")], [spec], ExecutionOptions(limiter=limiter)
        ),
    )
    assert all(r.ok for r in first.results + second.results)
    assert counter.max == 1


def test_rate_limit_reject_mode_refuses_calls_over_the_rate():
    spec = echo_spec(rate_limit_per_s=1, rate_limit_mode="reject")
    results = execute_batch_sync([call(f"c{i}") for i in range(3)], [spec]).results
    assert [r.status for r in results].count("ok") == 1
    refused = [r for r in results if not r.ok]
    assert len(refused) == 2
    for result in refused:
        assert result.error.code is ErrorCode.RATE_LIMITED
        assert result.error.details["rate_limit_per_s"] == 1
        assert 0 < result.error.details["retry_after_s"] <= 1
        assert result.attempts == 0


def test_rate_limit_wait_mode_spaces_calls_out():
    rate = 20.0
    spec = echo_spec(rate_limit_per_s=rate, rate_limit_mode="wait")
    results = execute_batch_sync([call(f"c{i}") for i in range(23)], [spec]).results
    assert all(r.ok for r in results)
    starts = sorted(r.started_at for r in results)
    # a burst of `rate` calls, then one token every 1/rate s (tolerance for clock rounding)
    assert starts[-1] - starts[0] >= 3 / rate * 0.9


def test_token_bucket_reserves_future_tokens_in_order():
    now = [0.0]
    bucket = TokenBucket(10, capacity=1, clock=lambda: now[0])
    assert [bucket.reserve() for _ in range(3)] == pytest.approx([0.0, 0.1, 0.2])
    now[0] = 1.0  # a second later the debt is paid and the bucket is full again
    assert bucket.try_take() == 0.0
    assert bucket.try_take() == pytest.approx(0.1)


def test_token_bucket_burst_equals_rate():
    bucket = TokenBucket(5, clock=lambda: 0.0)
    assert [bucket.try_take() for _ in range(5)] == [0.0] * 5
    assert bucket.try_take() == pytest.approx(0.2)


@pytest.mark.asyncio
async def test_cancelled_waiter_gives_its_token_back():
    now = [0.0]
    bucket = TokenBucket(1, capacity=1, clock=lambda: now[0])
    await bucket.take()  # the burst
    waiter = asyncio.ensure_future(bucket.take())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    now[0] = 1.0
    assert bucket.try_take() == 0.0


class CountingLimiter:
    """A stand-in for the Redis limiter to come: only the two calls of the seam."""

    def __init__(self) -> None:
        self.acquired: list[str] = []
        self.released: list[str] = []

    async def acquire(self, tool_name: str, spec: ToolSpec):
        self.acquired.append(tool_name)
        limiter = self

        class Permit:
            async def release(self) -> None:
                limiter.released.append(tool_name)

        return Permit()


def test_any_limiter_can_be_plugged_in_and_is_always_released():
    async def boom(arguments, context):
        raise RuntimeError("boom")

    limiter = CountingLimiter()
    specs = [echo_spec(), echo_spec("boom", implementation=FunctionImpl(boom))]
    results = execute_batch_sync(
        [call("c1"), call("c2", "boom"), call("c3", "missing")],
        specs,
        ExecutionOptions(limiter=limiter),
    ).results
    assert [r.status for r in results] == ["ok", "error", "error"]
    assert sorted(limiter.acquired) == sorted(limiter.released) == ["boom", "echo"]
