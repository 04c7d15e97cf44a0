"""A conversation debugger opens the waterfall: slow model calls and fast tools of every round
on one axis, and a compressed scale in which the short tool bars are wide enough to read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.test_conversation import build, make_tools, three_calls
from tests.support.openai_server import Reply

pytestmark = pytest.mark.browser
CHARTS = "#waterfall-charts"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def tool_bar_widths(page, scale: str) -> list[float]:
    bars = page.locator(f"{CHARTS} .scale-{scale} g.wf-row:not(.model-row) rect.run")
    return [
        float(bars.nth(i).get_attribute("width")) * scale_factor(page, scale)
        for i in range(bars.count())
    ]


def scale_factor(page, scale: str) -> float:
    """Drawn pixels per SVG unit, so the widths compare as the person sees them."""
    return page.locator(f"{CHARTS} .scale-{scale} svg").evaluate(
        "svg => svg.getBoundingClientRect().width / svg.viewBox.baseVal.width"
    )


def test_the_waterfall_shows_every_round_and_compresses_long_model_calls(
    log_in, people, catalog, provider, model_server
):
    make_tools(catalog, latency_ms=100)
    model_server.script(
        Reply(tool_calls=three_calls("first"), delay_s=1.5),
        Reply(tool_calls=three_calls("second"), delay_s=1.5),
        Reply(content="Mild, clean air, and it is noon."),
    )
    page = log_in(people.editor)
    build(page, parallel=True)
    # Opened while the model still writes its first answer: the chart follows the run.
    page.get_by_text("Waterfall", exact=True).click()
    expect(page.locator("#status-badge")).to_have_text("Finished", timeout=20_000)

    compressed = page.locator(f"{CHARTS} .scale-compressed")
    linear = page.locator(f"{CHARTS} .scale-linear")
    expect(compressed).to_be_visible()
    expect(linear).to_be_hidden()
    expect(compressed.locator("g.wf-row.model-row")).to_have_count(3)
    expect(compressed.locator("g.wf-row:not(.model-row)")).to_have_count(6)
    expect(compressed.locator("text.round-label")).to_have_text(["round 1", "round 2", "round 3"])
    expect(compressed.locator("text.label").first).to_have_text(re.compile(r"^R1 model \d+\.\d s$"))
    expect(compressed.locator("polyline.break").first).to_be_attached()
    wide = tool_bar_widths(page, "compressed")

    page.get_by_text("linear", exact=True).click()
    expect(linear).to_be_visible()
    expect(compressed).to_be_hidden()
    expect(linear.locator("g.wf-row:not(.model-row)")).to_have_count(6)
    narrow = tool_bar_widths(page, "linear")
    assert all(w > n for w, n in zip(wide, narrow, strict=True)), (wide, narrow)
    assert min(wide) >= 12, wide
    page.get_by_text("compressed", exact=True).click()
    expect(compressed).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#waterfall").screenshot(path=str(ARTIFACTS / "waterfall.png"))


def boxes_apart(a: dict, b: dict) -> bool:
    return (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_on_a_phone_every_round_label_reads_whole_and_clear_of_the_axis_breaks(
    log_in, people, catalog, provider, model_server
):
    make_tools(catalog, latency_ms=100)
    model_server.script(
        Reply(tool_calls=three_calls("first"), delay_s=1.5),
        Reply(tool_calls=three_calls("second"), delay_s=1.5),
        Reply(content="Mild, clean air, and it is noon."),
    )
    page = log_in(people.editor)
    page.set_viewport_size({"width": 390, "height": 844})
    build(page, parallel=True)
    expect(page.locator("#status-badge")).to_have_text("Finished", timeout=20_000)
    page.get_by_text("Waterfall", exact=True).click()

    chart = page.locator(f"{CHARTS} .scale-compressed svg")
    labels = chart.locator("text.round-label")
    expect(labels).to_have_text(["round 1", "round 2", "round 3"])
    frame = chart.bounding_box()
    assert frame is not None
    zigzags = chart.locator("polyline.break")
    expect(zigzags.first).to_be_attached()
    breaks = [zigzags.nth(i).bounding_box() for i in range(zigzags.count())]
    for i in range(3):
        box = labels.nth(i).bounding_box()
        assert box is not None
        assert frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"]
        assert all(zig is not None and boxes_apart(box, zig) for zig in breaks), (box, breaks)
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#waterfall").screenshot(path=str(ARTIFACTS / "waterfall-phone.png"))
