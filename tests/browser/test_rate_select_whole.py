"""The tool editor's "When over the rate" choice is readable whole, on a laptop and a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS

# The text width of the select's longest choice, and the room the select gives its text.
MEASURE = """(select) => {
    const probe = document.createElement("span");
    probe.style.font = getComputedStyle(select).font;
    probe.style.whiteSpace = "nowrap";
    probe.textContent = Array.from(select.options)
        .map((option) => option.text)
        .sort((a, b) => b.length - a.length)[0];
    document.body.append(probe);
    const needed = probe.getBoundingClientRect().width;
    probe.remove();
    const style = getComputedStyle(select);
    const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    const room = select.clientWidth - padding;
    return [needed, room];
}"""


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_the_rate_choice_is_not_cut_off(log_in, people, tool, width, height):
    page = log_in(people.editor)
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/t/acme/c/travel/tools/get_weather/")
    choice = page.get_by_label("When over the rate")
    expect(choice).to_be_visible()
    choice.select_option(label="Reject with RATE_LIMITED")
    needed, room = choice.evaluate(MEASURE)
    # A select's arrow takes about 20 px of its content box.
    assert needed + 20 <= room, f"{needed:.0f} px of text in {room:.0f} px"
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#limits").screenshot(path=str(ARTIFACTS / f"limits-{width}.png"), caret="initial")
