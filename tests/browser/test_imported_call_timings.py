"""Paste a request log with and without timings: a call the log timed shows how long it took,
one it did not shows its duration as unknown (never "0 ms")."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.conversations.test_imported_call_timings import timed_lines
from tests.conversations.transcript_samples import json_lines


def import_and_open(page, text):
    page.goto("/t/acme/conversations/")
    page.get_by_role("link", name="Import a transcript").click()
    page.get_by_label("Paste").fill(text)
    page.get_by_role("button", name="Import").click()
    page.get_by_role("link", name="Open the conversation").click()
    expect(page.locator("#recorded")).to_be_visible()


def test_imported_calls_show_their_timing_or_that_it_is_unknown(log_in, people, catalog):
    page = log_in(people.editor)
    import_and_open(page, json_lines())
    expect(page.locator("#round-0-model")).to_contain_text("model — (untimed)")
    expect(page.locator("#round-1-model")).to_contain_text("model — (untimed)")
    expect(page.locator("#round-0-model")).not_to_contain_text("0 ms")
    page.screenshot(path=str(ARTIFACTS / "imported-untimed.png"), full_page=True)

    import_and_open(page, timed_lines())
    expect(page.locator("#round-0-model")).to_contain_text("model 1.50 s")
    expect(page.locator("#round-1-model")).to_contain_text("model 700 ms")
    page.screenshot(path=str(ARTIFACTS / "imported-timed.png"), full_page=True)
