"""An author with many loose properties reads one collapsed card per kind of hint."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.tools_app.test_lint_hint_groups import SIX_LOOSE_PROPERTIES
from tools_app.schema import WHY


def test_hints_come_one_card_per_kind_collapsed_until_opened(log_in, people, catalog):
    page = log_in(people.editor)
    page.goto("/t/acme/c/travel/new/")
    page.get_by_label("Name").fill("get_report")
    page.get_by_label("Description").fill("A report of sales for a period.")
    page.get_by_label("Parameters").fill(json.dumps(SIX_LOOSE_PROPERTIES))

    cards = page.locator("#findings li.hint-group")
    expect(cards).to_have_count(4)
    numbers = page.locator("#findings li.warning[data-code=unbounded_number]")
    expect(numbers).to_contain_text("Numbers without bounds")
    expect(numbers).to_contain_text("days, limit, offset, a/b")
    why = numbers.get_by_text(WHY["unbounded_number"])
    expect(why).to_be_hidden()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "hints-collapsed.png"), full_page=True, caret="initial")

    numbers.get_by_text("Numbers without bounds").click()
    expect(why).to_be_visible()
    expect(numbers.locator(".hint-items li")).to_have_count(4)
    expect(numbers.locator("code.path").last).to_have_text("/properties/a~1b")
    page.screenshot(path=str(ARTIFACTS / "hints-open.png"), full_page=True, caret="initial")

    # Typing on re-checks the tool; the card the author opened stays open.
    page.get_by_label("Description").fill("A report of sales for a period, by day.")
    expect(page.locator("#tools-entry")).to_contain_text("by day")
    expect(why).to_be_visible()
