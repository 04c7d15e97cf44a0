"""Tool results and errors holding lone surrogates, NUL or non-finite numbers: escaped visibly
before they are recorded or sent back, so every result is UTF-8 text and fits jsonb."""

from __future__ import annotations

import json

from tools_app.engine import execute_batch_sync
from tools_app.engine.errors import ErrorCode, ToolFailure

from .support import FunctionImpl, call, echo_spec, returning

HOSTILE = {"text": "a\ud800b\x00c", "big": float("inf"), "nan": float("nan"), "k\udfff": 1}


def run(implementation, **options):
    [result] = execute_batch_sync(
        [call("c1", "t")], [echo_spec("t", implementation=implementation, **options)]
    ).results
    return result


def test_a_hostile_result_is_escaped_and_noted():
    result = run(returning(HOSTILE))
    assert result.result == {
        "text": "a\\ud800b\\u0000c",
        "big": "Infinity",
        "nan": "NaN",
        "k\\udfff": 1,
    }
    result.content.encode("utf-8")  # sendable and storable as it is
    assert "lone surrogates and NUL characters were escaped" in json.loads(result.content)["note"]


def test_a_raw_result_is_escaped_too():
    result = run(returning("half \ud83d and NUL \x00"), raw_result=True)
    assert result.content == "half \\ud83d and NUL \\u0000"


def test_a_surrogate_pair_in_halves_is_joined_not_escaped():
    assert run(returning("\ud83d\ude00")).result == "\U0001f600"


def test_an_error_whose_text_is_hostile_is_escaped():
    async def fail(arguments, context):
        raise ToolFailure(ErrorCode.EXECUTION_ERROR, "bad \ud800\x00", {"why": "\udfff"})

    result = run(FunctionImpl(fail))
    assert result.error is not None
    assert result.error.message == "bad \\ud800\\u0000"
    assert result.error.details == {"why": "\\udfff"}
    result.content.encode("utf-8")


def test_an_exception_whose_text_is_hostile_is_escaped():
    async def fail(arguments, context):
        raise ValueError("oops \ud800")

    result = run(FunctionImpl(fail))
    assert result.error is not None
    assert "oops \\ud800" in result.error.message
    result.content.encode("utf-8")
