"""The waterfall says how the scale it shows is drawn: the compressed scale's note goes when the
person picks linear, and comes back with compressed."""

from __future__ import annotations

from playwright.sync_api import expect

from conversations.management.commands.bench_pages import make_conversation

SHOT = "test-artifacts/waterfall-scale-note.png"


def test_the_note_follows_the_scale(log_in, people, team):
    conversation = make_conversation(team, rounds=2)
    page = log_in(people.viewer)
    page.goto(f"/t/acme/conversations/{conversation.pk}/")
    page.get_by_text("Waterfall", exact=True).click()
    note = page.locator("#waterfall .scale-note")
    expect(page.locator("#waterfall-charts .scale-compressed")).to_be_visible()
    expect(note).to_have_count(1)
    expect(note).to_contain_text("Compressed:")

    page.get_by_text("linear", exact=True).click()
    expect(page.locator("#waterfall-charts .scale-linear")).to_be_visible()
    expect(note).to_have_count(1)
    expect(note).to_contain_text("Linear:")
    expect(note).not_to_contain_text("Compressed")
    page.locator("#waterfall").screenshot(path=SHOT, caret="initial")

    page.get_by_text("compressed", exact=True).click()
    expect(note).to_contain_text("Compressed:")
