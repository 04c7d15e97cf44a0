"""A tool's guards in a batch: a call that trips one is DENIED and never runs."""

from __future__ import annotations

from tools_app.engine import ErrorCode, ExecutionOptions, GuardSet, execute_batch_sync

from .support import Recorder, body, call, echo_spec, returning

GUARDS = GuardSet.from_config(
    [{"kind": "path", "pointer": "/path"}, {"kind": "sql", "pointer": "/query"}]
)


def test_a_guarded_call_is_denied_beside_a_healthy_one_that_runs():
    implementation = returning("read")
    events = Recorder()
    results = execute_batch_sync(
        [
            call("ok", arguments={"path": "notes/today.txt"}),
            call("bad", arguments={"path": "../../etc/passwd"}),
        ],
        [echo_spec(implementation=implementation, guards=GUARDS)],
        ExecutionOptions(on_event=events),
    ).results
    assert results[0].ok and results[0].result == "read"
    assert results[1].error.code is ErrorCode.DENIED
    assert results[1].started_at is None and results[1].attempts == 0
    assert body(results[1])["error"]["details"] == {
        "guard": "path",
        "pointer": "/path",
        "guard_pointer": "/path",
        "reason": "the path climbs out of its directory with a '..' segment",
    }
    assert [arguments for arguments, _ in implementation.invocations] == [
        {"path": "notes/today.txt"}
    ]
    finished = [e for e in events.events if e.kind.value == "call_finished"]
    assert {e.call_id: e.data["status"] for e in finished} == {"ok": "ok", "bad": "error"}


def test_guards_run_after_schema_validation_and_before_the_hook_and_approval():
    asked = []
    spec = echo_spec(
        schema={"type": "object", "properties": {"query": {"type": "string"}}},
        guards=GUARDS,
        requires_approval=True,
    )
    invalid, guarded = execute_batch_sync(
        [call("c1", arguments={"query": 3}), call("c2", arguments={"query": "SELECT 1; DROP x"})],
        [spec],
        ExecutionOptions(
            guard=lambda c, s, a: asked.append("hook"),
            approver=lambda c, s: asked.append("approver") or True,
        ),
    ).results
    assert invalid.error.code is ErrorCode.VALIDATION_ERROR
    assert guarded.error.details["guard"] == "sql"
    assert guarded.error.details["reason"] == "more than one statement"
    assert asked == []
