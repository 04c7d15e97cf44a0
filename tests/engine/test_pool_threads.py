"""Calls on pool threads: each blocking call gets a thread when it needs one, and whatever a
sync tool raises comes back as that call's error."""

from __future__ import annotations

import threading

import pytest

from tools_app.engine import ErrorCode, ExecutionOptions, execute_batch_sync
from tools_app.engine.implementations.python import PythonImplementation

from .support import call, echo_spec


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
