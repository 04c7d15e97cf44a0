"""Schema validation (Draft 2020-12): every failing JSON pointer reported; validators cached."""

from __future__ import annotations

from tools_app.engine import ErrorCode, ValidatorCache, execute_batch_sync, validate_arguments

from .support import body, call, echo_spec

SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 1},
        "days": {"type": "integer", "minimum": 1, "maximum": 14},
        "units": {"enum": ["metric", "imperial"]},
        "stops": {"type": "array", "items": {"type": "object", "required": ["name"]}},
    },
    "required": ["city"],
    "additionalProperties": False,
}


def test_valid_arguments_pass():
    assert validate_arguments(echo_spec(schema=SCHEMA), {"city": "Oslo", "days": 3}) is None


def test_every_failure_is_listed_with_its_pointer():
    error = validate_arguments(
        echo_spec(schema=SCHEMA),
        {"days": 0, "units": "kelvin", "stops": [{"name": "a"}, {}], "extra/key": 1},
    )
    assert error.code is ErrorCode.VALIDATION_ERROR
    pointers = sorted(e["pointer"] for e in error.details["errors"])
    assert pointers == ["", "", "/days", "/stops/1", "/units"]
    messages = {(e["pointer"], e["keyword"]): e["message"] for e in error.details["errors"]}
    assert messages[("", "required")] == "'city' is a required property"
    assert messages[("/stops/1", "required")] == "'name' is a required property"
    assert "extra/key" in messages[("", "additionalProperties")]
    assert "(and 4 more)" in error.message


def test_pointer_tokens_are_escaped():
    schema = {"type": "object", "properties": {"a/b": {"properties": {"c~d": {"type": "string"}}}}}
    error = validate_arguments(echo_spec(schema=schema), {"a/b": {"c~d": 1}})
    assert error.details["errors"][0]["pointer"] == "/a~1b/c~0d"


def test_validation_happens_in_the_engine_and_the_tool_does_not_run():
    spec = echo_spec(schema=SCHEMA)
    [result] = execute_batch_sync([call("c1", arguments={"city": 5})], [spec]).results
    assert body(result)["error"]["code"] == "VALIDATION_ERROR"
    assert result.attempts == 0 and result.started_at is None
    assert result.parsed_arguments == {"city": 5}


def test_an_invalid_schema_is_the_tool_s_fault_not_the_call_s():
    spec = echo_spec(schema={"type": "object", "properties": {"x": {"type": "nonsense"}}})
    [result] = execute_batch_sync([call("c1", arguments={"x": 1})], [spec]).results
    assert result.error.code is ErrorCode.EXECUTION_ERROR
    assert "schema is invalid" in result.error.message


def test_validators_are_compiled_once_per_version_key():
    cache = ValidatorCache()
    spec = echo_spec(schema=SCHEMA, version_key="tool-1@3")
    for _ in range(5):
        validate_arguments(spec, {"city": "x"}, cache)
    assert cache.compiled == 1
    # a new version key compiles again, even for the same schema
    validate_arguments(echo_spec(schema=SCHEMA, version_key="tool-1@4"), {"city": "x"}, cache)
    assert cache.compiled == 2


def test_validators_without_version_key_are_keyed_by_schema_content():
    cache = ValidatorCache()
    first = echo_spec(schema={"type": "object", "required": ["a"]})
    same_content = echo_spec(schema={"required": ["a"], "type": "object"})
    other = echo_spec(schema={"type": "object", "required": ["b"]})
    validate_arguments(first, {}, cache)
    validate_arguments(same_content, {}, cache)
    assert cache.compiled == 1
    assert validate_arguments(other, {"a": 1}, cache) is not None
    assert cache.compiled == 2


def test_cache_is_bounded():
    cache = ValidatorCache(maxsize=2)
    for i in range(5):
        validate_arguments(echo_spec(schema={"type": "object"}, version_key=str(i)), {}, cache)
    assert len(cache._entries) == 2
