"""Paste an app's request log, see the conversation it had and what is wrong in it, and turn a
tool it called into a catalog tool."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.conversations.transcript_samples import json_lines
from tools_app.models import Tool


def test_paste_a_transcript_and_create_its_unknown_tool(log_in, people, catalog):
    page = log_in(people.editor)
    page.goto("/t/acme/conversations/")
    page.get_by_role("link", name="Import a transcript").click()
    page.get_by_label("Paste").fill(json_lines())
    page.get_by_role("button", name="Import").click()

    problems = page.locator("#transcript-problems")
    expect(problems).to_contain_text("“book_table” is called but not offered in tools.")
    expect(problems).to_contain_text("call “c2” has no tool result.")
    expect(problems).to_contain_text("a tool result for “zz”, which no earlier call has.")
    unknown = page.locator("#unknown-tools")
    expect(unknown.locator("tr", has_text="book_table")).to_contain_text("inferred from the calls")
    expect(unknown.locator("tr", has_text="get_weather")).to_contain_text("as offered")
    page.screenshot(path=str(ARTIFACTS / "transcript-result.png"), full_page=True)

    unknown.get_by_label("get_weather").uncheck()
    page.get_by_role("button", name="Create tools").click()
    expect(page.get_by_text("Created in Travel: book_table.")).to_be_visible()
    expect(unknown.locator("tr", has_text="book_table")).to_have_count(0)
    assert Tool.objects.get(catalog=catalog).name == "book_table"

    page.get_by_role("link", name="Open the conversation").click()
    expect(page.locator("#recorded")).to_be_visible()
    expect(page.locator("#transcript-problems")).to_contain_text("call “c2” has no tool result.")
    expect(page.get_by_text("Paris: 21 degrees.").first).to_be_visible()
    expect(page.get_by_text("book_table").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "transcript-conversation.png"), full_page=True)


def test_a_call_whose_arguments_are_not_json_is_listed_among_the_problems(log_in, people):
    bad = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "c7",
                "type": "function",
                "function": {"name": "book_table", "arguments": "{bad"},
            }
        ],
    }
    messages = [
        {"role": "user", "content": "A table for two?"},
        bad,
        {"role": "tool", "tool_call_id": "c7", "content": "{}"},
    ]
    page = log_in(people.editor)
    page.goto("/t/acme/conversations/")
    page.get_by_role("link", name="Import a transcript").click()
    page.get_by_label("Paste").fill(json.dumps(messages))
    page.get_by_role("button", name="Import").click()

    problems = page.locator("#transcript-problems")
    expect(problems).to_contain_text("“book_table” is called but not offered in tools.")
    expect(problems).to_contain_text("“book_table” (c7): arguments are not valid JSON")
