"""The event stream: exact order per call, monotonic timestamps, sync and async subscribers."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from tools_app.engine import (
    ErrorCode,
    ExecutionOptions,
    ToolFailure,
    execute_batch,
    execute_batch_sync,
)

from .support import FAST_RETRIES, FunctionImpl, Recorder, call, echo_spec


def test_a_successful_call_is_queued_started_and_finished():
    recorder = Recorder()
    execute_batch_sync([call("c1")], [echo_spec()], ExecutionOptions(on_event=recorder))
    assert recorder.kinds() == [
        "batch_started",
        "call_queued",
        "call_started",
        "call_finished",
        "batch_finished",
    ]


def test_a_retried_call_starts_once_per_attempt():
    failures = [ToolFailure(ErrorCode.UPSTREAM_ERROR, "HTTP 503", retryable=True)]

    async def flaky(arguments, context):
        if failures:
            raise failures.pop()
        return "ok"

    recorder = Recorder()
    execute_batch_sync(
        [call("c1", "f")],
        [echo_spec("f", implementation=FunctionImpl(flaky), retries=1)],
        ExecutionOptions(retry_policy=FAST_RETRIES, on_event=recorder),
    )
    assert recorder.kinds("c1") == [
        "call_queued",
        "call_started",
        "call_retrying",
        "call_started",
        "call_finished",
    ]
    assert [e.data["attempt"] for e in recorder.of("call_started")] == [1, 2]


def test_a_call_refused_before_running_is_queued_then_finished():
    recorder = Recorder()
    execute_batch_sync([call("c1", "missing")], [echo_spec()], ExecutionOptions(on_event=recorder))
    assert recorder.kinds("c1") == ["call_queued", "call_finished"]
    [finished] = recorder.of("call_finished")
    assert finished.data["status"] == "error"
    assert finished.data["error"]["code"] == "FUNCTION_NOT_FOUND"
    assert json.loads(finished.data["content"])["success"] is False


@pytest.mark.parametrize("strategy", ["asyncio", "threads", "sequential"])
def test_timestamps_are_monotonic_and_consistent_with_results(strategy):
    recorder = Recorder()
    calls = [call(f"c{i}") for i in range(6)] + [call("bad", arguments="{")]
    batch = execute_batch_sync(
        calls, [echo_spec()], ExecutionOptions(strategy=strategy, on_event=recorder)
    )
    times = [e.t for e in recorder.events]
    assert times == sorted(times)
    assert times[0] == 0.0
    walls = [e.wall for e in recorder.events]
    assert walls == sorted(walls)
    assert walls[0] == batch.started_at
    assert recorder.events[-1].t == pytest.approx(batch.wall_s)
    for result in batch.results:
        assert result.queued_at <= (result.started_at or result.queued_at) <= result.finished_at
        [finished] = recorder.of("call_finished", result.call_id)
        assert finished.t == result.finished_at
    assert batch.started_at <= batch.finished_at


def test_every_call_is_queued_in_call_order_before_anything_starts():
    recorder = Recorder()
    execute_batch_sync(
        [call(f"c{i}") for i in range(5)], [echo_spec()], ExecutionOptions(on_event=recorder)
    )
    queued = [e.call_id for e in recorder.of("call_queued")]
    assert queued == ["c0", "c1", "c2", "c3", "c4"]
    assert recorder.kinds()[1:6] == ["call_queued"] * 5
    assert [e.data["index"] for e in recorder.of("call_queued")] == [0, 1, 2, 3, 4]


@pytest.mark.asyncio
async def test_an_async_subscriber_gets_every_event_in_order_before_the_batch_returns():
    received = []

    async def subscriber(event):
        await asyncio.sleep(0)  # e.g. a channel layer send
        received.append(event.kind.value)

    await execute_batch(
        [call("c1"), call("c2")], [echo_spec()], ExecutionOptions(on_event=subscriber)
    )
    assert received[0] == "batch_started"
    assert received[-1] == "batch_finished"
    assert len(received) == 2 + 3 * 2


def test_a_failing_subscriber_is_logged_and_does_not_break_the_batch(caplog):
    def subscriber(event):
        raise RuntimeError("database is down")

    with caplog.at_level(logging.ERROR, logger="fcstudio.engine"):
        batch = execute_batch_sync(
            [call("c1")], [echo_spec()], ExecutionOptions(on_event=subscriber)
        )
    assert batch.results[0].ok
    assert "event subscriber failed" in caplog.text


def test_a_failing_async_subscriber_is_logged_and_does_not_break_the_batch(caplog):
    seen = []

    async def subscriber(event):
        seen.append(event.kind.value)
        if event.kind.value == "call_started":
            raise RuntimeError("channel layer is down")

    with caplog.at_level(logging.ERROR, logger="fcstudio.engine"):
        batch = execute_batch_sync(
            [call("c1")], [echo_spec()], ExecutionOptions(on_event=subscriber)
        )
    assert batch.results[0].ok
    assert seen[-1] == "batch_finished"
    assert "event subscriber failed" in caplog.text


def test_events_serialise_to_json():
    recorder = Recorder()
    execute_batch_sync(
        [call("c1", arguments={"x": 1})], [echo_spec()], ExecutionOptions(on_event=recorder)
    )
    for event in recorder.events:
        round_trip = json.loads(json.dumps(event.to_dict()))
        assert round_trip["kind"] == event.kind.value
        assert round_trip["call_id"] == event.call_id


def test_batch_events_summarise_the_batch():
    recorder = Recorder()
    execute_batch_sync(
        [call("c1"), call("c2", "missing")],
        [echo_spec()],
        ExecutionOptions(on_event=recorder, max_concurrency=2),
    )
    started, finished = recorder.of("batch_started")[0], recorder.of("batch_finished")[0]
    assert started.data == {
        "strategy": "asyncio",
        "calls": 2,
        "max_concurrency": 2,
        "fail_fast": False,
    }
    assert finished.data["ok"] == 1 and finished.data["errors"] == 1


def test_a_sync_callable_returning_an_awaitable_is_awaited_in_order():
    received = []

    async def deliver(event):
        received.append(event.kind.value)

    batch = execute_batch_sync(
        [call("c1")], [echo_spec()], ExecutionOptions(on_event=lambda e: deliver(e))
    )
    assert batch.results[0].ok
    assert received == [
        "batch_started",
        "call_queued",
        "call_started",
        "call_finished",
        "batch_finished",
    ]
