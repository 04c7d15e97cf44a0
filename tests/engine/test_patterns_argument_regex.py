"""A model's string under ``format: regex`` is compiled to check it and dropped: never cached
(each distinct one would hold megabytes for the life of the process), within a small budget.
The tool's own patterns stay compiled once."""

from __future__ import annotations

from tools_app.engine import ErrorCode, ValidatorCache, validate_arguments
from tools_app.engine.patterns import _compiled, compile_pattern, problem

from .support import echo_spec

REGEX_ARGUMENT = {"type": "object", "properties": {"r": {"type": "string", "format": "regex"}}}


def test_distinct_argument_patterns_do_not_grow_the_pattern_cache():
    spec = echo_spec("t", REGEX_ARGUMENT)
    cache = ValidatorCache()
    assert validate_arguments(spec, {"r": "^warm$"}, cache) is None
    before = _compiled.cache_info().currsize
    for index in range(10):
        assert (
            validate_arguments(spec, {"r": f"^(?:x{index}|[a-z]{{1,{index + 2}}})$"}, cache) is None
        )
    assert _compiled.cache_info().currsize == before


def test_argument_patterns_are_still_checked():
    spec = echo_spec("t", REGEX_ARGUMENT)
    for bad in ["(a)\\1", "(", "[a-z]{1000}" * 68 + "!"]:
        error = validate_arguments(spec, {"r": bad}, ValidatorCache())
        assert error is not None and error.code is ErrorCode.VALIDATION_ERROR, bad
        assert error.details["errors"][0]["pointer"] == "/r"


def test_schema_patterns_are_still_compiled_once():
    pattern = "^only-in-this-test-[0-9]+$"
    spec = echo_spec("t", {"type": "object", "properties": {"s": {"pattern": pattern}}})
    before = _compiled.cache_info().currsize
    assert validate_arguments(spec, {"s": "only-in-this-test-7"}, ValidatorCache()) is None
    assert _compiled.cache_info().currsize == before + 1
    assert compile_pattern(pattern) is compile_pattern(pattern)
    assert problem(pattern) is None
