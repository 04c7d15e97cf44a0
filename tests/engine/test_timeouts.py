"""Timeouts: async work is really cancelled; blocking work in a thread is abandoned."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tools_app.engine import (
    ErrorCode,
    ExecutionOptions,
    MockImplementation,
    PythonImplementation,
    execute_batch,
    execute_batch_sync,
)

from .support import FAST_RETRIES, FunctionImpl, body, call, echo_spec


@pytest.mark.asyncio
async def test_a_ten_second_coroutine_is_cancelled_by_a_short_timeout():
    seen: list[str] = []

    async def slow(arguments, context):
        try:
            await asyncio.sleep(600)  # past the test's own timeout: only cancellation ends it
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        finally:
            seen.append("finally")

    spec = echo_spec("slow", implementation=FunctionImpl(slow), timeout_s=0.05)
    batch = await execute_batch([call("c1", "slow")], [spec])
    [result] = batch.results
    assert body(result)["error"]["code"] == "TIMEOUT"
    assert result.error.details == {"timeout_s": 0.05}
    assert seen == ["cancelled", "finally"]  # the coroutine's cleanup ran before we returned


def test_mock_latency_is_cancellable():
    # ten minutes of latency, past the test's own timeout: only cancellation can end the call
    spec = echo_spec(implementation=MockImplementation(latency_ms=600_000), timeout_s=0.05)
    [result] = execute_batch_sync([call("c1")], [spec]).results
    assert result.error.code is ErrorCode.TIMEOUT


def test_threads_strategy_cancels_async_work_on_its_worker_loop():
    cleaned_up = threading.Event()

    async def slow(arguments, context):
        try:
            await asyncio.sleep(10)
        finally:
            cleaned_up.set()

    spec = echo_spec("slow", implementation=FunctionImpl(slow), timeout_s=0.05)
    [result] = execute_batch_sync(
        [call("c1", "slow")], [spec], ExecutionOptions(strategy="threads")
    ).results
    assert result.error.code is ErrorCode.TIMEOUT
    assert cleaned_up.wait(5), "the worker's coroutine was not cancelled"


@pytest.mark.parametrize("strategy", ["asyncio", "threads", "sequential"])
def test_blocking_work_is_reported_as_timeout_and_its_thread_abandoned(strategy):
    release = threading.Event()
    finished = threading.Event()

    def blocking() -> str:
        release.wait(30)
        finished.set()
        return "late"

    spec = echo_spec("block", implementation=PythonImplementation(blocking), timeout_s=0.05)
    batch = execute_batch_sync(
        [call("c1", "block"), call("c2", "echo")],
        [spec, echo_spec()],
        ExecutionOptions(strategy=strategy),
    )
    assert batch.results[0].error.code is ErrorCode.TIMEOUT
    assert batch.results[1].ok  # the batch went on without the stuck thread
    assert not finished.is_set()  # still running, abandoned
    release.set()
    assert finished.wait(5)


def test_an_implementation_s_own_timeout_error_is_a_timeout_too():
    async def raises(arguments, context):
        raise TimeoutError("upstream socket timed out")

    spec = echo_spec("t", implementation=FunctionImpl(raises))
    [result] = execute_batch_sync([call("c1", "t")], [spec]).results
    assert result.error.code is ErrorCode.TIMEOUT
    assert "upstream socket timed out" in result.error.message


def test_the_timeout_applies_to_each_attempt():
    async def slow(arguments, context):
        await asyncio.sleep(10)

    impl = FunctionImpl(slow)
    spec = echo_spec("slow", implementation=impl, timeout_s=0.02, retries=2)
    [result] = execute_batch_sync(
        [call("c1", "slow")], [spec], ExecutionOptions(retry_policy=FAST_RETRIES)
    ).results
    assert result.error.code is ErrorCode.TIMEOUT
    assert result.attempts == 3
    assert [attempt for _, attempt in impl.invocations] == [1, 2, 3]
