"""A tool author's first session: log in, write a tool, watch the checks, save, see history."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.code_editor import replace_code, source
from tests.conftest import PASSWORD
from tools_app.models import Tool


def test_log_in_and_find_the_catalog(page, people, catalog):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username").fill("eddie")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your teams")).to_be_visible()
    page.get_by_role("link", name="Travel").click()
    expect(page.get_by_role("heading", name="Travel")).to_be_visible()
    expect(page.get_by_text("This catalog has no tools yet")).to_be_visible()


def test_write_a_tool_see_errors_while_typing_fix_save_and_see_history(log_in, people, catalog):
    page = log_in(people.editor)
    page.goto(f"/t/acme/c/{catalog.slug}/")
    page.get_by_role("link", name="New tool").click()

    page.get_by_label("Name").fill("get_forecast")
    page.get_by_label("Description").fill("Weather forecast for a city for the next days.")
    replace_code(
        page, "Parameters", '{"type": "object", "properties": {"city": {"type": "string",}}}'
    )
    errors = page.locator("#findings li.error")
    expect(errors.first).to_contain_text("Not valid JSON")
    expect(errors.first).to_contain_text("line 1")

    replace_code(
        page,
        "Parameters",
        '{"type": "object", "properties": {"city": {"type": "string", '
        '"description": "City name, e.g. Lisbon."}, "days": {"type": "integer", '
        '"description": "How many days ahead, 1 to 7."}}, "required": ["city", "days"]}',
    )
    expect(page.locator("#checks .badge.ok")).to_have_text("Valid")
    expect(page.locator("#findings li.warning[data-code=unbounded_number]")).to_be_visible()
    expect(page.locator("#tools-entry")).to_contain_text('"name": "get_forecast"')
    expect(page.locator("#checks .preview").get_by_label("days")).to_be_visible()

    page.get_by_label("Version message").fill("First draft")
    page.get_by_role("button", name="Create tool").click()
    expect(page.get_by_text("Saved get_forecast as version 1.")).to_be_visible()
    expect(page.get_by_role("heading", name="get_forecast v1")).to_be_visible()

    page.get_by_label("Description").fill("Daily weather forecast for a city, up to a week ahead.")
    page.get_by_label("Version message").fill("Say how far ahead")
    page.get_by_role("button", name="Save new version").click()
    expect(page.get_by_text("Saved get_forecast as version 2.")).to_be_visible()

    page.get_by_role("link", name="History").click()
    rows = page.locator("#versions tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Say how far ahead")
    expect(rows.first).to_contain_text("eddie")
    expect(page.locator("#diff .del")).to_contain_text("Weather forecast for a city")
    expect(page.locator("#diff .add")).to_contain_text("up to a week ahead")
    assert Tool.objects.get(name="get_forecast").versions.count() == 2


def test_a_duplicate_name_is_refused_while_typing_and_on_save(log_in, people, tool):
    page = log_in(people.editor)
    page.goto("/t/acme/c/travel/new/")
    page.get_by_label("Name").fill("get_weather")
    expect(page.locator("#findings li.error[data-code=duplicate_name]")).to_be_visible()
    page.get_by_role("button", name="Create tool").click()
    expect(page.locator("#tool-form .errorlist")).to_contain_text("get_weather")
    assert Tool.objects.filter(name="get_weather").count() == 1


def test_tab_in_the_schema_editor_indents_instead_of_leaving(log_in, people, catalog):
    page = log_in(people.editor)
    page.goto("/t/acme/c/travel/new/")
    parameters = replace_code(page, "Parameters", '{"city":')
    parameters.press("End")
    parameters.press("Tab")
    expect(parameters).to_be_focused()
    expect(source(page, "parameters")).to_have_value('{"city":  ')


def test_a_viewer_reads_the_tool_but_cannot_change_it(log_in, people, tool):
    page = log_in(people.viewer)
    page.goto("/t/acme/c/travel/tools/get_weather/")
    expect(page.get_by_text("You have the viewer role here")).to_be_visible()
    expect(page.get_by_label("Name")).to_be_disabled()
    expect(page.get_by_role("button", name="Save new version")).to_have_count(0)
    expect(page.get_by_role("link", name="New tool")).to_have_count(0)


def test_leaving_the_editor_with_unsaved_changes_asks_first(log_in, people, tool):
    edit = "/t/acme/c/travel/tools/get_weather/"
    page = log_in(people.editor)
    page.goto(edit)
    asked: list[str] = []

    def stay(dialog) -> None:
        asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", stay)
    page.get_by_label("Description").fill("Weather now and for the next days, for a city.")
    with page.expect_event("dialog"):
        page.get_by_role("link", name="History").click()
    assert asked == ["beforeunload"]
    expect(page).to_have_url(re.compile(r"/tools/get_weather/$"))
    expect(page.get_by_label("Description")).to_have_value(
        "Weather now and for the next days, for a city."
    )

    # Saving is not leaving: no question, and none afterwards for the saved page.
    page.get_by_role("button", name="Save new version").click()
    expect(page.get_by_text("Saved get_weather as version 2.")).to_be_visible()
    page.get_by_role("link", name="History").click()
    expect(page).to_have_url(re.compile(r"/tools/get_weather/history/"))
    assert asked == ["beforeunload"]


def test_the_timeout_reads_the_same_before_and_after_saving(log_in, people, catalog):
    page = log_in(people.editor)
    page.goto("/t/acme/c/travel/new/")
    expect(page.get_by_label("Timeout (s)")).to_have_value("30")
    page.get_by_label("Name").fill("get_forecast")
    page.get_by_label("Description").fill("Weather forecast for a city for the next days.")
    page.get_by_role("button", name="Create tool").click()
    expect(page.get_by_text("Saved get_forecast as version 1.")).to_be_visible()
    expect(page.get_by_label("Timeout (s)")).to_have_value("30")
