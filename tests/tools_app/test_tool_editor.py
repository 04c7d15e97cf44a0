"""The tool editor: saving makes versions, bad input is answered on the page, never a 500."""

from __future__ import annotations

import json
import re

import pytest

from tools_app.models import Tool

NEW = "/t/acme/c/travel/new/"
EDIT = "/t/acme/c/travel/tools/get_weather/"
CHECK = "/t/acme/c/travel/check/"


def form_data(**overrides) -> dict:
    data = {
        "name": "book_hotel",
        "description": "Book a hotel room in a city for a range of dates.",
        "parameters": json.dumps(
            {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "City to stay in."}},
                "required": ["city"],
            }
        ),
        "implementation_kind": "mock",
        "mock_response": '{"booked": "{{ city }}"}',
        "mock_latency_ms": "80-160",
        "http_method": "POST",
        "timeout_s": "10",
        "retries": "1",
        "message": "First version",
    }
    data.update(overrides)
    return data


def test_creating_a_tool_saves_version_one(people, catalog):
    response = people.client_for("editor").post(NEW, form_data())
    assert response.status_code == 302
    assert response["Location"] == "/t/acme/c/travel/tools/book_hotel/"
    tool = Tool.objects.get(name="book_hotel")
    assert tool.version == 1
    assert tool.implementation_config == {
        "response": {"booked": "{{ city }}"},
        "latency_ms": [80, 160],
    }
    version = tool.versions.get()
    assert (version.number, version.message, version.author) == (1, "First version", people.editor)
    assert version.snapshot["parameters"]["required"] == ["city"]


def test_each_change_is_a_new_version_and_no_change_is_none(people, tool):
    client = people.client_for("editor")
    data = form_data(name="get_weather", description="Weather now, for any city.")
    client.post(EDIT, data)
    client.post(EDIT, data)
    tool.refresh_from_db()
    assert tool.version == 2
    assert list(tool.versions.values_list("number", flat=True)) == [2, 1]
    page = client.get(EDIT).content.decode()
    assert '<span class="badge">v2</span>' in page


