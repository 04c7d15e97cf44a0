"""Import an app's transcript, change the tool it called, replay the recording's tool calls and
see which results moved."""

from __future__ import annotations

from playwright.sync_api import expect

from conversations.transcript_import import import_transcript
from tests.browser.conftest import ARTIFACTS
from tests.conversations.transcript_samples import json_lines
from tools_app import catalog as catalog_ops


def test_replay_shows_the_changed_result_and_the_missing_tool(log_in, people, tool):
    tool.implementation_config = {"response": {"temp": 21}}
    catalog_ops.save_tool(tool, author=people.editor, message="Answers like the app did")
    page = log_in(people.editor)
    page.goto("/t/acme/conversations/import/")
    page.get_by_label("Paste").fill(json_lines())
    page.get_by_role("button", name="Import").click()
    page.get_by_role("link", name="Open the conversation").click()
    expect(page.locator("#recorded")).to_be_visible()

    # Meanwhile the tool's author changes what it answers (and it now takes two seconds).
    tool.implementation_config = {"response": {"temp": 19}, "latency_ms": 2000}
    catalog_ops.save_tool(tool, author=people.editor, message="Colder")

    page.get_by_role("button", name="Replay tool calls").click()

    # The replay runs in the background: its page shows it running, then the diff.
    expect(page.get_by_role("heading", name="Replay of the recorded tool calls")).to_be_visible()
    expect(page.locator("#job-status")).to_have_text("Running")
    expect(page.locator("#job-count")).to_have_text("0 of 1 conversation")
    page.screenshot(path=str(ARTIFACTS / "replay-running.png"), full_page=True)
    expect(page.locator("#job-status")).to_have_text("Finished")
    expect(page.locator("#job-count")).to_have_text("1 of 1 conversation")
    expect(page.locator("#job-changed")).to_have_text("2 calls changed so far")
    expect(page.locator("#replay-summary")).to_contain_text("0 same")
    expect(page.locator("#replay-summary")).to_contain_text("2 changed")
    # Numbered from 1, as the conversation page numbers the same round.
    expect(page.locator(".replay-round h2")).to_have_count(1)
    expect(page.locator(".replay-round h2")).to_contain_text("Round 1 recorded")
    weather = page.locator("tr.replay-call", has_text="get_weather")
    expect(weather).to_contain_text("now v3")
    expect(weather.locator(".json-diff")).to_contain_text("/temp changed: 21 → 19")
    booking = page.locator("tr.replay-call", has_text="book_table")
    expect(booking).to_contain_text("NO_RESULT")
    expect(booking).to_contain_text("FUNCTION_NOT_FOUND")
    page.screenshot(path=str(ARTIFACTS / "replay-diff.png"), full_page=True)

    page.get_by_role("link", name="Weather in Paris and Oslo?").first.click()
    expect(page.locator("#past-replays li")).to_have_count(1)
    expect(page.get_by_role("button", name="Open in playground")).to_be_visible()
    page.locator("#replays").screenshot(path=str(ARTIFACTS / "replay-panel.png"))


def test_replay_every_recording_in_the_background(log_in, people, tool):
    tool.implementation_config = {"response": {"temp": 21}}
    catalog_ops.save_tool(tool, author=people.editor, message="Answers like the app did")
    import_transcript(tool.catalog.team, json_lines() + json_lines(), user=people.editor)
    tool.implementation_config = {"response": {"temp": 19}}
    catalog_ops.save_tool(tool, author=people.editor, message="Colder")
    page = log_in(people.editor)
    page.goto("/t/acme/conversations/")

    page.get_by_role("link", name="Replay recordings").click()
    page.get_by_label("Recordings of").select_option(label="All the team's recorded conversations")
    page.get_by_role("button", name="Replay them").click()

    expect(page.locator("#job-status")).to_have_text("Finished")
    expect(page.locator("#job-count")).to_have_text("2 of 2 conversations")
    rows = page.locator("#job-results tbody tr")
    expect(rows).to_have_count(2)
    page.screenshot(path=str(ARTIFACTS / "replay-job.png"), full_page=True)
    rows.first.get_by_role("link").click()
    expect(page.locator("#replay-summary")).to_contain_text("2 changed")
