"""Example calls for the lab: schema examples first, then defaults, enums and typed guesses."""

from __future__ import annotations

from conversations.forms import example_arguments

SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "examples": ["Oslo", "Lima"]},
        "unit": {"type": "string", "enum": ["c", "f"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 3},
        "ratio": {"type": "number"},
        "when": {"type": "string", "format": "date"},
        "detailed": {"type": "boolean"},
        "tags": {"type": "array"},
        "limit": {"type": "integer", "default": 5},
        "optional": {"type": "string"},
        "place": {"type": "object", "properties": {"lat": {"type": "number"}}, "required": ["lat"]},
    },
    "required": ["city", "unit", "days", "ratio", "when", "detailed", "tags", "place"],
}


def test_examples_vary_by_call_and_cover_every_required_argument():
    first, second, third, fourth = (example_arguments(SCHEMA, n) for n in range(4))
    assert first == {
        "city": "Oslo",
        "unit": "c",
        "days": 1,
        "ratio": 1.5,
        "when": "2026-01-15",
        "detailed": True,
        "tags": [],
        "limit": 5,
        "place": {"lat": 1.5},
    }
    assert (second["city"], second["unit"], second["days"], second["detailed"]) == (
        "Lima",
        "f",
        2,
        False,
    )
    assert third["days"] == 3 and fourth["days"] == 1


def test_schemas_without_properties_give_no_arguments():
    assert example_arguments({"type": "object"}) == {}
    assert example_arguments("not a schema") == {}  # type: ignore[arg-type]
