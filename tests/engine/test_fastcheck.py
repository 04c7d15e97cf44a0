"""The fast acceptance check agrees with jsonschema on every schema it accepts to handle."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from tools_app.engine.fastcheck import compile_fast_check, json_equal

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.sampled_from([0.0, 1.0, 2.5, -1.0, 1e300]),
    st.sampled_from(["", "a", "ab", "abc", "x" * 5, "é"]),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(["a", "b", "c"]), children, max_size=3),
    ),
    max_leaves=10,
)
TYPES = ["object", "string", "integer", "number", "boolean", "null", "array"]


def schemas() -> st.SearchStrategy:
    def extend(children: st.SearchStrategy) -> st.SearchStrategy:
        return st.fixed_dictionaries(
            {},
            optional={
                "type": st.one_of(
                    st.sampled_from(TYPES),
                    st.lists(st.sampled_from(TYPES), min_size=1, max_size=3, unique=True),
                ),
                "properties": st.dictionaries(
                    st.sampled_from(["a", "b", "c"]), children, max_size=3
                ),
                "required": st.lists(st.sampled_from(["a", "b", "c"]), max_size=3, unique=True),
                "additionalProperties": children,
                "enum": st.lists(values, min_size=1, max_size=3),
                "const": values,
                "minimum": st.integers(-3, 3),
                "maximum": st.sampled_from([0, 1.5, 3]),
                "exclusiveMinimum": st.integers(-3, 3),
                "exclusiveMaximum": st.sampled_from([0, 2.5, 4]),
                "minLength": st.integers(0, 3),
                "maxLength": st.integers(0, 3),
                "items": children,
                "minItems": st.integers(0, 2),
                "maxItems": st.integers(0, 3),
                "minProperties": st.integers(0, 2),
                "maxProperties": st.integers(0, 3),
                "description": st.just("annotations are ignored"),
            },
        )

    return st.recursive(st.one_of(st.booleans(), extend(st.booleans())), extend, max_leaves=6)


@settings(max_examples=200, deadline=None)
@given(schemas(), st.lists(values, min_size=1, max_size=5))
def test_fast_check_matches_jsonschema_exactly(schema, instances):
    fast = compile_fast_check(schema)
    assert fast is not None, schema
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for instance in instances:
        assert fast(instance) == validator.is_valid(instance), (schema, instance)


def test_schemas_beyond_the_plain_subset_are_left_to_jsonschema():
    for schema in [
        {"type": "string", "pattern": "^a"},
        {"type": "string", "format": "email"},
        {"$ref": "#/$defs/x", "$defs": {"x": {}}},
        {"anyOf": [{"type": "string"}]},
        {"properties": {"a": {"oneOf": []}}},
        {"type": "number", "multipleOf": 0.1},
        {"type": "array", "uniqueItems": True},
        {"$schema": "https://json-schema.org/draft/2020-12/schema"},
        ["not", "a", "schema"],
    ]:
        assert compile_fast_check(schema) is None, schema


def test_json_equality_follows_json_schema():
    assert json_equal(1, 1.0)
    assert not json_equal(True, 1)
    assert not json_equal(0, False)
    assert json_equal({"a": [1, True]}, {"a": [1.0, True]})
    assert not json_equal({"a": [1]}, {"a": [True]})
    assert not json_equal("1", 1)
