"""Parsing the raw argument string: INVALID_JSON positions, empty arguments, non-objects."""

from __future__ import annotations

import pytest

from tools_app.engine import ErrorCode, execute_batch_sync, parse_arguments

from .support import body, call, echo_spec


def test_invalid_json_reports_line_column_and_position():
    raw = '{\n  "city": "Paris",\n  "days": \n}'
    arguments, error = parse_arguments(raw)
    assert arguments is None
    assert error.code is ErrorCode.INVALID_JSON
    assert error.details["line"] == 4
    assert error.details["column"] == 1
    assert error.details["position"] == raw.index("}")
    assert "line 4 column 1" in error.message


def test_truncated_json_points_at_its_end():
    raw = '{"city": "Par'
    _, error = parse_arguments(raw)
    assert error.code is ErrorCode.INVALID_JSON
    assert error.details["line"] == 1
    assert error.details["position"] == 9  # the unterminated string starts here


@pytest.mark.parametrize("raw", ["", "   ", "\n\t ", None])
def test_empty_or_whitespace_means_no_arguments(raw):
    assert parse_arguments(raw) == ({}, None)


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("[1, 2]", "array"),
        ("42", "number"),
        ('"text"', "string"),
        ("null", "null"),
        ("true", "boolean"),
    ],
)
def test_json_that_is_not_an_object_is_a_validation_error(raw, kind):
    _, error = parse_arguments(raw)
    assert error.code is ErrorCode.VALIDATION_ERROR
    assert kind in error.message


@pytest.mark.parametrize("raw", ["NaN", '{"x": Infinity}', '{"x": -Infinity}'])
def test_non_standard_constants_are_invalid_json(raw):
    _, error = parse_arguments(raw)
    assert error.code is ErrorCode.INVALID_JSON


def test_absurd_nesting_is_invalid_json_not_a_crash():
    _, error = parse_arguments("[" * 100_000 + "]" * 100_000)
    assert error.code is ErrorCode.INVALID_JSON


def test_already_parsed_arguments_are_accepted():
    assert parse_arguments({"a": 1}) == ({"a": 1}, None)


def test_engine_reports_invalid_json_in_the_error_model():
    batch = execute_batch_sync([call("c1", arguments="{oops")], [echo_spec()])
    [result] = batch.results
    assert result.status == "error"
    assert body(result) == {
        "success": False,
        "error": {
            "code": "INVALID_JSON",
            "message": result.error.message,
            "details": {
                "line": 1,
                "column": 2,
                "position": 1,
                "reason": "Expecting property name enclosed in double quotes",
            },
        },
    }
    assert result.parsed_arguments is None
    assert result.attempts == 0


def test_engine_runs_a_call_with_empty_arguments_as_an_empty_object():
    batch = execute_batch_sync([call("c1", arguments="  ")], [echo_spec()])
    [result] = batch.results
    assert result.ok
    assert result.parsed_arguments == {}
    assert body(result)["result"] == {"ok": True, "tool": "echo", "arguments": {}}
