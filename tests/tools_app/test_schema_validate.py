"""check_tool errors: what blocks saving a tool."""

from tools_app.schema import (
    Finding,
    check_tool,
    legal_name,
    parse_json,
    strict_findings,
    tools_entry,
)

WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name, e.g. Paris."},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Unit."},
    },
    "required": ["city"],
}


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def test_valid_tool_is_ok() -> None:
    check = check_tool(name="get_weather", description="Current weather.", parameters=WEATHER)
    assert check.ok
    assert check.errors == []
    assert check.parameters == WEATHER
    assert check.token_estimate > 0


def test_invalid_json_reports_line_and_column() -> None:
    check = check_tool(name="get_weather", description="", parameters='{"type": "object",\n "x" 1}')
    assert not check.ok
    assert check.parameters is None
    [error] = check.errors
    assert error.code == "invalid_json"
    assert (error.line, error.column) == (2, 6)
    assert error.message == "Not valid JSON: Expecting ':' delimiter at line 2, column 6."
    assert error.field == "parameters"


def test_empty_parameters_text() -> None:
    value, finding = parse_json("  \n")
    assert value is None
    assert finding is not None and finding.code == "empty_parameters"
    assert finding.message.startswith("Parameters are empty")


def test_nan_and_huge_numbers_are_not_json() -> None:
    assert parse_json('{"a": NaN}')[1].code == "invalid_json"
    assert parse_json('{"a": 1e400}')[1].code == "invalid_json"


def test_each_meta_schema_error_with_its_path() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "strin"}, "b": {"minimum": "x"}},
        "required": "a",
    }
    check = check_tool(name="t_ok", description="", parameters=schema)
    paths = [f.path for f in check.errors if f.code == "not_a_schema"]
    assert paths == ["/properties/a/type", "/properties/b/minimum", "/required"]
    assert check.errors[0].message.startswith("Not a valid JSON Schema at /properties/a/type:")


def test_top_level_must_be_object() -> None:
    assert codes(check_tool(name="x_y", description="", parameters={"type": "string"}).errors) == [
        "top_level_not_object"
    ]
    assert codes(check_tool(name="x_y", description="", parameters={}).errors) == [
        "top_level_not_object"
    ]
    assert "top_level_not_object" in codes(
        check_tool(name="x_y", description="", parameters="[1]").errors
    )


def test_no_properties_means_no_arguments() -> None:
    assert check_tool(name="x_y", description="", parameters={"type": "object"}).ok


def test_bad_names() -> None:
    [empty] = check_tool(name="", description="", parameters=WEATHER).errors
    assert (empty.code, empty.message, empty.field) == ("bad_name", "The name is empty.", "name")
    [dots] = check_tool(name="spotify.play now", description="", parameters=WEATHER).errors
    assert dots.message == (
        "The name may only use letters, digits, '_' and '-'; it contains ' ' '.'."
    )
    [long] = check_tool(name="a" * 65, description="", parameters=WEATHER).errors
    assert long.message == "The name is 65 characters long; the limit is 64."
    assert check_tool(name="a" * 64, description="", parameters=WEATHER).ok


def test_duplicate_name_is_case_sensitive() -> None:
    check = check_tool(
        name="get_weather", description="", parameters=WEATHER, taken_names={"get_weather"}
    )
    assert codes(check.errors) == ["duplicate_name"]
    assert check_tool(
        name="Get_weather", description="", parameters=WEATHER, taken_names={"get_weather"}
    ).ok


def test_refs_must_resolve_locally_and_not_loop() -> None:
    missing = {"type": "object", "properties": {"a": {"$ref": "#/$defs/nope"}}}
    assert codes(check_tool(name="ab", description="", parameters=missing).errors) == [
        "unresolved_ref"
    ]
    remote = {"type": "object", "properties": {"a": {"$ref": "http://169.254.169.254/x"}}}
    assert codes(check_tool(name="ab", description="", parameters=remote).errors) == ["remote_ref"]
    loop = {
        "type": "object",
        "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}},
    }
    assert codes(check_tool(name="ab", description="", parameters=loop).errors) == ["ref_cycle"]
    tree = {
        "type": "object",
        "$defs": {
            "node": {
                "type": "object",
                "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
            }
        },
        "properties": {"root": {"$ref": "#/$defs/node"}},
    }
    assert check_tool(name="ab", description="", parameters=tree).ok


