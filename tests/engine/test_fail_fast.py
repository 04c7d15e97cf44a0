"""fail_fast: the first failure cancels the rest (CANCELLED); otherwise failures stay local."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tools_app.engine import (
    ErrorCode,
    ExecutionOptions,
    PythonImplementation,
    execute_batch,
    execute_batch_sync,
)

from .support import FunctionImpl, body, call, echo_spec, returning

STRICT = {"type": "object", "required": ["x"]}


def test_without_fail_fast_one_failure_does_not_sink_the_batch():
    results = execute_batch_sync(
        [call("c1"), call("bad", "strict"), call("c3")], [echo_spec(), echo_spec("strict", STRICT)]
    ).results
    assert [r.status for r in results] == ["ok", "error", "ok"]


@pytest.mark.asyncio
async def test_the_first_failure_cancels_running_calls():
    cleaned_up = []
    running = 0
    both_running = asyncio.Event()

    async def slow(arguments, context):
        nonlocal running
        running += 1
        if running == 2:
            both_running.set()
        try:
            await asyncio.sleep(600)  # past the test's own timeout: only cancellation ends it
        finally:
            cleaned_up.append(context.call_id)

    async def fails_once_both_run(arguments, context):
        await asyncio.wait_for(both_running.wait(), 5)
        raise RuntimeError("boom")

    specs = [
        echo_spec("slow", implementation=FunctionImpl(slow)),
        echo_spec("boom", implementation=FunctionImpl(fails_once_both_run)),
    ]
    batch = await execute_batch(
        [call("s1", "slow"), call("bad", "boom"), call("s2", "slow")],
        specs,
        ExecutionOptions(fail_fast=True),
    )
    codes = [r.error.code for r in batch.results]
    assert codes == [ErrorCode.CANCELLED, ErrorCode.EXECUTION_ERROR, ErrorCode.CANCELLED]
    assert sorted(cleaned_up) == ["s1", "s2"]
    assert body(batch.results[0])["error"] == {
        "code": "CANCELLED",
        "message": "cancelled because call 'bad' failed (fail_fast)",
        "details": {"after": "bad"},
    }


@pytest.mark.parametrize("strategy", ["asyncio", "threads"])
def test_an_early_failure_cancels_calls_that_had_not_started(strategy):
    impl = returning("ran")
    results = execute_batch_sync(
        [call("bad", "strict")] + [call(f"c{i}", "t") for i in range(5)],
        [echo_spec("t", implementation=impl), echo_spec("strict", STRICT)],
        ExecutionOptions(strategy=strategy, fail_fast=True),
    ).results
    assert results[0].error.code is ErrorCode.VALIDATION_ERROR
    assert {r.error.code for r in results[1:]} == {ErrorCode.CANCELLED}
    assert len(results) == 6


@pytest.mark.asyncio
async def test_calls_finished_before_the_failure_keep_their_results():
    first_done = asyncio.Event()

    async def quick(arguments, context):
        first_done.set()
        return "kept"

    async def fails_after_quick(arguments, context):
        await asyncio.wait_for(first_done.wait(), 5)
        raise RuntimeError("boom")

    async def slow(arguments, context):
        await asyncio.sleep(10)

    specs = [
        echo_spec("quick", implementation=FunctionImpl(quick)),
        echo_spec("boom", implementation=FunctionImpl(fails_after_quick)),
        echo_spec("slow", implementation=FunctionImpl(slow)),
    ]
    batch = await execute_batch(
        [call("q", "quick"), call("b", "boom"), call("s", "slow")],
        specs,
        ExecutionOptions(fail_fast=True),
    )
    assert batch.results[0].result == "kept"
    assert batch.results[1].error.code is ErrorCode.EXECUTION_ERROR
    assert batch.results[2].error.code is ErrorCode.CANCELLED


def test_sequential_fail_fast_never_starts_the_rest():
    impl = returning("ran")
    results = execute_batch_sync(
        [call("c1", "t"), call("bad", "strict"), call("c3", "t"), call("c4", "t")],
        [echo_spec("t", implementation=impl), echo_spec("strict", STRICT)],
        ExecutionOptions(strategy="sequential", fail_fast=True),
    ).results
    assert [r.status for r in results] == ["ok", "error", "error", "error"]
    assert [r.error.code for r in results[2:]] == [ErrorCode.CANCELLED] * 2
    assert len(impl.invocations) == 1
    assert results[3].started_at is None


def test_threads_fail_fast_cancels_work_in_worker_threads():
    started = threading.Event()
    cleaned_up = threading.Event()

    async def slow(arguments, context):
        started.set()
        try:
            await asyncio.sleep(10)
        finally:
            cleaned_up.set()

    def fails_once_slow_runs():
        started.wait(5)
        raise RuntimeError("boom")

    results = execute_batch_sync(
        [call("s", "slow"), call("bad", "boom")],
        [
            echo_spec("slow", implementation=FunctionImpl(slow)),
            echo_spec("boom", implementation=PythonImplementation(fails_once_slow_runs)),
        ],
        ExecutionOptions(strategy="threads", fail_fast=True),
    ).results
    assert results[0].error.code is ErrorCode.CANCELLED
    assert cleaned_up.wait(5)


def test_calls_waiting_for_approval_are_cancelled_too():
    release = threading.Event()

    def approver(tool_call, spec):
        release.wait(5)
        return True

    try:
        results = execute_batch_sync(
            [call("a", "needs_ok"), call("bad", "strict")],
            [echo_spec("needs_ok", requires_approval=True), echo_spec("strict", STRICT)],
            ExecutionOptions(approver=approver, fail_fast=True),
        ).results
    finally:
        release.set()
    assert results[0].error.code is ErrorCode.CANCELLED
