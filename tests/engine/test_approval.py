"""Approval: tools that require it ask the approver (sync or async) and are DENIED otherwise."""

from __future__ import annotations

import asyncio

import pytest

from tools_app.engine import ErrorCode, ExecutionOptions, execute_batch, execute_batch_sync

from .support import FunctionImpl, Recorder, body, call, echo_spec, returning


def guarded(**options):
    impl = returning("sent")
    return echo_spec("send_email", implementation=impl, requires_approval=True, **options), impl


def test_without_an_approver_the_call_is_denied_and_does_not_run():
    spec, impl = guarded()
    [result] = execute_batch_sync([call("c1", "send_email")], [spec]).results
    assert body(result)["error"]["code"] == "DENIED"
    assert "requires approval" in result.error.message
    assert impl.invocations == []


def test_a_sync_approver_decides_per_call():
    spec, impl = guarded()
    asked = []

    def approver(tool_call, tool_spec):
        asked.append((tool_call.id, tool_spec.name))
        return tool_call.id == "yes"

    results = execute_batch_sync(
        [call("yes", "send_email"), call("no", "send_email")],
        [spec],
        ExecutionOptions(approver=approver),
    ).results
    assert [r.status for r in results] == ["ok", "error"]
    assert results[1].error.code is ErrorCode.DENIED
    assert results[1].error.message == "the call was not approved"
    assert sorted(asked) == [("no", "send_email"), ("yes", "send_email")]
    assert len(impl.invocations) == 1


def test_only_tools_that_require_approval_ask():
    asked = []
    spec, _ = guarded()
    results = execute_batch_sync(
        [call("c1"), call("c2", "send_email")],
        [echo_spec(), spec],
        ExecutionOptions(approver=lambda c, s: asked.append(c.id) or True),
    ).results
    assert all(r.ok for r in results)
    assert asked == ["c2"]


@pytest.mark.asyncio
async def test_async_approvals_are_awaited_concurrently_with_other_calls():
    spec, _ = guarded()
    waiting = 0
    both_waiting = asyncio.Event()
    free_call_done = asyncio.Event()

    async def approver(tool_call, tool_spec):
        nonlocal waiting
        waiting += 1
        if waiting == 2:
            both_waiting.set()
        # neither approval can finish unless the other approval and the free call run meanwhile
        await asyncio.wait_for(both_waiting.wait(), 5)
        await asyncio.wait_for(free_call_done.wait(), 5)
        return True

    async def free(arguments, context):
        free_call_done.set()
        return "free"

    batch = await execute_batch(
        [call("a1", "send_email"), call("a2", "send_email"), call("f", "free")],
        [spec, echo_spec("free", implementation=FunctionImpl(free))],
        ExecutionOptions(approver=approver),
    )
    assert [r.status for r in batch.results] == ["ok", "ok", "ok"]


@pytest.mark.parametrize("answer", ["yes", 1, None])
def test_only_true_approves(answer):
    spec, _ = guarded()
    [result] = execute_batch_sync(
        [call("c1", "send_email")], [spec], ExecutionOptions(approver=lambda c, s: answer)
    ).results
    assert result.error.code is ErrorCode.DENIED


def test_a_failing_approver_denies():
    def approver(tool_call, tool_spec):
        raise RuntimeError("approval service down")

    spec, impl = guarded()
    [result] = execute_batch_sync(
        [call("c1", "send_email")], [spec], ExecutionOptions(approver=approver)
    ).results
    assert result.error.code is ErrorCode.DENIED
    assert "approver failed (RuntimeError)" in result.error.message
    assert impl.invocations == []


def test_awaiting_approval_and_the_decision_are_events_before_the_call_starts():
    spec, _ = guarded()
    recorder = Recorder()
    execute_batch_sync(
        [call("c1", "send_email", {"to": "a@example.com"})],
        [spec],
        ExecutionOptions(approver=lambda c, s: True, on_event=recorder),
    )
    assert recorder.kinds("c1") == [
        "call_queued",
        "call_awaiting_approval",
        "call_approval_decided",
        "call_started",
        "call_finished",
    ]
    [event] = recorder.of("call_awaiting_approval")
    assert event.data == {"name": "send_email", "arguments": {"to": "a@example.com"}}
    [decided] = recorder.of("call_approval_decided")
    assert decided.data == {"approved": True} and decided.t >= event.t


def test_invalid_arguments_are_refused_before_anyone_is_asked():
    spec, _ = guarded(schema={"type": "object", "required": ["to"]})
    asked = []
    [result] = execute_batch_sync(
        [call("c1", "send_email")],
        [spec],
        ExecutionOptions(approver=lambda c, s: asked.append(c) or True),
    ).results
    assert result.error.code is ErrorCode.VALIDATION_ERROR
    assert asked == []
