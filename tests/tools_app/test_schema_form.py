"""form_for_schema / arguments_from_form: a form generated from a parameters schema."""

import json
from pathlib import Path

from django import forms

from tools_app.importers import parse_import
from tools_app.schema_form import (
    JSONArgumentField,
    OptionalBooleanField,
    arguments_from_form,
    form_for_schema,
)

SCHEMA = {
    "type": "object",
    "properties": {
        "city name": {"type": "string", "description": "The city to look up."},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 14},
        "ratio": {"type": "number", "exclusiveMinimum": 0},
        "alerts": {"type": "boolean"},
        "hourly": {"type": "boolean"},
        "when": {"type": "string", "format": "date"},
        "email": {"type": "string", "format": "email"},
        "site": {"type": "string", "format": "uri"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "where": {"type": "object"},
        "level": {"enum": [1, 2, 3]},
        "nick": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "odd": {"type": ["string", "integer"]},
    },
    "required": ["city name", "alerts", "tags"],
}


def field_classes(form: forms.Form) -> dict[str, type]:
    return {name: type(field) for name, field in form.fields.items()}


def test_field_classes() -> None:
    form = form_for_schema(SCHEMA)
    assert field_classes(form) == {
        "city_name": forms.CharField,
        "unit": forms.ChoiceField,
        "days": forms.IntegerField,
        "ratio": forms.FloatField,
        "alerts": forms.BooleanField,
        "hourly": OptionalBooleanField,
        "when": forms.DateField,
        "email": forms.EmailField,
        "site": forms.URLField,
        "tags": JSONArgumentField,
        "where": JSONArgumentField,
        "level": forms.TypedChoiceField,
        "nick": forms.CharField,
        "odd": JSONArgumentField,
    }
    assert form.schema_property_names["city_name"] == "city name"
    city = form.fields["city_name"]
    assert (city.label, city.help_text, city.required) == (
        "city name",
        "The city to look up.",
        True,
    )
    assert form.fields["alerts"].required is False
    assert (form.fields["days"].min_value, form.fields["days"].max_value) == (1, 14)
    assert form.fields["when"].widget.input_type == "date"
    assert "monospace" in form.fields["tags"].widget.attrs["class"]
    assert form.prefix == "arg"


def test_round_trip_typed_values() -> None:
    data = {
        "arg-city_name": "Paris",
        "arg-unit": "celsius",
        "arg-days": "3",
        "arg-ratio": "0.5",
        "arg-alerts": "on",
        "arg-hourly": "false",
        "arg-when": "2025-01-31",
        "arg-email": "",
        "arg-site": "https://example.com/x",
        "arg-tags": '["a", "b"]',
        "arg-where": "",
        "arg-level": "2",
        "arg-nick": "",
    }
    form = form_for_schema(SCHEMA, data)
    assert form.is_valid(), form.errors
    assert arguments_from_form(form, SCHEMA) == {
        "city name": "Paris",
        "unit": "celsius",
        "days": 3,
        "ratio": 0.5,
        "alerts": True,
        "hourly": False,
        "when": "2025-01-31",
        "site": "https://example.com/x",
        "tags": ["a", "b"],
        "level": 2,
    }


def test_required_boolean_unchecked_is_false_and_optional_left_out() -> None:
    form = form_for_schema(SCHEMA, {"arg-city_name": "Oslo", "arg-tags": "[]"})
    assert form.is_valid(), form.errors
    assert arguments_from_form(form, SCHEMA) == {"city name": "Oslo", "alerts": False, "tags": []}


def test_errors() -> None:
    form = form_for_schema(
        SCHEMA,
        {
            "arg-city_name": "",
            "arg-days": "20",
            "arg-ratio": "0",
            "arg-tags": "[1,",
            "arg-where": "[1]",
        },
    )
    assert not form.is_valid()
    assert form.errors["city_name"] == ["This field is required."]
    assert form.errors["days"] == ["Ensure this value is less than or equal to 14."]
    assert form.errors["ratio"] == ["Must be greater than 0."]
    assert form.errors["tags"] == ["Not valid JSON: Expecting value at line 1, column 4."]
    assert form.errors["where"] == ['Expected a JSON object, like {"a": 1}.']


def test_unsafe_property_names_get_safe_unique_fields() -> None:
    schema = {
        "type": "object",
        "properties": {"a b": {}, "a-b": {}, "9": {}, "": {}, "é": {"type": "string"}},
    }
    form = form_for_schema(schema)
    assert form.schema_property_names == {
        "a_b": "a b",
        "a_b_2": "a-b",
        "p_9": "9",
        "field": "",
        "field_2": "é",
    }


def test_any_schema_gives_a_form() -> None:
    for schema in (
        None,
        [],
        {"properties": [1]},
        {"properties": {"a": None, "b": 5, "c": {"type": 7}}},
        {"properties": {"a": {"$ref": "#/$defs/x"}}, "$defs": {"x": {"$ref": "#/$defs/x"}}},
        {"properties": {"a": {"type": "string", "pattern": "(["}}},
    ):
        form = form_for_schema(schema, {})  # type: ignore[arg-type]
        form.is_valid()
        assert all(isinstance(f, forms.Field) for f in form.fields.values())


def test_ref_to_defs() -> None:
    schema = {
        "type": "object",
        "properties": {"unit": {"$ref": "#/$defs/unit"}},
        "$defs": {"unit": {"type": "string", "enum": ["c", "f"]}},
    }
    assert field_classes(form_for_schema(schema)) == {"unit": forms.ChoiceField}


def test_bfcl_normalised_schema() -> None:
    line = (Path("/work/shared/data/bfcl") / "BFCL_v4_parallel.json").read_text().splitlines()[0]
    tool = parse_import(line).tools[0]
    form = form_for_schema(tool.parameters, {"arg-artist": "Taylor Swift", "arg-duration": "20"})
    assert field_classes(form) == {"artist": forms.CharField, "duration": forms.IntegerField}
    assert form.is_valid()
    assert arguments_from_form(form, tool.parameters) == {"artist": "Taylor Swift", "duration": 20}
    assert json.dumps(arguments_from_form(form, tool.parameters))