def test_strict_rules() -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string", "default": "Paris", "minLength": 1},
            "where": {"type": "object", "properties": {"lat": {"type": "number"}}},
            "tags": {
                "type": "array",
                "items": {"type": "object", "properties": {}, "additionalProperties": False},
            },
        },
        "required": ["city"],
    }
    found = {(f.code, f.path) for f in strict_findings(schema)}
    assert found == {
        ("strict_additional_properties", "/additionalProperties"),
        ("strict_required", "/required"),
        ("strict_unsupported_keyword", "/properties/city/default"),
        ("strict_unsupported_keyword", "/properties/city/minLength"),
        ("strict_additional_properties", "/properties/where/additionalProperties"),
        ("strict_required", "/properties/where/required"),
    }
    check = check_tool(name="t_ok", description="", parameters=schema, strict=True)
    assert len(check.errors) == 6
    assert check_tool(name="t_ok", description="", parameters=schema).ok


def test_strict_reaches_defs_and_any_of() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {
                "anyOf": [
                    {"type": "object", "properties": {"x": {"type": "string"}}},
                    {"type": "null"},
                ]
            }
        },
        "$defs": {"d": {"type": "object", "oneOf": [{"type": "string"}]}},
        "required": ["a"],
        "additionalProperties": False,
    }
    found = {(f.code, f.path) for f in strict_findings(schema)}
    assert found == {
        ("strict_additional_properties", "/properties/a/anyOf/0/additionalProperties"),
        ("strict_required", "/properties/a/anyOf/0/required"),
        ("strict_additional_properties", "/$defs/d/additionalProperties"),
        ("strict_unsupported_keyword", "/$defs/d/oneOf"),
    }


def test_hostile_schemas_do_not_crash() -> None:
    deep: dict = {"type": "object"}
    for _ in range(2000):
        deep = {"type": "object", "properties": {"x": deep}}
    assert codes(check_tool(name="ab", description="", parameters=deep).errors) == ["too_deep"]
    text = '{"a":' * 100_000 + "1" + "}" * 100_000
    assert check_tool(name="ab", description="", parameters=text).errors[0].code == "too_deep"
    cyclic: dict = {"type": "object"}
    cyclic["properties"] = {"self": cyclic}
    assert codes(check_tool(name="ab", description="", parameters=cyclic).errors) == ["too_deep"]
    not_json = {"type": "object", "default": {1, 2}}
    assert codes(check_tool(name="ab", description="", parameters=not_json).errors) == ["not_json"]
    for junk in (
        {"type": "object", "properties": [1, None]},
        {"type": "object", "properties": {"a": None}},
    ):
        assert not check_tool(name="ab", description="", parameters=junk, strict=True).ok


def test_tools_entry() -> None:
    entry = tools_entry(name="get_weather", description="d", parameters=WEATHER)
    assert entry == {
        "type": "function",
        "function": {"name": "get_weather", "description": "d", "parameters": WEATHER},
    }
    strict = tools_entry(name="get_weather", description="d", parameters=WEATHER, strict=True)
    assert strict["function"]["strict"] is True


def test_legal_name() -> None:
    assert legal_name("spotify.play") == "spotify_play"
    assert legal_name("a b//c") == "a_b_c"
    assert legal_name("__café__") == "cafe"
    assert legal_name("...") == "tool"
    # Letters are transliterated, not lost; what has no ASCII letter is a separator.
    assert legal_name("émoji_✨_tool") == "emoji_tool"
    assert legal_name("naïve café") == "naive_cafe"
    assert legal_name("\uff26\uff55\uff4c\uff4c") == "Full"  # fullwidth
    assert legal_name("日本語") == "tool"
    assert legal_name("a__b") == "a__b"  # already legal: kept
    assert legal_name("a.b", {"a_b"}) == "a_b_2"
    assert legal_name("a.b", {"a_b", "a_b_2"}) == "a_b_3"
    long = "x" * 70
    assert legal_name(long) == "x" * 64
    assert legal_name(long, {"x" * 64}) == "x" * 62 + "_2"
    assert len(legal_name("y" * 64, {"y" * 64})) == 64


def test_required_names_must_be_properties_at_every_level() -> None:
    schema = {
        "type": "object",
        "properties": {
            "order_id": {"type": "string"},
            "qty": {"type": "integer"},
            "ship_to": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city", "zip", "street"],
            },
        },
        "required": ["order_id", "missing"],
    }
    check = check_tool(name="place_order", description="", parameters=schema)
    assert [(f.code, f.path) for f in check.errors] == [
        ("required_not_a_property", "/required"),
        ("required_not_a_property", "/properties/ship_to/required"),
    ]
    assert check.errors[0].message.startswith("`missing` is required but not among the properties")
    assert check.errors[1].message.startswith(
        "`zip`, `street` are required at /properties/ship_to but not among the properties"
    )


def test_a_branch_that_requires_its_parents_properties_is_fine() -> None:
    one_of_two = {
        "type": "object",
        "properties": {"email": {"type": "string"}, "phone": {"type": "string"}},
        "anyOf": [{"required": ["email"]}, {"required": ["phone"]}],
    }
    assert check_tool(name="contact", description="", parameters=one_of_two).ok
