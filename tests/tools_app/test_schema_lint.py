"""lint: warnings that never block saving, each with a reason."""

import pytest

from tools_app.schema import check_tool, lint


def schema(props: dict, required: list[str] | None = None) -> dict:
    return {
        "type": "object",
        "properties": props,
        "required": list(props) if required is None else required,
    }


def found(name: str, description: str, parameters: dict) -> set[tuple[str, str]]:
    return {(f.code, f.path) for f in lint(name, description, parameters)}


GOOD_DESCRIPTION = "Look up the current weather for a city."


@pytest.mark.parametrize(
    "name", ["func1", "do_thing", "tool", "test", "helper", "run", "process", "abc", "get2"]
)
def test_vague_names(name: str) -> None:
    assert ("vague_name", "") in found(name, GOOD_DESCRIPTION, schema({}))


@pytest.mark.parametrize("name", ["get_weather", "searchFlights", "run_sql_query"])
def test_clear_names(name: str) -> None:
    assert found(name, GOOD_DESCRIPTION, schema({})) == set()


def test_every_warning_has_a_reason_and_a_field() -> None:
    findings = lint("f", "", schema({"unit": {"type": "string"}}, []))
    assert findings
    assert all(f.level == "warning" and f.why and f.field for f in findings)


def test_tool_description() -> None:
    [missing] = [f for f in lint("get_weather", "", schema({})) if f.field == "description"]
    assert (missing.code, missing.message) == (
        "missing_description",
        "The tool has no description.",
    )
    [short] = lint("get_weather", "Weather", schema({}))
    assert short.code == "short_description"


def test_property_descriptions() -> None:
    params = schema(
        {
            "city": {"type": "string"},
            "days": {"type": "integer", "minimum": 1, "description": "Days"},
        }
    )
    assert found("get_weather", GOOD_DESCRIPTION, params) == {
        ("missing_description", "/properties/city"),
        ("short_description", "/properties/days"),
    }


@pytest.mark.parametrize(
    ("prop", "description"),
    [
        ("unit", "Temperature scale to use."),
        ("sort_order", "How to sort results."),
        ("currency", "Currency for prices."),
        ("scale", "Temperature scale, celsius or fahrenheit."),
        ("scale", "Temperature scale: one of the supported ones."),
        ("scale", "Temperature scale, e.g. 'c', 'f'."),
        ("scale", "Either metric or imperial."),
    ],
)
def test_wants_enum(prop: str, description: str) -> None:
    params = schema({prop: {"type": "string", "description": description}})
    assert found("get_weather", GOOD_DESCRIPTION, params) == {("wants_enum", f"/properties/{prop}")}


def test_enum_silences_wants_enum() -> None:
    params = schema(
        {"unit": {"type": "string", "enum": ["c", "f"], "description": "Temperature scale."}}
    )
    assert found("get_weather", GOOD_DESCRIPTION, params) == set()


def test_wants_enum_message() -> None:
    params = schema({"scale": {"type": "string", "description": "Celsius or fahrenheit."}})
    [finding] = lint("get_weather", GOOD_DESCRIPTION, params)
    assert finding.message == (
        "Property `scale` is a free string; its description lists choices — consider an enum."
    )


@pytest.mark.parametrize(
    ("prop", "fmt"),
    [
        ("email", "email"),
        ("contact_email", "email"),
        ("date", "date"),
        ("start_date", "date"),
        ("birthday", "date"),
        ("created_at", "date-time"),
        ("timestamp", "date-time"),
        ("url", "uri"),
        ("website", "uri"),
        ("uuid", "uuid"),
    ],
)
def test_wants_format(prop: str, fmt: str) -> None:
    params = schema({prop: {"type": "string", "description": "The value to use here."}})
    [finding] = [
        f for f in lint("get_weather", GOOD_DESCRIPTION, params) if f.code != "wants_guard"
    ]
    assert (finding.code, finding.path) == ("wants_format", f"/properties/{prop}")
    assert f'"format": "{fmt}"' in finding.message


def test_id_wants_uuid_only_when_described_so() -> None:
    plain = schema({"order_id": {"type": "string", "description": "The order number."}})
    assert lint("get_order", GOOD_DESCRIPTION, plain) == []
    uuid = schema({"order_id": {"type": "string", "description": "The order's UUID."}})
    assert [f.code for f in lint("get_order", GOOD_DESCRIPTION, uuid)] == ["wants_format"]


def test_unbounded_number() -> None:
    params = schema(
        {
            "n": {"type": "integer", "description": "How many results."},
            "t": {"type": ["number", "null"], "description": "A threshold value."},
            "ok": {"type": "number", "exclusiveMinimum": 0, "description": "A positive amount."},
        }
    )
    assert found("get_weather", GOOD_DESCRIPTION, params) == {
        ("unbounded_number", "/properties/n"),
        ("unbounded_number", "/properties/t"),
    }


def test_optional_without_default() -> None:
    params = schema(
        {
            "a": {"type": "boolean", "description": "Include alerts."},
            "b": {"type": "boolean", "description": "Include hourly data (default false)."},
            "c": {"type": "boolean", "description": "Include the forecast.", "default": True},
        },
        [],
    )
    assert found("get_weather", GOOD_DESCRIPTION, params) == {
        ("optional_without_default", "/properties/a")
    }


def test_nested_objects_and_array_items() -> None:
    params = schema(
        {
            "where": {
                "type": "object",
                "description": "Where to look.",
                "properties": {"country": {"type": "string"}},
                "required": ["country"],
            },
            "stops": {
                "type": "array",
                "description": "Stops on the way.",
                "items": {
                    "type": "object",
                    "properties": {
                        "lat": {"type": "number", "description": "Latitude in degrees."}
                    },
                    "required": ["lat"],
                },
            },
        }
    )
    assert found("plan_route", GOOD_DESCRIPTION, params) == {
        ("missing_description", "/properties/where/properties/country"),
        ("unbounded_number", "/properties/stops/items/properties/lat"),
    }


def test_large_schema() -> None:
    props = {
        f"field_{i}": {"type": "boolean", "description": "A fairly long description " * 3}
        for i in range(60)
    }
    findings = [
        f for f in lint("get_weather", GOOD_DESCRIPTION, schema(props)) if f.code == "large_schema"
    ]
    [finding] = findings
    estimate = check_tool(
        name="get_weather", description=GOOD_DESCRIPTION, parameters=schema(props)
    ).token_estimate
    assert estimate > 1000
    assert f"about {estimate} tokens" in finding.message


def test_lint_tolerates_junk() -> None:
    junk = {"type": "object", "properties": {"a": None, "b": [1], "c": {"type": 5}}, "required": 7}
    assert found("get_weather", GOOD_DESCRIPTION, junk) == {
        ("missing_description", "/properties/c"),
        ("optional_without_default", "/properties/c"),
    }
    assert lint("", "", {}) == [lint("", "", {})[0]]
