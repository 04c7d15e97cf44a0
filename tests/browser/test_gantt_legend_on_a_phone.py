"""On a phone, a round's chart scrolls in its box and its legend wraps below it: every colour
key stays beside its word, none squeezed to nothing."""

from __future__ import annotations

from playwright.sync_api import expect

from conversations.management.commands.bench_pages import make_conversation
from tests.browser.conftest import COUNT_SNAPSHOTS, after_the_snapshot

PHONE = {"width": 390, "height": 844}
SHOT = "test-artifacts/gantt-legend-phone.png"


def test_the_legend_keeps_its_keys_on_a_phone(log_in, people, team):
    conversation = make_conversation(team, rounds=1)
    page = log_in(people.viewer)
    page.set_viewport_size(PHONE)
    page.add_init_script(COUNT_SNAPSHOTS)
    page.goto(f"/t/acme/conversations/{conversation.pk}/")
    after_the_snapshot(page)  # it redraws the rounds; they are measured after it
    legend = page.locator("#round-0 .legend")
    expect(legend).to_be_visible()
    expect(legend.locator(".legend-item")).to_have_count(6)
    for item in legend.locator(".legend-item").all():
        key, word = item.locator(".key").bounding_box(), item.bounding_box()
        assert key and key["width"] >= 3, f"a squeezed key in {item.inner_text()!r}"
        # The key and its word are on one line.
        assert word and word["height"] < 2.2 * 16, f"{item.inner_text()!r} wraps"
    box = legend.bounding_box()
    assert box and box["x"] + box["width"] <= PHONE["width"]
    legend.screenshot(path=SHOT)
