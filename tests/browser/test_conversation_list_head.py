"""The conversations list's head reads as one: the title on the left, its actions (replaying
recordings, importing, starting a conversation) together on the right, not scattered."""

from __future__ import annotations

from playwright.sync_api import expect

from conversations.management.commands.bench_pages import make_conversation

SHOT = "test-artifacts/conversation-list-head.png"


def test_the_actions_sit_together_on_the_right(log_in, people, team):
    make_conversation(team, rounds=1)
    page = log_in(people.editor)
    page.goto("/t/acme/conversations/")
    new = page.get_by_role("link", name="New conversation").bounding_box()
    replay = page.get_by_role("link", name="Replay recordings").bounding_box()
    table = page.locator("#conversations").bounding_box()
    assert new and replay and table
    assert abs((new["x"] + new["width"]) - (table["x"] + table["width"])) < 4
    assert abs(replay["y"] - new["y"]) < 4 and replay["x"] < new["x"]
    page.screenshot(path=SHOT)

    page.context.clear_cookies()
    page = log_in(people.viewer)
    page.goto("/t/acme/conversations/")
    expect(page.get_by_role("link", name="Replay recordings")).to_be_visible()
    expect(page.get_by_role("link", name="New conversation")).to_have_count(0)
