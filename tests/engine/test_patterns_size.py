"""A pattern whose RE2 program is huge is refused: RE2's matching time is linear in the text
but grows with the program too (a program near RE2's memory bound falls back to its NFA and
costs seconds on a long string)."""

from __future__ import annotations

import pytest

from tools_app.engine import ErrorCode, ValidatorCache, execute_batch_sync, validate_arguments
from tools_app.engine.guards import GuardConfigError, parse_guards
from tools_app.engine.patterns import UnsupportedPattern, compile_pattern, problem
from tools_app.schema import schema_findings

from .support import call, echo_spec

HUGE = "[a-z]{1000}" * 68 + "!"


def test_a_huge_pattern_is_refused_with_its_size():
    reason = problem(HUGE)
    assert reason is not None
    assert "this pattern is too large: RE2 compiles it to 68,005 instructions" in reason
    assert "more than 5,000" in reason
    with pytest.raises(UnsupportedPattern, match="too large"):
        compile_pattern(HUGE)


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("^[a-z]{1,64}$", "oslo"),
        ("^\\p{L}+$", "Zürich"),
        ("^[^\\s]{1,255}$", "no-spaces"),
        ("^\\d{4}-\\d{2}-\\d{2}$", "2024-01-02"),
        ("^.{0,500}$", "anything"),
    ],
)
def test_ordinary_patterns_still_pass(pattern, text):
    assert problem(pattern) is None
    assert compile_pattern(pattern).search(text) is not None


def test_the_editor_and_importer_report_it():
    schema = {"type": "object", "properties": {"s": {"type": "string", "pattern": HUGE}}}
    [finding] = schema_findings(schema)
    assert finding.code == "unsupported_pattern"
    assert finding.path == "/properties/s/pattern"
    assert "too large" in finding.message


def test_at_run_time_it_is_the_tool_s_error_and_nothing_is_matched():
    spec = echo_spec(
        "t", {"type": "object", "properties": {"s": {"type": "string", "pattern": HUGE}}}
    )
    [result] = execute_batch_sync([call("c1", "t", {"s": "a" * 20_000})], [spec]).results
    assert result.error is not None and result.error.code is ErrorCode.EXECUTION_ERROR
    assert "too large" in result.error.message
    assert result.error.details == {"schema_pointer": "/properties/s/pattern"}
    assert validate_arguments(spec, {"s": "a"}, ValidatorCache()).code is ErrorCode.EXECUTION_ERROR


def test_a_guard_with_a_huge_pattern_is_refused():
    with pytest.raises(GuardConfigError, match="this pattern is too large"):
        parse_guards([{"kind": "pattern", "pointer": "/q", "deny": HUGE}])
