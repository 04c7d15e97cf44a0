"""The schema editor is a code editor: line numbers, highlighted JSON, errors marked at their
line while typing, Format, and what is saved is what was typed."""

from __future__ import annotations

import json

from django.test import Client
from playwright.sync_api import expect

from tests.browser.code_editor import replace_code, source
from tests.browser.conftest import ARTIFACTS
from tests.conftest import WEATHER_PARAMETERS
from tools_app.models import Tool

EDIT = "/t/acme/c/travel/tools/get_weather/"


def test_break_the_schema_see_the_error_at_its_line_fix_format_and_save(log_in, people, tool):
    page = log_in(people.editor)
    page.goto(EDIT)
    editor = page.get_by_label("Parameters", exact=True)
    box = page.locator(".code-editor").filter(has=editor)
    lines = box.locator(".cm-content .cm-line")

    # The saved schema, indented, with line numbers and its strings in colour.
    expect(lines).to_have_count(20)
    expect(box.locator(".cm-lineNumbers .cm-gutterElement", has_text="20")).to_be_visible()
    expect(lines.nth(1)).to_have_text('  "type": "object",')
    expect(lines.nth(1).get_by_text('"object"')).to_have_css("color", "rgb(170, 17, 17)")

    # Delete the brace that closes "city" (line 7): the JSON breaks at line 8.
    editor.click()
    page.keyboard.press("ControlOrMeta+Home")
    for _ in range(6):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("End")
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    expect(lines.nth(6)).to_have_text("    ")

    message = page.locator("#findings li.error[data-code=invalid_json]")
    expect(message).to_contain_text("line 8, column 5")
    expect(lines.nth(7).locator(".cm-lintRange-error")).to_have_count(1)
    expect(box.locator(".cm-gutter-lint .cm-lint-marker-error")).to_have_count(1)
    expect(box.get_by_role("button", name="Format")).to_be_disabled()
    expect(box.get_by_text("Not valid JSON: fix it to format.")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(
        path=str(ARTIFACTS / "schema-editor-error.png"), full_page=True, caret="initial"
    )

    # Put the brace back: the message and the marks go away.
    page.keyboard.type("},")
    expect(page.locator("#checks .badge.ok")).to_have_text("Valid")
    expect(message).to_have_count(0)
    expect(box.locator(".cm-lintRange-error")).to_have_count(0)
    expect(source(page, "parameters")).to_have_value(json.dumps(WEATHER_PARAMETERS, indent=2))

    # Paste the schema on one line with a new property, then Format re-indents it.
    changed = {**WEATHER_PARAMETERS, "additionalProperties": False}
    replace_code(page, "Parameters", json.dumps(changed))
    expect(lines).to_have_count(1)
    box.get_by_role("button", name="Format").click()
    expect(lines).to_have_count(21)
    expect(lines.nth(20)).to_have_text("}")
    expect(lines.nth(19)).to_have_text('  "additionalProperties": false')
    expect(source(page, "parameters")).to_have_value(json.dumps(changed, indent=2))
    page.screenshot(
        path=str(ARTIFACTS / "schema-editor-formatted.png"), full_page=True, caret="initial"
    )

    # Ctrl+Z takes the formatting back, Ctrl+Y redoes it.
    page.keyboard.press("Control+z")
    expect(lines).to_have_count(1)
    page.keyboard.press("Control+y")
    expect(lines).to_have_count(21)

    page.get_by_label("Version message").fill("Refuse unknown arguments")
    page.get_by_role("button", name="Save new version").click()
    expect(page.get_by_text("Saved get_weather as version 2.")).to_be_visible()
    expect(page.get_by_label("Parameters", exact=True)).to_contain_text(
        '"additionalProperties": false'
    )
    assert Tool.objects.get(name="get_weather").parameters == changed


def test_a_schema_error_is_marked_on_the_property_it_is_about(log_in, people, tool):
    page = log_in(people.editor)
    page.goto(EDIT)
    box = page.locator(".code-editor").filter(has=page.get_by_label("Parameters", exact=True))
    lines = box.locator(".cm-content .cm-line")
    expect(lines.nth(4)).to_have_text('      "type": "string",')

    # A typo in city's type: still JSON, but not a schema.
    lines.nth(4).get_by_text('"string"').dblclick()  # selects the word string
    page.keyboard.type("strin")
    message = page.locator("#findings li.error[data-code=not_a_schema]")
    expect(message).to_contain_text("/properties/city/type")
    expect(lines.nth(4).locator(".cm-lintRange-error")).to_have_text('"type"')
    box.locator(".cm-lintRange-error").hover()
    expect(page.locator(".cm-tooltip-lint")).to_contain_text("Not a valid JSON Schema")
    page.screenshot(
        path=str(ARTIFACTS / "schema-editor-schema-error.png"), full_page=True, caret="initial"
    )

    page.keyboard.press("ControlOrMeta+z")
    expect(page.locator("#checks .badge.ok")).to_have_text("Valid")
    expect(box.locator(".cm-lintRange-error")).to_have_count(0)


def test_other_json_fields_are_code_editors_too(log_in, people, tool):
    page = log_in(people.editor)
    page.goto(EDIT)
    # Try it: the raw arguments are checked in the browser before they are sent.
    try_it = page.locator("#try-it")
    replace_code(try_it, "Arguments (raw JSON)", '{"city": "Lima",}')
    box = try_it.locator(".code-editor")
    expect(box.locator(".cm-lintRange-error")).to_have_count(1)
    expect(box.get_by_role("button", name="Format")).to_be_disabled()
    box.locator(".cm-lintRange-error").hover()
    expect(page.locator(".cm-tooltip-lint")).to_contain_text("at line 1, column 17.")
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    page.keyboard.insert_text("}")
    expect(box.locator(".cm-lintRange-error")).to_have_count(0)
    try_it.get_by_role("button", name="Run call").click()
    expect(page.locator("#try-content")).to_contain_text('"city": "Lima"')

    # The guard lab takes one JSON object per line: two lines are not an error.
    lab = page.locator("#guard-lab")
    replace_code(lab, "Your own argument sets", '{"city": "Lima"}\n{"city": "Oslo"}')
    expect(lab.locator(".cm-content .cm-line")).to_have_count(2)
    expect(lab.locator(".cm-lintRange-error")).to_have_count(0)
    expect(source(page, "lines")).to_have_value('{"city": "Lima"}\n{"city": "Oslo"}')


def test_without_javascript_the_schema_is_a_plain_textarea(page, live_url, people, tool):
    client = Client()
    client.force_login(people.editor)
    context = page.context.browser.new_context(base_url=live_url, java_script_enabled=False)
    cookie = client.cookies["sessionid"].value
    context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_url}])
    plain = context.new_page()
    plain.goto(EDIT)
    parameters = plain.get_by_label("Parameters", exact=True)
    expect(parameters).to_have_value(json.dumps(WEATHER_PARAMETERS, indent=2))
    expect(plain.locator(".cm-editor")).to_have_count(0)
    context.close()


def test_a_required_name_that_is_no_property_is_marked_and_blocks_saving(log_in, people, tool):
    page = log_in(people.editor)
    page.goto(EDIT)
    box = page.locator(".code-editor").filter(has=page.get_by_label("Parameters", exact=True))
    ghost = {**WEATHER_PARAMETERS, "required": ["city", "missing"]}
    replace_code(page, "Parameters", json.dumps(ghost, indent=2))

    message = page.locator("#findings li.error[data-code=required_not_a_property]")
    expect(message).to_contain_text("`missing` is required but not among the properties")
    expect(page.locator("#checks .badge.ok")).to_have_count(0)
    expect(box.locator(".cm-lintRange-error")).to_have_text('"required"')
    page.screenshot(
        path=str(ARTIFACTS / "schema-editor-required-ghost.png"), full_page=True, caret="initial"
    )

    page.get_by_role("button", name="Save new version").click()
    expect(
        page.get_by_text("`missing` is required but not among the properties").first
    ).to_be_visible()
    assert Tool.objects.get(name="get_weather").parameters == WEATHER_PARAMETERS
