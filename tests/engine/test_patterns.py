"""Schema patterns are matched by RE2 (linear time); what RE2 cannot express is refused with a
clear message, never handed to a backtracking engine."""

from __future__ import annotations

import pytest

from tools_app.engine import execute_batch_sync
from tools_app.engine.patterns import UnsupportedPattern, compile_pattern, search, translate
from tools_app.engine.validation import ValidatorCache, validate_arguments

from .support import call, echo_spec

# With Python's re, each extra "a" doubles the time: 60 of them would take centuries.
EVIL = "a" * 60 + "!"


def schema(**properties):
    return {"type": "object", "properties": properties}


def test_a_catastrophic_pattern_answers_at_once():
    spec = echo_spec("t", schema(s={"type": "string", "pattern": "^(a+)+$"}))
    error = validate_arguments(spec, {"s": EVIL}, ValidatorCache())
    assert error is not None and error.code.value == "VALIDATION_ERROR"
    assert error.details["errors"][0]["pointer"] == "/s"
    assert validate_arguments(spec, {"s": "aaaa"}, ValidatorCache()) is None


@pytest.mark.parametrize(
    ("keyword", "evil_key_refused"),
    [
        ({"patternProperties": {"^(a+)+$": {"type": "integer"}}}, False),
        ({"patternProperties": {"^(a+)+$": {}}, "additionalProperties": False}, True),
        ({"patternProperties": {"^(a+)+$": {}}, "unevaluatedProperties": False}, True),
    ],
)
def test_catastrophic_pattern_properties_answer_at_once(keyword, evil_key_refused):
    spec = echo_spec("t", {"type": "object", **keyword})
    error = validate_arguments(spec, {EVIL: "x"}, ValidatorCache())
    assert (error is not None) is evil_key_refused
    assert validate_arguments(spec, {"aaa": 1}, ValidatorCache()) is None
    assert validate_arguments(spec, {"aaa": "x", "b": 1}, ValidatorCache()) is not None


def test_format_regex_is_checked_by_re2():
    spec = echo_spec("t", schema(r={"type": "string", "format": "regex"}))
    assert validate_arguments(spec, {"r": "^[a-z]+$"}, ValidatorCache()) is None
    error = validate_arguments(spec, {"r": "(a)\\1"}, ValidatorCache())
    assert error is not None and error.details["errors"][0]["pointer"] == "/r"


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(a)\\1", "backreferences"),
        ("^(?=a)", "lookahead"),
        ("(?<!a)b", "lookbehind"),
    ],
)
def test_what_re2_cannot_express_fails_the_call_with_a_clear_error(pattern, reason):
    spec = echo_spec("t", schema(s={"type": "string", "pattern": pattern}))
    [result] = execute_batch_sync([call("c1", "t", '{"s": "aa"}')], [spec]).results
    assert result.error is not None
    assert result.error.code.value == "EXECUTION_ERROR"
    assert reason in result.error.message
    assert "/properties/s/pattern" in result.error.message
    assert result.error.details == {"schema_pointer": "/properties/s/pattern"}


def test_unsupported_patterns_raise_and_are_never_matched_by_re():
    with pytest.raises(UnsupportedPattern, match="backreferences"):
        compile_pattern("(a)\\1")
    with pytest.raises(UnsupportedPattern):
        search("(a)\\1", "aa")


def test_ecma_unicode_escapes_are_translated():
    assert translate("^\\u00e9\\\\u0041$") == "^\\x{00e9}\\\\u0041$"
    assert search("^\\u00e9$", "\u00e9")
    assert not search("^\\u00e9$", "e")


def test_patterns_are_compiled_once():
    assert compile_pattern("^x+$") is compile_pattern("^x+$")


def test_text_with_a_lone_surrogate_matches_nothing_rather_than_raising():
    assert not search("a", "a\ud800")
