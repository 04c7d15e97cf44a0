"""Patterns RE2 cannot match are schema errors with their JSON pointer, in the editor, the live
check and imports; patterns it can match are checked in linear time, in the try-it form too."""

from __future__ import annotations

import json

from tools_app.importers import parse_import
from tools_app.models import Tool
from tools_app.schema import check_tool
from tools_app.schema_form import form_for_schema

NEW = "/t/acme/c/travel/new/"
CHECK = "/t/acme/c/travel/check/"


def parameters(pattern: str) -> dict:
    return {
        "type": "object",
        "properties": {"code": {"type": "string", "pattern": pattern}},
        "patternProperties": {"^x-": {"type": "string"}},
    }


def test_a_backreference_is_an_error_at_its_pointer():
    check = check_tool(name="t", description="A tool.", parameters=parameters("(a)\\1"))
    [finding] = [f for f in check.errors if f.code == "unsupported_pattern"]
    assert finding.path == "/properties/code/pattern"
    assert "backreferences" in finding.message and "RE2" in finding.message


def test_lookaround_in_pattern_properties_is_an_error():
    schema = {"type": "object", "patternProperties": {"^(?!x)": {}}}
    check = check_tool(name="t", description="A tool.", parameters=schema)
    [finding] = [f for f in check.errors if f.code == "unsupported_pattern"]
    assert finding.path == "/patternProperties"
    assert "lookahead" in finding.message


def test_a_catastrophic_pattern_is_a_fine_schema():
    check = check_tool(name="t", description="A tool.", parameters=parameters("^(a+)+$"))
    assert check.errors == []


def form_data(pattern: str) -> dict:
    return {
        "name": "lookup_code",
        "description": "Look up a code.",
        "parameters": json.dumps(parameters(pattern)),
        "implementation_kind": "mock",
        "mock_response": "{}",
        "mock_latency_ms": "0",
        "http_method": "POST",
        "timeout_s": "10",
        "retries": "0",
    }


def test_the_editor_refuses_to_save_it_and_says_why(people, catalog):
    client = people.client_for("editor")
    response = client.post(NEW, form_data("^(?=a)"))
    assert response.status_code == 200
    assert "lookahead" in response.content.decode()
    assert not Tool.objects.filter(name="lookup_code").exists()
    live = client.post(CHECK, form_data("(a)\\1"), headers={"HX-Request": "true"})
    assert "/properties/code/pattern" in live.content.decode()


def test_an_import_rejects_it_with_the_reason():
    text = json.dumps(
        [{"type": "function", "function": {"name": "f", "parameters": parameters("(a)\\1")}}]
    )
    result = parse_import(text)
    assert result.tools == []
    [rejection] = result.rejected
    assert "backreferences" in rejection.reason


def test_the_try_it_form_matches_with_re2():
    form = form_for_schema(parameters("^(a+)+$"), {"arg-code": "a" * 60 + "!"})
    assert not form.is_valid()
    assert "Must match the pattern" in str(form.errors)