def test_saving_unchanged_says_so(people, tool):
    client = people.client_for("editor")
    data = form_data(name="get_weather", description="Weather now, for any city.")
    client.post(EDIT, data)
    response = client.post(EDIT, data, follow=True)
    assert "No changes to save." in response.content.decode()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"parameters": '{"type": "object",'}, "Not valid JSON"),
        ({"parameters": '{"type": "array", "items": {}}'}, "object"),
        ({"parameters": '{"type": "object", "properties": {"a": {"type": "strnig"}}}'}, "strnig"),
        ({"name": "spotify.play"}, "spotify.play"),
        ({"name": "x" * 65}, "64"),
        ({"name": "get_weather"}, "get_weather"),
        ({"mock_response": "{oops"}, "Not valid JSON"),
        ({"mock_latency_ms": "fast"}, "Use whole milliseconds"),
        ({"mock_latency_ms": "300-100"}, "lower end comes first"),
        ({"implementation_kind": "http", "http_url": ""}, "needs the URL"),
        (
            {"implementation_kind": "python", "python_callable": "os:system"},
            "is not in the allowed modules (FCSTUDIO_TOOL_MODULES: tools_app.demo_tools)",
        ),
        ({"timeout_s": "-1"}, "greater than or equal to 0.01"),
    ],
)
def test_bad_input_is_shown_on_the_form_and_nothing_is_saved(people, tool, overrides, message):
    response = people.client_for("editor").post(NEW, form_data(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Tool.objects.count() == 1


def test_strict_mode_rules_block_saving(people, catalog):
    response = people.client_for("editor").post(NEW, form_data(strict="on"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "additionalProperties" in page
    assert not Tool.objects.exists()


def test_the_live_check_returns_findings_preview_and_tools_entry(people, tool):
    response = people.client_for("editor").post(
        CHECK, form_data(name="get_forecast"), headers={"HX-Request": "true"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<aside id="checks"')
    assert "Valid" in page
    assert "&quot;name&quot;: &quot;get_forecast&quot;" in page
    assert 'name="preview-city"' in page


def test_the_live_check_reports_json_errors_with_their_position(people, tool):
    response = people.client_for("editor").post(
        CHECK, form_data(parameters='{\n  "type": "object",\n  "properties": {,}\n}')
    )
    page = response.content.decode()
    assert 'data-code="invalid_json"' in page
    assert "line 3" in page


def test_the_live_check_ignores_the_tool_itself_when_checking_duplicates(people, tool):
    data = form_data(name="get_weather", tool_id=str(tool.pk))
    page = people.client_for("editor").post(CHECK, data).content.decode()
    assert "duplicate_name" not in page


def test_viewers_see_a_read_only_editor(people, tool):
    page = people.client_for("viewer").get(EDIT).content.decode()
    assert "You have the viewer role here" in page
    assert "<fieldset disabled>" in page
    assert "Save new version" not in page


def test_deleting_a_tool_removes_its_history(people, tool):
    response = people.client_for("editor").post(EDIT + "delete/")
    assert response.status_code == 302
    assert not Tool.objects.exists()


def test_an_unknown_tool_is_a_404(people, tool):
    assert people.client_for("editor").get("/t/acme/c/travel/tools/nope/").status_code == 404


def test_the_catalog_filters_tools_and_htmx_gets_only_the_table(people, tool, catalog):
    Tool.objects.create(catalog=catalog, name="book_hotel", description="Reserve a room.")
    client = people.client_for("viewer")
    page = client.get("/t/acme/c/travel/", {"q": "room"}).content.decode()
    assert "book_hotel" in page and "get_weather" not in page
    assert "1 of 2 tools" in page
    fragment = client.get("/t/acme/c/travel/", {"q": "WEATHER"}, headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert html.lstrip().startswith('<div id="tool-table">')
    assert "get_weather" in html and "book_hotel" not in html


def test_a_catalog_is_renamed_and_its_urls_follow(people, tool, catalog):
    client = people.client_for("editor")
    response = client.post(
        "/t/acme/c/travel/settings/", {"name": "Trips", "slug": "trips", "description": "All."}
    )
    assert response["Location"] == "/t/acme/c/trips/"
    catalog.refresh_from_db()
    assert (catalog.name, catalog.slug, catalog.description) == ("Trips", "trips", "All.")
    assert client.get("/t/acme/c/trips/tools/get_weather/").status_code == 200


def test_a_catalog_slug_already_used_in_the_team_is_refused(people, catalog, team):
    from tools_app.models import Catalog

    Catalog.objects.create(team=team, name="Other", slug="other")
    page = (
        people.client_for("editor")
        .post("/t/acme/c/travel/settings/", {"name": "Travel", "slug": "other"})
        .content.decode()
    )
    assert "This team already has a catalog `other`." in page


def test_only_admins_delete_a_catalog(people, tool, catalog):
    assert people.client_for("editor").post("/t/acme/c/travel/delete/").status_code == 403
    response = people.client_for("admin").post("/t/acme/c/travel/delete/")
    assert response["Location"] == "/t/acme/"
    assert not Tool.objects.exists()


ORDER_WITH_A_GHOST = json.dumps(
    {
        "type": "object",
        "properties": {
            "order_id": {"type": "string", "description": "The order."},
            "qty": {"type": "integer", "description": "How many."},
        },
        "required": ["order_id", "missing"],
    }
)


def test_a_required_name_that_is_no_property_is_an_error_at_required(people, tool):
    client = people.client_for("editor")
    page = client.post(CHECK, form_data(parameters=ORDER_WITH_A_GHOST)).content.decode()
    assert 'data-code="required_not_a_property"' in page
    assert "`missing` is required but not among the properties" in page
    assert "Valid" not in page
    response = client.post(NEW, form_data(parameters=ORDER_WITH_A_GHOST))
    assert response.status_code == 200
    assert "`missing` is required but not among the properties" in response.content.decode()
    assert not Tool.objects.filter(name="book_hotel").exists()


def test_the_editor_form_asks_before_leaving_unsaved_changes(people, tool):
    editor = people.client_for("editor")
    opening_tag = re.compile(r'<form[^>]*id="tool-form"[^>]*>')
    [form] = opening_tag.findall(editor.get(EDIT).content.decode())
    assert re.search(r"\sdata-warn-unsaved\s", form)
    # A submit the server refused comes back holding what was typed and not saved.
    refused = editor.post(EDIT, form_data(name="get_weather", mock_latency_ms="fast"))
    [form] = opening_tag.findall(refused.content.decode())
    assert 'data-warn-unsaved="dirty"' in form
    viewer = people.client_for("viewer").get(EDIT).content.decode()
    assert "data-warn-unsaved" not in viewer


def test_the_timeout_reads_the_same_new_and_saved(people, tool):
    timeout_input = re.compile(r'<input type="number" name="timeout_s" value="([^"]*)"')
    client = people.client_for("editor")
    [new] = timeout_input.findall(client.get(NEW).content.decode())
    [saved] = timeout_input.findall(client.get(EDIT).content.decode())
    assert (new, saved) == ("30", "30")
    tool.timeout_s = 2.5
    tool.rate_limit_per_s = 4.0
    tool.save()
    page = client.get(EDIT).content.decode()
    assert timeout_input.findall(page) == ["2.5"]
    assert 'name="rate_limit_per_s" value="4"' in page
