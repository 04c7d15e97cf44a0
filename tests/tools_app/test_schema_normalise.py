"""normalise_schema: near-JSON-Schema dialects become valid Draft 2020-12."""

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from tools_app.schema import check_tool, normalise_schema

BFCL = Path("/work/shared/data/bfcl")


def normalised(schema: object) -> tuple[dict, list[str]]:
    result, notes = normalise_schema(schema)
    Draft202012Validator.check_schema(result)
    assert normalise_schema(result) == (result, [])
    return result, notes


def test_bfcl_types() -> None:
    result, notes = normalised(
        {
            "type": "dict",
            "properties": {
                "price": {"type": "float"},
                "n": {"type": "int"},
                "s": {"type": "str"},
                "flag": {"type": "bool"},
                "xs": {"type": "list", "items": {"type": "double"}},
                "pair": {"type": "tuple", "items": {"type": "integer"}},
                "whatever": {"type": "any", "description": "Anything."},
                "maybe": {"type": ["str", "None"]},
            },
        }
    )
    props = result["properties"]
    assert result["type"] == "object"
    assert props["price"] == {"type": "number"}
    assert props["n"] == {"type": "integer"}
    assert props["s"] == {"type": "string"}
    assert props["flag"] == {"type": "boolean"}
    assert props["xs"] == {"type": "array", "items": {"type": "number"}}
    assert props["pair"] == {"type": "array", "items": {"type": "integer"}}
    assert props["whatever"] == {"description": "Anything."}
    assert props["maybe"] == {"type": ["string", "null"]}
    assert "/properties/price/type: type 'float' → 'number'" in notes
    assert "/type: type 'dict' → 'object'" in notes
    assert any(
        n.startswith("/properties/pair/type: type 'tuple' → 'array' (a tuple") for n in notes
    )
    assert "/properties/whatever/type: type 'any' allows anything; type constraint removed" in notes


def test_required_repairs() -> None:
    result, notes = normalised(
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a", "b", "a", 3]}
    )
    assert result["required"] == ["a"]
    assert notes == [
        "/required: 'b' is not among the properties; removed",
        "/required: 'a' listed twice; kept once",
        "/required: 3 is not a property name; removed",
    ]
    result, notes = normalised({"type": "object", "properties": {"a": {}}, "required": "a"})
    assert result["required"] == ["a"]
    result, notes = normalised({"type": "object", "properties": {"a": {}}, "required": {"a": 1}})
    assert "required" not in result


def test_properties_not_an_object() -> None:
    result, notes = normalised({"type": "object", "properties": ["a", "b"]})
    assert result == {"type": "object"}
    assert notes == ['/properties: ["a","b"] is not an object; removed']


@pytest.mark.parametrize(
    ("prop", "fixed", "note"),
    [
        ({"type": "integer", "default": "5"}, {"type": "integer", "default": 5}, '"5" → 5'),
        (
            {"type": "boolean", "default": "true"},
            {"type": "boolean", "default": True},
            '"true" → true',
        ),
        ({"type": "number", "default": "2.5"}, {"type": "number", "default": 2.5}, '"2.5" → 2.5'),
        ({"type": "integer", "default": 3.0}, {"type": "integer", "default": 3.0}, None),
        ({"type": "string", "default": 7}, {"type": "string", "default": "7"}, '7 → "7"'),
        ({"type": "array", "default": "[1, 2]"}, {"type": "array", "default": [1, 2]}, None),
        ({"type": "array", "default": "None"}, {"type": "array"}, "removed"),
        ({"type": "integer", "default": "five"}, {"type": "integer"}, "removed"),
    ],
)
def test_defaults(prop: dict, fixed: dict, note: str | None) -> None:
    result, notes = normalised({"type": "object", "properties": {"p": prop}})
    assert result["properties"]["p"] == fixed
    if note:
        assert (
            len(notes) == 1 and note in notes[0] and notes[0].startswith("/properties/p/default: ")
        )


def test_top_level_shapes() -> None:
    assert normalised(None) == (
        {"type": "object", "properties": {}},
        ["top level: no schema; no arguments"],
    )
    result, notes = normalised([1, 2])
    assert result == {"type": "object", "properties": {}}
    assert notes == ["top level: [1,2] is not a schema; replaced by an empty object schema"]
    result, notes = normalised({"properties": {"a": {"type": "string"}}})
    assert result == {"type": "object", "properties": {"a": {"type": "string"}}}
    assert notes == ["top level: type 'object' added"]


def test_nested_shapes_are_repaired() -> None:
    result, notes = normalised(
        {
            "type": "object",
            "properties": {
                "a": "string",
                "b": {"type": "array", "items": [{"type": "int"}, {"type": "str"}]},
                "c": {"anyOf": [{"type": "float"}, 5]},
                "d": {"type": "string", "pattern": "([", "minLength": "2", "maxLength": -1},
                "e": {"type": "object", "additionalProperties": {"type": "dict"}},
            },
            "$defs": {"x": {"type": "long"}},
        }
    )
    props = result["properties"]
    assert props["a"] == {"type": "string"}
    assert props["b"] == {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}]}
    assert props["c"] == {"anyOf": [{"type": "number"}, {}]}
    assert props["d"] == {"type": "string", "minLength": 2}
    assert props["e"]["additionalProperties"] == {"type": "object"}
    assert result["$defs"] == {"x": {"type": "integer"}}
    assert "/properties/b/items: list of schemas → prefixItems" in notes


def test_valid_schema_is_untouched() -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City."}},
        "required": ["city"],
        "additionalProperties": False,
    }
    assert normalise_schema(schema) == (schema, [])


@pytest.mark.parametrize("filename", ["BFCL_v4_parallel.json", "BFCL_v4_simple_python.json"])
def test_every_bfcl_schema_normalises(filename: str) -> None:
    for line in (BFCL / filename).read_text().splitlines():
        for function in json.loads(line)["function"]:
            result, _ = normalised(function["parameters"])
            assert result["type"] == "object"


def test_the_importer_and_the_editor_share_the_required_rule() -> None:
    one_of_two = {
        "type": "object",
        "properties": {"email": {"type": "string"}, "phone": {"type": "string"}},
        "anyOf": [{"required": ["email"]}, {"required": ["phone"]}],
    }
    assert normalised(one_of_two) == (one_of_two, [])
    result, notes = normalised({"required": ["x"]})
    assert result == {"type": "object"}
    assert notes == [
        "top level: type 'object' added",
        "/required: 'x' is not among the properties; removed",
    ]
    assert check_tool(name="tool_x", description="", parameters=result).ok
