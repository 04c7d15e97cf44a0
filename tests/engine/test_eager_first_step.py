"""A call's first step runs eagerly; what it does after suspending keeps every guarantee."""

from __future__ import annotations

import asyncio

import pytest

from tools_app.engine import ErrorCode, ExecutionOptions, execute_batch

from .support import FAST_RETRIES, FunctionImpl, call, echo_spec


@pytest.mark.asyncio
async def test_a_call_that_never_suspends_returns_its_value():
    async def instant(arguments, context):
        return {"doubled": arguments["x"] * 2}

    spec = echo_spec("instant", implementation=FunctionImpl(instant), timeout_s=0.01)
    [result] = (await execute_batch([call("c1", "instant", {"x": 21})], [spec])).results
    assert result.ok and result.result == {"doubled": 42}


@pytest.mark.asyncio
async def test_an_error_raised_before_the_first_await_is_classified():
    async def broken(arguments, context):
        raise ConnectionError("refused")

    spec = echo_spec("broken", implementation=FunctionImpl(broken), retries=1)
    batch = await execute_batch(
        [call("c1", "broken")], [spec], ExecutionOptions(retry_policy=FAST_RETRIES)
    )
    [result] = batch.results
    assert result.error.code is ErrorCode.UPSTREAM_ERROR
    assert result.attempts == 2


@pytest.mark.asyncio
async def test_a_call_that_suspends_late_is_cancelled_at_its_timeout_with_its_cleanup():
    seen: list[str] = []

    async def late(arguments, context):
        seen.append("first step")
        await asyncio.sleep(0)  # a bare yield, then a real wait
        try:
            await asyncio.sleep(600)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        finally:
            seen.append("finally")

    spec = echo_spec("late", implementation=FunctionImpl(late), timeout_s=0.05)
    [result] = (await execute_batch([call("c1", "late")], [spec])).results
    assert result.error.code is ErrorCode.TIMEOUT
    assert seen == ["first step", "cancelled", "finally"]


@pytest.mark.asyncio
async def test_values_sent_back_after_suspending_reach_the_tool():
    async def chain(arguments, context):
        loop = asyncio.get_running_loop()
        first = loop.create_future()
        loop.call_soon(first.set_result, "a")
        second = loop.create_future()
        loop.call_soon(second.set_exception, KeyError("b"))
        got = [await first]
        try:
            await second
        except KeyError as exc:
            got.append(exc.args[0])
        return got

    spec = echo_spec("chain", implementation=FunctionImpl(chain))
    [result] = (await execute_batch([call("c1", "chain")], [spec])).results
    assert result.result == ["a", "b"]
