"""The guard seam: a policy checked between validation and execution; a reason means DENIED."""

from __future__ import annotations

from tools_app.engine import ErrorCode, ExecutionOptions, execute_batch_sync

from .support import call, echo_spec, returning


def no_wildcards(tool_call, spec, arguments):
    if "*" in str(arguments.get("to", "")):
        return "wildcard recipients are not allowed"
    return None


def test_the_guard_lets_calls_through_or_denies_them_with_its_reason():
    results = execute_batch_sync(
        [
            call("c1", arguments={"to": "a@example.com"}),
            call("c2", arguments={"to": "*@example.com"}),
        ],
        [echo_spec()],
        ExecutionOptions(guard=no_wildcards),
    ).results
    assert results[0].ok
    assert results[1].error.code is ErrorCode.DENIED
    assert results[1].error.message == "refused by guard: wildcard recipients are not allowed"
    assert results[1].error.details == {"reason": "wildcard recipients are not allowed"}


def test_an_async_guard_sees_the_arguments_after_substitution():
    seen = []

    async def guard(tool_call, spec, arguments):
        seen.append((tool_call.id, arguments))
        return None

    execute_batch_sync(
        [call("c1", "src"), call("c2", arguments={"x": "$ref:c1"})],
        [echo_spec("src", implementation=returning(42)), echo_spec()],
        ExecutionOptions(guard=guard),
    )
    assert sorted(seen) == [("c1", {}), ("c2", {"x": 42})]


def test_a_broken_guard_fails_closed():
    def guard(tool_call, spec, arguments):
        raise RuntimeError("policy store unreachable")

    [result] = execute_batch_sync(
        [call("c1")], [echo_spec()], ExecutionOptions(guard=guard)
    ).results
    assert result.error.code is ErrorCode.DENIED
    assert "guard failed (RuntimeError)" in result.error.message


def test_the_guard_runs_before_approval():
    asked = []
    spec = echo_spec(requires_approval=True)
    [result] = execute_batch_sync(
        [call("c1")],
        [spec],
        ExecutionOptions(
            guard=lambda c, s, a: "never", approver=lambda c, s: asked.append(c) or True
        ),
    ).results
    assert result.error.code is ErrorCode.DENIED
    assert asked == []


def test_the_guard_is_not_consulted_for_invalid_arguments():
    seen = []
    spec = echo_spec(schema={"type": "object", "required": ["to"]})
    execute_batch_sync([call("c1")], [spec], ExecutionOptions(guard=lambda c, s, a: seen.append(a)))
    assert seen == []
