"""Calls on pool threads: each blocking call gets a thread when it needs one, and whatever a
sync tool raises comes back as that call's error."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading

import pytest

from tools_app.engine import ErrorCode, ExecutionOptions, execute_batch_sync
from tools_app.engine.implementations.python import PythonImplementation

from .support import FunctionImpl, call, echo_spec


@pytest.mark.parametrize("strategy", ["asyncio", "threads"])
def test_calls_that_wait_for_each_other_all_get_a_thread(strategy):
    barrier = threading.Barrier(8, timeout=10)

    def meet() -> str:
        barrier.wait()  # BrokenBarrierError unless all 8 run at once
        return threading.current_thread().name

    spec = echo_spec("meet", implementation=PythonImplementation(meet), timeout_s=30)
    batch = execute_batch_sync(
        [call(f"c{i}", "meet") for i in range(8)], [spec], ExecutionOptions(strategy=strategy)
    )
    assert all(r.ok for r in batch.results), [r.content for r in batch.results]
    assert len({r.result for r in batch.results}) == 8


@pytest.mark.parametrize("strategy", ["asyncio", "threads"])
def test_stop_iteration_from_a_sync_tool_is_an_execution_error(strategy):
    def stops() -> None:
        raise StopIteration("done")

    spec = echo_spec("stops", implementation=PythonImplementation(stops), timeout_s=30)
    [result] = execute_batch_sync(
        [call("c1", "stops")], [spec], ExecutionOptions(strategy=strategy)
    ).results
    assert result.error.code is ErrorCode.EXECUTION_ERROR
    assert "StopIteration" in result.error.message


@pytest.mark.parametrize("strategy", ["asyncio", "threads"])
def test_a_pool_shut_down_before_the_batch_fails_its_calls_at_once(strategy):
    pool = concurrent.futures.ThreadPoolExecutor(2)
    pool.shutdown()
    spec = echo_spec("meet", implementation=PythonImplementation(lambda: "ran"), timeout_s=30)
    [result] = execute_batch_sync(
        [call("c1", "meet")], [spec], ExecutionOptions(strategy=strategy, executor=pool)
    ).results
    assert result.error.code is ErrorCode.EXECUTION_ERROR
    assert "after shutdown" in result.error.message


SEEN: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="unset")


def test_calls_on_one_worker_thread_do_not_share_context_variables():
    async def mark(arguments, context):
        before = SEEN.get()
        SEEN.set(context.call_id)
        await asyncio.sleep(0)
        return before

    spec = echo_spec("mark", implementation=FunctionImpl(mark))
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        batch = execute_batch_sync(
            [call("a", "mark"), call("b", "mark")],
            [spec],
            ExecutionOptions(strategy="threads", executor=pool),
        )
    assert [r.result for r in batch.results] == ["unset", "unset"]


def test_a_timed_out_call_leaves_the_next_call_on_its_thread_alone():
    async def work(arguments, context):
        assert asyncio.current_task() is not None
        if arguments["slow"]:
            await asyncio.sleep(10)
        async with asyncio.timeout(5):  # a tool's own timeout still works after a cancel
            await asyncio.sleep(0.001)
        return "done"

    slow = echo_spec("slow", implementation=FunctionImpl(work), timeout_s=0.05)
    fast = echo_spec("fast", implementation=FunctionImpl(work), timeout_s=30)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        batch = execute_batch_sync(
            [call("a", "slow", {"slow": True}), call("b", "fast", {"slow": False})],
            [slow, fast],
            ExecutionOptions(strategy="threads", executor=pool, max_concurrency=1),
        )
    assert batch.results[0].error.code is ErrorCode.TIMEOUT
    assert batch.results[1].ok and batch.results[1].result == "done"
