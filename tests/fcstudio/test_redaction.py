"""Redaction: secret-looking keys and x-sensitive properties become keyed marks; x- keywords
never leave in tools sent out, and stay in the studio's bundles."""

from __future__ import annotations

import json

from fcstudio.redaction import mark, redact, redact_arguments, redact_messages
from tools_app import catalog as catalog_ops
from tools_app.wire import without_studio_keywords

SCHEMA = {
    "type": "object",
    "properties": {
        "pin": {"type": "string", "x-sensitive": True},
        "nested": {
            "type": "object",
            "properties": {"deep": {"type": "string", "x-sensitive": True}},
        },
        "items": {"type": "array", "items": {"type": "string", "x-sensitive": True}},
        "x-request-id": {"type": "string", "x-note": "a property named x-…"},
    },
}


def test_secret_looking_keys_are_marked_at_any_depth_and_case():
    value = {"Password": "p", "a": {"API_KEY": "k", "b": [{"Authorization": "Bearer t"}]}}
    assert redact(value) == {
        "Password": mark("p"),
        "a": {"API_KEY": mark("k"), "b": [{"Authorization": mark("Bearer t")}]},
    }
    assert redact({"session_cookie": 1, "client_secret": 2, "token": 3, "city": "Oslo"}) == {
        "session_cookie": mark(1),
        "client_secret": mark(2),
        "token": mark(3),
        "city": "Oslo",
    }


def test_schema_marked_properties_are_marked():
    value = {"pin": "1234", "nested": {"deep": "d", "shallow": "s"}, "items": ["a", "b"]}
    assert redact(value, SCHEMA) == {
        "pin": mark("1234"),
        "nested": {"deep": mark("d"), "shallow": "s"},
        "items": [mark("a"), mark("b")],
    }


def test_equal_values_share_a_mark_that_shows_nothing(settings):
    assert mark("1234") == mark("1234") != mark("1235")
    assert mark("1234").startswith("\u2039redacted:") and len(mark("1234")) == 23
    before = mark("1234")
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    assert mark("1234") != before


def test_arguments_text_is_redacted_and_unparseable_text_marked_whole():
    assert json.loads(redact_arguments('{"pin": "1234", "x": 1}', SCHEMA)) == {
        "pin": mark("1234"),
        "x": 1,
    }
    assert redact_arguments("{not json", SCHEMA) == mark("{not json")


def test_messages_redact_call_arguments_and_secret_keys_of_results():
    messages = [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c",
                    "type": "function",
                    "function": {"name": "f", "arguments": '{"pin": "9"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c", "content": '{"token": "t", "ok": true}'},
        {"role": "tool", "tool_call_id": "d", "content": "plain text"},
    ]
    shown = redact_messages(messages, {"f": SCHEMA})
    assert shown[0]["tool_calls"][0]["function"]["arguments"] == json.dumps(
        {"pin": mark("9")}, ensure_ascii=False
    )
    assert json.loads(shown[1]["content"]) == {"token": mark("t"), "ok": True}
    assert shown[2]["content"] == "plain text"
    assert messages[0]["tool_calls"][0]["function"]["arguments"] == '{"pin": "9"}'


def test_studio_keywords_are_stripped_but_property_names_kept():
    assert without_studio_keywords(SCHEMA) == {
        "type": "object",
        "properties": {
            "pin": {"type": "string"},
            "nested": {"type": "object", "properties": {"deep": {"type": "string"}}},
            "items": {"type": "array", "items": {"type": "string"}},
            "x-request-id": {"type": "string"},
        },
    }


def test_the_openai_export_strips_them_and_the_bundle_keeps_them(catalog, people):
    from tools_app.models import Tool

    tool = Tool(catalog=catalog, name="unlock", description="Unlock.", parameters=SCHEMA)
    catalog_ops.save_tool(tool, author=people.editor)
    exported = catalog_ops.export_openai(catalog)[0]["function"]["parameters"]
    assert "x-sensitive" not in json.dumps(exported)
    bundled = catalog_ops.export_bundle(catalog)["tools"][0]["parameters"]
    assert bundled["properties"]["pin"]["x-sensitive"] is True
