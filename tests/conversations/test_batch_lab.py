"""The Batch lab, batch pages, strategy comparison and a tool's Try it panel."""

from __future__ import annotations

import json

from conversations.models import Batch

LAB = "/t/acme/c/travel/lab/"


def weather_calls(count: int, **arguments) -> str:
    return json.dumps(
        [
            {"name": "get_weather", "arguments": {"city": f"City {i}", **arguments}}
            for i in range(count)
        ]
    )


def test_the_lab_starts_with_example_calls_of_a_tool(people, tool):
    page = people.client_for("editor").get(LAB).content.decode()
    assert "Run batch" in page and "Compare strategies" in page
    assert "&quot;name&quot;: &quot;get_weather&quot;" in page
    assert "&quot;city&quot;: &quot;city 1&quot;" in page


def test_running_a_batch_records_it_and_shows_its_chart(people, tool):
    client = people.client_for("editor")
    response = client.post(LAB, {"calls": weather_calls(4), "strategy": "asyncio"})
    batch = Batch.objects.get()
    assert response["Location"] == f"/t/acme/batches/{batch.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert page.count('<g class="call bar-ok">') == 4
    assert "Speed-up" in page and "4 OK" in page
    assert batch.executions.count() == 4


def test_compare_runs_the_same_calls_under_each_strategy(people, tool):
    client = people.client_for("editor")
    response = client.post(LAB, {"calls": weather_calls(3), "strategy": "asyncio", "compare": "1"})
    batches = list(Batch.objects.order_by("pk"))
    assert [b.strategy for b in batches] == ["sequential", "threads", "asyncio"]
    assert len({b.compare_group for b in batches}) == 1
    page = client.get(response["Location"]).content.decode()
    for strategy in ("asyncio", "threads", "sequential"):
        assert f'data-strategy="{strategy}"' in page
    assert page.count('data-span-ms="') == 3
    assert len(set(part.split('"')[0] for part in page.split('data-span-ms="')[1:])) == 1


def test_bad_calls_are_answered_on_the_form(people, tool, settings):
    client = people.client_for("editor")
    settings.FCSTUDIO_MAX_BATCH_CALLS = 3
    cases = {
        "[": "Not valid JSON",
        "[]": "at least one call",
        '[{"arguments": {}}]': "Call 1 needs a &quot;name&quot; string",
        weather_calls(4): "at most 3 calls",
    }
    for calls, message in cases.items():
        response = client.post(LAB, {"calls": calls, "strategy": "asyncio"})
        assert response.status_code == 200
        assert message in response.content.decode()
    assert not Batch.objects.exists()


def test_a_batch_with_failures_shows_each_error_code(people, tool):
    calls = json.dumps(
        [
            {"name": "get_weather", "arguments": "{not json"},
            {"name": "get_weather", "arguments": {"unit": "celsius"}},
            {"name": "nope", "arguments": {}},
        ]
    )
    client = people.client_for("editor")
    location = client.post(LAB, {"calls": calls, "strategy": "threads"})["Location"]
    page = client.get(location).content.decode()
    for code in ("INVALID_JSON", "VALIDATION_ERROR", "FUNCTION_NOT_FOUND"):
        assert f"code-{code.lower()}" in page
        assert f'<span class="badge err">{code}</span>' in page


def test_the_fill_button_swaps_in_example_calls(people, tool):
    response = people.client_for("editor").post(
        LAB + "fill/", {"tool": "get_weather", "count": "3"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="calls-field">')
    assert html.count("&quot;name&quot;: &quot;get_weather&quot;") == 3


def test_fill_says_what_is_wrong(people, tool):
    client = people.client_for("editor")
    html = client.post(LAB + "fill/", {"tool": "nope", "count": "3"}).content.decode()
    assert "No tool “nope” in this catalog." in html
    html = client.post(LAB + "fill/", {"tool": "get_weather", "count": "9999"}).content.decode()
    assert "at most 256 calls" in html


def test_viewers_see_the_lab_but_cannot_run(people, tool):
    page = people.client_for("viewer").get(LAB).content.decode()
    assert "Running tools needs the editor role." in page
    assert people.client_for("viewer").post(LAB, {"calls": weather_calls(1)}).status_code == 403


def test_another_teams_batch_is_not_found(people, tool, team):
    batch = Batch.objects.create(team=team, source="lab", strategy="asyncio")
    assert people.client_for("outsider").get(f"/t/elsewhere/batches/{batch.pk}/").status_code == 404


def test_try_it_runs_the_saved_version_from_the_generated_form(people, tool):
    url = "/t/acme/c/travel/tools/get_weather/try/"
    html = (
        people.client_for("editor")
        .post(url, {"arg-city": "Porto", "arg-unit": "celsius"})
        .content.decode()
    )
    assert '<span class="badge ok">OK</span>' in html
    assert "&quot;success&quot;: true" in html
    execution = Batch.objects.get(source="try").executions.get()
    assert execution.parsed_arguments == {"city": "Porto", "unit": "celsius"}


def test_try_it_with_raw_arguments_shows_the_error_the_model_would_get(people, tool):
    url = "/t/acme/c/travel/tools/get_weather/try/"
    html = people.client_for("editor").post(url, {"arguments": '{"city": 5}'}).content.decode()
    assert '<span class="badge err">VALIDATION_ERROR</span>' in html
    assert "/city" in html


def test_try_it_reports_form_errors_without_running(people, tool):
    url = "/t/acme/c/travel/tools/get_weather/try/"
    html = people.client_for("editor").post(url, {"arg-unit": "kelvin"}).content.decode()
    assert 'class="error"' in html
    assert not Batch.objects.exists()


def test_the_tool_page_offers_try_it_to_editors_only(people, tool):
    url = "/t/acme/c/travel/tools/get_weather/"
    assert 'id="try-it"' in people.client_for("editor").get(url).content.decode()
    assert 'id="try-it"' not in people.client_for("viewer").get(url).content.decode()


def test_approval_gated_tools_are_denied_in_the_lab_unless_approved(people, tool):
    tool.requires_approval = True
    tool.save()
    from tools_app import catalog as catalog_ops

    catalog_ops.save_tool(tool, message="needs approval")
    client = people.client_for("editor")
    client.post(LAB, {"calls": weather_calls(1), "strategy": "asyncio"})
    client.post(LAB, {"calls": weather_calls(1), "strategy": "asyncio", "approve_all": "on"})
    denied, approved = (b.executions.get() for b in Batch.objects.order_by("pk"))
    assert denied.error_code == "DENIED"
    assert (approved.status, approved.error_code) == ("ok", "")
