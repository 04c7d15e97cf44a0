"""``uniqueItems`` is checked in linear time with JSON Schema's equality: a model's array of
thousands of mixed or object items must not cost a comparison of every pair."""

from __future__ import annotations

import jsonschema._utils
import pytest
from jsonschema import Draft202012Validator

from tools_app.engine import ErrorCode, ValidatorCache, validate_arguments
from tools_app.engine import unique_items as unique_module
from tools_app.engine.patterns import Validator

from .support import echo_spec

UNIQUE = {"type": "array", "uniqueItems": True}
TAGS = {
    "type": "object",
    "properties": {
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True, "maxItems": 20}
    },
}


class TooMuchWork(Exception):
    pass


@pytest.fixture
def equal_calls(monkeypatch):
    """Counts jsonschema's pairwise comparisons; stops a quadratic run well before it ends."""
    counted = {"calls": 0}
    original = jsonschema._utils.equal

    def counting(one, two):
        counted["calls"] += 1
        if counted["calls"] > 100_000:
            raise TooMuchWork(counted["calls"])
        return original(one, two)

    monkeypatch.setattr(jsonschema._utils, "equal", counting)
    return counted


@pytest.mark.parametrize(
    "items",
    [
        [1, 1.0],
        [True, 1],
        [False, 0],
        [None, False],
        [0, 0.0, -0.0],
        [1, "1"],
        [[1, 2], [2, 1]],
        [[1, 2], [1.0, 2.0]],
        [[True], [1]],
        [{"a": 1, "b": 2}, {"b": 2, "a": 1}],
        [{"a": 1}, {"a": 1.0}],
        [{"a": True}, {"a": 1}],
        [{"a": 1}, {"a": 1, "b": None}],
        [{"a": [1, {"b": 2}]}, {"a": [1.0, {"b": 2.0}]}],
        [{"a": [1, {"b": 2}]}, {"a": [{"b": 2}, 1]}],
        [[], {}],
        ["", None],
        [10**20, 1e20],
        [10**300, 1e300],
        [0.5, 0.5],
        [0.1, 0.1 + 2**-56],
        ["a", "b", "a"],
        [1, "a", [1], {"a": 1}, True, None, 1.5],
    ],
)
def test_equality_is_json_schema_s(items):
    expected = Draft202012Validator(UNIQUE).is_valid(items)
    assert Validator(UNIQUE).is_valid(items) is expected


def test_the_error_reads_as_jsonschema_s():
    [ours] = Validator(UNIQUE).iter_errors([{"a": 1}, {"a": 1.0}])
    [theirs] = Draft202012Validator(UNIQUE).iter_errors([{"a": 1}, {"a": 1.0}])
    assert ours.message == theirs.message == "[{'a': 1}, {'a': 1.0}] has non-unique elements"
    assert ours.validator == "uniqueItems"


def test_fifty_thousand_mixed_items_are_not_compared_pairwise(equal_calls):
    mixed = [i if i % 2 else str(i) for i in range(50_000)]
    assert Validator(UNIQUE).is_valid(mixed)
    assert not Validator(UNIQUE).is_valid([*mixed, "0"])
    error = validate_arguments(echo_spec(schema=TAGS), {"tags": mixed}, ValidatorCache())
    assert error is not None and error.code is ErrorCode.VALIDATION_ERROR
    assert equal_calls["calls"] == 0


def test_object_items_cost_one_look_at_each_value(equal_calls, monkeypatch):
    looked = {"values": 0}
    original = unique_module.canonical

    def counting(value, depth=0):
        looked["values"] += 1
        return original(value, depth)

    monkeypatch.setattr(unique_module, "canonical", counting)
    objects = [{"id": i, "name": str(i)} for i in range(5_000)]
    assert Validator(UNIQUE).is_valid(objects)
    # each object, its two keys and its two values
    assert looked["values"] == 5 * 5_000
    assert equal_calls["calls"] == 0


def test_items_nested_too_deep_make_the_schema_unusable_not_a_crash():
    deep: list = []
    for _ in range(unique_module.MAX_DEPTH + 5):
        deep = [deep]
    spec = echo_spec(schema={"type": "object", "properties": {"x": UNIQUE}})
    error = validate_arguments(spec, {"x": [deep, 1]}, ValidatorCache())
    assert error is not None and error.code is ErrorCode.EXECUTION_ERROR
    assert "cannot be applied" in error.message and "levels deep" in error.message
