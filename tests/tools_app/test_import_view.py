"""Importing from the browser: paste or upload, a report per tool, nothing half-saved."""

from __future__ import annotations

import json

from django.core.files.uploadedfile import SimpleUploadedFile

from tools_app.models import Tool

IMPORT = "/t/acme/c/travel/import/"


def test_pasting_a_tools_array_imports_with_mock_implementations(people, catalog):
    tools = [
        {
            "type": "function",
            "function": {
                "name": "spotify.play",
                "description": "Play an artist on Spotify.",
                "parameters": {
                    "type": "dict",
                    "properties": {"minutes": {"type": "float", "description": "How long."}},
                },
            },
        }
    ]
    response = people.client_for("editor").post(IMPORT, {"text": json.dumps(tools)})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Imported 1 tool" in page and "1 normalised · 0 rejected" in page
    assert "1 created · 0 updated · 0 unchanged" in page
    again = people.client_for("editor").post(IMPORT, {"text": json.dumps(tools)})
    assert "0 created · 0 updated · 1 unchanged" in again.content.decode()  # says what it did
    tool = Tool.objects.get()
    assert (tool.name, tool.original_name) == ("spotify_play", "spotify.play")
    assert tool.parameters["type"] == "object"
    assert tool.parameters["properties"]["minutes"]["type"] == "number"
    assert tool.implementation_kind == "mock"
    assert tool.versions.get().author == people.editor


def test_invalid_entries_are_reported_and_valid_ones_still_import(people, catalog):
    text = json.dumps(
        [
            {"name": "ok_tool", "description": "Fine.", "parameters": {"type": "object"}},
            {"description": "No name at all."},
            42,
        ]
    )
    page = people.client_for("editor").post(IMPORT, {"text": text}).content.decode()
    assert "Imported 1 tool" in page and "2 rejected" in page
    assert list(Tool.objects.values_list("name", flat=True)) == ["ok_tool"]


def test_uploading_the_bfcl_parallel_file_imports_everything(people, catalog, bfcl_dir):
    content = (bfcl_dir / "BFCL_v4_parallel.json").read_bytes()
    upload = SimpleUploadedFile("parallel.json", content, content_type="application/json")
    page = people.client_for("editor").post(IMPORT, {"file": upload}).content.decode()
    assert "0 rejected" in page
    assert Tool.objects.filter(catalog=catalog).count() == 198


def test_reimporting_updates_instead_of_duplicating(people, tool):
    entry = {"name": "get_weather", "description": "Changed.", "parameters": {"type": "object"}}
    client = people.client_for("editor")
    client.post(IMPORT, {"text": json.dumps(entry)})
    page = client.post(IMPORT, {"text": json.dumps(entry)}).content.decode()
    tool.refresh_from_db()
    assert Tool.objects.count() == 1
    assert tool.version == 2 and tool.description == "Changed."
    assert "unchanged" in page


def test_unusable_input_gets_a_clear_error_and_imports_nothing(people, catalog, settings):
    client = people.client_for("editor")
    cases = {
        "": "Paste a tools array",
        "   ": "Paste a tools array",
        '[{"name": "a",': "line 1",
        '"just a string"': "",
    }
    for text, expected in cases.items():
        response = client.post(IMPORT, {"text": text})
        assert response.status_code == 200
        assert 'id="import-errors"' in response.content.decode(), text
        assert expected in response.content.decode()
    assert not Tool.objects.exists()


def test_binary_and_oversized_uploads_are_refused(people, catalog, settings):
    client = people.client_for("editor")
    binary = SimpleUploadedFile("x.json", b"\xff\xfe\x00garbage")
    assert "not UTF-8 text" in client.post(IMPORT, {"file": binary}).content.decode()
    settings.FCSTUDIO_MAX_IMPORT_BYTES = 100
    big = SimpleUploadedFile("big.json", b"[" + b" " * 200 + b"]")
    assert "the limit is 100" in client.post(IMPORT, {"file": big}).content.decode()
    assert "100-byte limit" in client.post(IMPORT, {"text": "x" * 101}).content.decode()
    assert not Tool.objects.exists()


def test_a_renamed_import_never_takes_over_an_unrelated_tool(people, tool):
    client = people.client_for("editor")
    dotted = {"name": "get.weather", "description": "Someone else's.", "parameters": {}}
    page = client.post(IMPORT, {"text": json.dumps([dotted])}).content.decode()
    assert "`get_weather` is another tool in the catalog; named `get_weather_2` instead" in page
    tool.refresh_from_db()
    assert (tool.version, tool.description, tool.original_name) == (
        1,
        "Current weather for a city.",
        "",
    )
    imported = Tool.objects.get(name="get_weather_2")
    assert (imported.original_name, imported.description) == ("get.weather", "Someone else's.")

    # The same source name again is an update of the tool it made, not a third tool.
    changed = {**dotted, "description": "Someone else's, changed."}
    page = client.post(IMPORT, {"text": json.dumps([changed])}).content.decode()
    assert "updated" in page and "is another tool" not in page
    imported.refresh_from_db()
    assert (imported.version, imported.description) == (2, "Someone else's, changed.")
    assert Tool.objects.count() == 2

    # A new name is free of the catalog's names and of the other names in the same import.
    other = {"name": "get weather", "description": "A third.", "parameters": {}}
    third = {"name": "get_weather_3", "description": "A fourth.", "parameters": {}}
    client.post(IMPORT, {"text": json.dumps([other, third])})
    assert Tool.objects.get(name="get_weather_4").original_name == "get weather"
    assert Tool.objects.get(name="get_weather_3").description == "A fourth."


def test_a_bfcl_tool_keeps_its_definition_when_a_dotted_name_cleans_up_to_it(
    people, catalog, bfcl_dir
):
    client = people.client_for("editor")
    client.post(IMPORT, {"text": (bfcl_dir / "BFCL_v4_simple_python.json").read_text()})
    before = Tool.objects.get(catalog=catalog, name="get_stock_price")
    dotted = {"name": "get.stock price", "description": "Quote.", "parameters": {}}
    page = client.post(IMPORT, {"text": json.dumps([dotted])}).content.decode()
    # The file defines get_stock_price three ways: get_stock_price, _2 and _3 are taken.
    assert "named `get_stock_price_4` instead" in page
    after = Tool.objects.get(catalog=catalog, name="get_stock_price")
    assert (after.version, after.description, after.parameters, after.original_name) == (
        before.version,
        before.description,
        before.parameters,
        before.original_name,
    )
    assert Tool.objects.get(catalog=catalog, name="get_stock_price_4").original_name == (
        "get.stock price"
    )
