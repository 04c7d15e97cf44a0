"""Retries: only transient failures, exponential backoff with jitter, events for each retry."""

from __future__ import annotations

import random

import pytest

from tools_app.engine import (
    ErrorCode,
    ExecutionOptions,
    RetryPolicy,
    ToolFailure,
    execute_batch_sync,
)

from .support import FAST_RETRIES, FunctionImpl, Recorder, body, call, echo_spec


def flaky(failures: list[BaseException], result: object = "done") -> FunctionImpl:
    """Raise the given exceptions on successive attempts, then succeed."""
    pending = list(failures)

    async def function(arguments, context):
        if pending:
            raise pending.pop(0)
        return result

    return FunctionImpl(function)


@pytest.mark.parametrize(
    "failure",
    [
        ToolFailure(ErrorCode.UPSTREAM_ERROR, "HTTP 503", {"status": 503}, retryable=True),
        ToolFailure(ErrorCode.UPSTREAM_ERROR, "HTTP 429", {"status": 429}, retryable=True),
        ConnectionResetError("connection reset by peer"),
        TimeoutError("read timed out"),
    ],
    ids=["5xx", "429", "connection", "timeout"],
)
def test_transient_failures_are_retried_until_success(failure):
    impl = flaky([failure, failure])
    spec = echo_spec("f", implementation=impl, retries=3)
    recorder = Recorder()
    [result] = execute_batch_sync(
        [call("c1", "f")], [spec], ExecutionOptions(retry_policy=FAST_RETRIES, on_event=recorder)
    ).results
    assert result.ok and result.result == "done"
    assert result.attempts == 3
    retrying = recorder.of("call_retrying", "c1")
    assert [e.data["attempt"] for e in retrying] == [2, 3]
    assert all(e.data["delay_s"] >= 0 for e in retrying)
    assert retrying[0].data["error"]["code"] in {"UPSTREAM_ERROR", "TIMEOUT"}


@pytest.mark.parametrize(
    "failure",
    [
        ValueError("bad input"),
        ToolFailure(ErrorCode.UPSTREAM_ERROR, "HTTP 404", {"status": 404}),
        ToolFailure(ErrorCode.DENIED, "no"),
    ],
    ids=["exception", "4xx", "denied"],
)
def test_permanent_failures_are_not_retried(failure):
    impl = flaky([failure])
    spec = echo_spec("f", implementation=impl, retries=3)
    recorder = Recorder()
    [result] = execute_batch_sync(
        [call("c1", "f")], [spec], ExecutionOptions(retry_policy=FAST_RETRIES, on_event=recorder)
    ).results
    assert result.status == "error"
    assert result.attempts == 1
    assert recorder.of("call_retrying") == []


def test_an_exception_becomes_an_execution_error_with_its_type():
    [result] = execute_batch_sync(
        [call("c1", "f")], [echo_spec("f", implementation=flaky([KeyError("city")]))]
    ).results
    assert body(result)["error"] == {
        "code": "EXECUTION_ERROR",
        "message": "KeyError: 'city'",
        "details": {"exception": "KeyError"},
    }


def test_retries_stop_at_the_tool_s_limit():
    failure = ToolFailure(ErrorCode.UPSTREAM_ERROR, "HTTP 500", {"status": 500}, retryable=True)
    impl = flaky([failure] * 10)
    spec = echo_spec("f", implementation=impl, retries=2)
    [result] = execute_batch_sync(
        [call("c1", "f")], [spec], ExecutionOptions(retry_policy=FAST_RETRIES)
    ).results
    assert result.error.code is ErrorCode.UPSTREAM_ERROR
    assert result.error.details == {"status": 500}
    assert result.attempts == 3


def test_no_retries_by_default():
    failure = ToolFailure(ErrorCode.UPSTREAM_ERROR, "HTTP 500", retryable=True)
    [result] = execute_batch_sync(
        [call("c1", "f")], [echo_spec("f", implementation=flaky([failure]))]
    ).results
    assert result.attempts == 1 and result.status == "error"


def test_backoff_grows_exponentially_with_bounded_jitter():
    policy = RetryPolicy(
        base_delay_s=1.0, factor=2.0, max_delay_s=5.0, jitter=0.5, rng=random.Random(1)
    )
    for retry, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (10, 5.0)]:
        delay = policy.delay(retry)
        assert ceiling * 0.5 <= delay <= ceiling


def test_no_jitter_gives_exact_delays():
    policy = RetryPolicy(base_delay_s=0.1, jitter=0)
    assert [policy.delay(n) for n in (1, 2, 3)] == pytest.approx([0.1, 0.2, 0.4])


def test_retry_after_is_honoured_when_small_and_gives_up_when_large():
    policy = RetryPolicy(base_delay_s=0.001, jitter=0, max_retry_after_s=2)
    assert policy.delay(1, retry_after=1.5) == 1.5
    assert policy.delay(1, retry_after=60) is None


def test_a_large_retry_after_ends_retrying():
    failure = ToolFailure(ErrorCode.UPSTREAM_ERROR, "HTTP 429", retryable=True, retry_after=3600)
    impl = flaky([failure, failure])
    spec = echo_spec("f", implementation=impl, retries=3)
    [result] = execute_batch_sync(
        [call("c1", "f")], [spec], ExecutionOptions(retry_policy=FAST_RETRIES)
    ).results
    assert result.attempts == 1 and result.error.code is ErrorCode.UPSTREAM_ERROR


def test_retrying_event_carries_delay_from_the_policy():
    failure = ToolFailure(ErrorCode.UPSTREAM_ERROR, "HTTP 502", retryable=True, retry_after=0.01)
    recorder = Recorder()
    execute_batch_sync(
        [call("c1", "f")],
        [echo_spec("f", implementation=flaky([failure]), retries=1)],
        ExecutionOptions(retry_policy=RetryPolicy(base_delay_s=0.001, jitter=0), on_event=recorder),
    )
    [event] = recorder.of("call_retrying")
    assert event.data["delay_s"] == 0.01
    assert event.data["attempt"] == 2
    assert event.data["error"] == {"code": "UPSTREAM_ERROR", "message": "HTTP 502"}
