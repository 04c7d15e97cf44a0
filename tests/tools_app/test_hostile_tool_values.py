"""A tool saved with a lone surrogate or NUL in its definition is stored escaped and its pages
render; NUL typed into a text field is answered on the form."""

from __future__ import annotations

import json

from tools_app.models import Tool

NEW = "/t/acme/c/travel/new/"
PAGE = "/t/acme/c/travel/tools/book_hotel/"


def form_data(**overrides) -> dict:
    data = {
        "name": "book_hotel",
        "description": "Book a hotel room.",
        # JSON text as typed: the escapes themselves, which parse to a lone surrogate and NUL
        "parameters": '{"type": "object", "properties": {"city": {"type": "string", '
        '"description": "City \\ud800 and \\u0000."}}}',
        "implementation_kind": "mock",
        "mock_response": '{"booked": "\\udfff"}',
        "mock_latency_ms": "0",
        "http_method": "POST",
        "timeout_s": "10",
        "retries": "0",
    }
    data.update(overrides)
    return data


def test_a_tool_with_hostile_escapes_saves_and_renders(people, catalog):
    client = people.client_for("editor")
    response = client.post(NEW, form_data())
    assert response.status_code == 302
    tool = Tool.objects.get(name="book_hotel")
    description = tool.parameters["properties"]["city"]["description"]
    assert description == "City \\ud800 and \\u0000."
    assert tool.implementation_config["response"] == {"booked": "\\udfff"}
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "City \\ud800 and \\u0000." in page.content.decode()
    assert client.get(PAGE + "history/").status_code == 200


def test_nul_in_the_description_is_answered_on_the_form(people, catalog):
    response = people.client_for("editor").post(NEW, form_data(description="Book\x00 it."))
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.content.decode()
    assert not Tool.objects.filter(name="book_hotel").exists()


def test_an_import_with_hostile_escapes_saves_and_renders(people, catalog):
    entry = {
        "type": "function",
        "function": {
            "name": "book_hotel",
            "description": "Book \\ud800 it.",
            "parameters": {"type": "object", "properties": {}},
        },
    }
    text = json.dumps([entry]).replace("\\\\ud800", "\\ud800")
    client = people.client_for("editor")
    response = client.post("/t/acme/c/travel/import/", {"text": text, "confirm": "1"})
    assert response.status_code in (200, 302)
    tool = Tool.objects.get(name="book_hotel")
    assert tool.description == "Book \\ud800 it."
    assert client.get(PAGE).status_code == 200
