"""The waterfall's "round N" labels stay readable: inside the chart at its right edge (narrow
charts, like a comparison page's columns), and clear of the compressed axis's zig-zag marks."""

from __future__ import annotations

import re

from conversations.waterfall import Span, waterfall

# The chart's texts are 10 px monospace: a character is 0.6 em wide, a label's top sits about
# 8 units above its baseline.
CHAR_WIDTH = 6.0
CAP_HEIGHT = 8.0


def model(round_: int, start: float, end: float) -> Span:
    return Span("model", round_, "model call", "ok", start, start, end)


def tool(round_: int, start: float, end: float) -> Span:
    return Span("tool", round_, "get_weather", "ok", start, start, end)


def round_labels(svg: str) -> list[tuple[float, float, float, float, str]]:
    """Each round label's box (left, right, top, bottom) and text."""
    boxes = []
    pattern = r'<text class="round-label" x="([\d.]+)" y="([\d.]+)" text-anchor="(\w+)">([^<]*)<'
    for x, y, anchor, text in re.findall(pattern, svg):
        width = len(text) * CHAR_WIDTH
        left = float(x) - width if anchor == "end" else float(x)
        boxes.append((left, left + width, float(y) - CAP_HEIGHT, float(y), text))
    return boxes


def zigzags(svg: str) -> list[tuple[float, float, float, float]]:
    """Each axis-break zig-zag's box (left, right, top, bottom)."""
    boxes = []
    for points in re.findall(r'<polyline class="break" points="([^"]*)"', svg):
        xs, ys = zip(*(map(float, p.split(",")) for p in points.split()), strict=True)
        boxes.append((min(xs), max(xs), min(ys), max(ys)))
    return boxes


def test_the_last_rounds_label_near_the_right_edge_stays_inside_a_narrow_chart():
    spans = [model(0, 0, 100), tool(0, 100, 200), model(1, 220, 260)]
    chart = waterfall(spans, scale="linear", width=300, label_width=110)
    labels = round_labels(str(chart.svg))
    assert [text for *_, text in labels] == ["round 1", "round 2"]
    for left, right, _, _, text in labels:
        assert chart.chart_left <= left and right <= chart.width, text


def test_the_round_labels_keep_clear_of_the_axis_break_marks():
    # Round 1's model call is just long enough to be compressed and a long round follows, so
    # its break mark falls right under the "round 1" label.
    spans = [
        model(0, 0, 300),
        tool(0, 300, 400),
        model(1, 600_000, 605_000),
        tool(1, 605_000, 605_100),
    ]
    svg = str(waterfall(spans, scale="compressed").svg)
    labels, breaks = round_labels(svg), zigzags(svg)
    assert len(labels) == 2 and len(breaks) == 3
    first_label = labels[0]
    assert any(left <= first_label[1] and first_label[0] <= right for left, right, *_ in breaks)
    for l_left, l_right, l_top, l_bottom, text in labels:
        for b_left, b_right, b_top, b_bottom in breaks:
            apart = l_right < b_left or b_right < l_left or l_bottom < b_top or b_bottom < l_top
            assert apart, f"{text} overlaps the zig-zag at {b_left}..{b_right}"
