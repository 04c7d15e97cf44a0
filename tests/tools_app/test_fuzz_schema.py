"""Hostile input never crashes the schema editor, the normaliser or the importer."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from tests.support.hostile import assert_clean, hostile_json_text, hostile_schema, hostile_text
from tools_app.importers import ImportFormatError, parse_import
from tools_app.schema import check_tool, lint, normalise_schema

KEYWORDS = [
    "type",
    "properties",
    "required",
    "items",
    "anyOf",
    "oneOf",
    "allOf",
    "not",
    "enum",
    "default",
    "description",
    "minimum",
    "maximum",
    "pattern",
    "format",
    "$ref",
    "$defs",
    "additionalProperties",
    "prefixItems",
    "minLength",
    "exclusiveMinimum",
    "dependencies",
    "name",
    "parameters",
    "function",
    "functions",
    "tools",
    "strict",
]
TYPE_NAMES = [
    "object",
    "dict",
    "float",
    "int",
    "str",
    "bool",
    "list",
    "tuple",
    "any",
    "None",
    "null",
    "string",
    "array",
    "integer",
    "number",
    "boolean",
    "enum",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**6), max_value=10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([*TYPE_NAMES, "#", "#/$defs/a", "([", "5", "true"])
    | st.text(max_size=8)
)
keys = st.sampled_from(KEYWORDS) | st.text(max_size=6)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=30,
)
texts = st.text(max_size=200) | json_values.map(json.dumps)

FUZZ = settings(
    max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@FUZZ
@given(
    name=st.text(max_size=70),
    description=st.text(max_size=20),
    parameters=json_values,
    strict=st.booleans(),
)
def test_check_tool_never_raises(
    name: str, description: str, parameters: object, strict: bool
) -> None:
    as_dict = check_tool(name=name, description=description, parameters=parameters, strict=strict)  # type: ignore[arg-type]
    as_text = check_tool(
        name=name, description=description, parameters=json.dumps(parameters), strict=strict
    )
    if not isinstance(parameters, str):
        assert [f.code for f in as_dict.errors] == [f.code for f in as_text.errors]
    if isinstance(parameters, dict):
        lint(name, description, parameters)


@FUZZ
@given(text=st.text(max_size=200))
def test_check_tool_on_any_text(text: str) -> None:
    check = check_tool(name="t_x", description="", parameters=text)
    assert check.ok or check.errors


@FUZZ
@given(schema=json_values)
def test_normalise_gives_valid_idempotent_schemas(schema: object) -> None:
    result, notes = normalise_schema(schema)
    Draft202012Validator.check_schema(result)
    assert isinstance(result, dict)
    assert normalise_schema(result) == (result, [])
    assert all(isinstance(note, str) for note in notes)


@FUZZ
@given(text=texts)
def test_parse_import_only_raises_import_format_error(text: str) -> None:
    try:
        result = parse_import(text)
    except ImportFormatError as exc:
        assert str(exc)
        return
    names = [tool.name for tool in result.tools]
    assert len(names) == len(set(names))
    for tool in result.tools:
        assert check_tool(
            name=tool.name,
            description=tool.description,
            parameters=tool.parameters,
            strict=tool.strict,
        ).ok


@FUZZ
@given(entries=st.lists(json_values, min_size=1, max_size=5))
def test_parse_import_of_entry_lists(entries: list) -> None:
    wrapped = [
        {"name": "f", "parameters": entry} if i % 2 else entry for i, entry in enumerate(entries)
    ]
    for text in (json.dumps(wrapped), "\n".join(json.dumps(e) for e in wrapped)):
        try:
            result = parse_import(text, taken={"f"})
        except ImportFormatError:
            continue
        assert "f" not in {t.name for t in result.tools}
        assert all(r.reason for r in result.rejected)


# -- hostile values (tests/support/hostile.py) ------------------------------------------------


@FUZZ
@given(text=hostile_json_text)
def test_check_tool_on_hostile_json(text: str) -> None:
    check = check_tool(name="t_x", description="", parameters=text)
    assert check.ok or check.errors
    if check.parameters is not None:
        assert_clean(check.parameters)
    for finding in check.errors + check.warnings:
        finding.message.encode("utf-8")


@FUZZ
@given(schema=hostile_schema(), description=hostile_text)
def test_check_tool_on_hostile_schemas(schema: dict, description: str) -> None:
    check = check_tool(name="t_x", description=description, parameters=json.dumps(schema))
    assert_clean(check.parameters)
    unsupported = [f for f in check.errors if f.code == "unsupported_pattern"]
    if any(p in json.dumps(schema) for p in ("\\\\1", "(?=", "(?!", "(?<")):
        assert unsupported and all(f.path.startswith("/") for f in unsupported)
    for finding in check.errors + check.warnings:
        finding.message.encode("utf-8")


@FUZZ
@given(
    entries=st.lists(
        st.fixed_dictionaries(
            {"name": st.sampled_from(["f", "g"])},
            optional={"description": hostile_text, "parameters": hostile_schema()},
        ),
        min_size=1,
        max_size=3,
    ),
    text=hostile_json_text,
)
def test_imports_of_hostile_values_are_clean(entries: list, text: str) -> None:
    for source in (json.dumps(entries), text):
        try:
            result = parse_import(source)
        except ImportFormatError as exc:
            str(exc).encode("utf-8")
            continue
        for tool in result.tools:
            assert_clean([tool.name, tool.description, tool.parameters, tool.changes])
        for rejection in result.rejected:
            assert_clean([rejection.name, rejection.reason])
