"""The chart primitives the batch gantt and the conversation waterfall share: the frame, a bar's
geometry, ticks, duration texts, the concurrency line and the SVG building blocks."""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import pairwise

import pytest
from django.utils.safestring import SafeString

from conversations.charts import (
    MIN_RUN_WIDTH,
    Bar,
    Chart,
    Frame,
    Tick,
    bar_svg,
    chart_svg,
    clip,
    concurrency_polyline,
    format_ms,
    linear_ticks,
    place_bar,
    seconds_or_ms,
    svg_number,
    svg_open,
    tick_svg,
)
from conversations.timeline import GANTT_BARS

# 1000 units wide with a 200-unit label column: 788 units of chart, so 1 ms is 0.788 units
# over a 1000 ms span.
FRAME = Frame(
    width=1000, label_width=200, row_height=20, row_gap=6, axis_height=28, concurrency_height=44
)
STYLE = replace(GANTT_BARS, label_chars=10)  # the gantt's rows, with short labels


def at(ms: float) -> float:
    return FRAME.linear_scale(1000)(ms)


def bar(**overrides: object) -> Bar:
    given: dict[str, object] = {
        "label": "get_weather",
        "title": "get_weather: ok",
        "css": "bar-ok",
        "y": 28,
        "queued_ms": 0.0,
        "started_ms": 0.0,
        "finished_ms": 100.0,
        "end_ms": 1000.0,
    }
    given.update(overrides)
    return place_bar(at, **given)  # type: ignore[arg-type]


def test_the_frame_puts_labels_left_rows_under_the_axis_and_the_band_under_the_rows():
    assert (FRAME.chart_left, FRAME.chart_width) == (200, 788)
    assert [FRAME.row_y(i) for i in range(3)] == [28, 54, 80]
    assert FRAME.rows_bottom(3) == 106


def test_the_linear_scale_maps_the_span_onto_the_chart_and_clamps_outside_it():
    x = FRAME.linear_scale(1000)
    assert (x(0), x(500), x(1000)) == (200, 594, 988)
    assert (x(-50), x(2000)) == (200, 988)


def test_a_laid_out_chart_stacks_rows_then_the_concurrency_band():
    bars = [bar(), bar(y=54)]
    chart = FRAME.chart(
        Chart, bars=bars, span_ms=1000, ticks=[], intervals=[(0, 100), (50, 150)], x=at
    )
    assert chart.bars_bottom == 80
    assert chart.concurrency_top == 90
    assert chart.height == 90 + 44 + 18
    assert chart.peak_concurrency == 2
    assert chart.bars == bars


def test_a_call_is_queued_until_it_starts_then_runs_until_it_finishes():
    placed = bar(queued_ms=0, started_ms=250, finished_ms=500)
    assert (placed.queued_x, placed.queued_width) == (200, 197)
    assert (placed.run_x, placed.run_width) == (397, 197)
    assert placed.mark_x is None


def test_a_call_still_running_is_drawn_to_the_end_without_a_marker():
    placed = bar(started_ms=500, finished_ms=None, end_ms=1000)
    assert (placed.run_x, placed.run_width) == (594, 394)
    assert placed.mark_x is None


def test_a_call_refused_before_running_has_no_run_bar_but_a_marker_where_it_ended():
    placed = bar(queued_ms=0, started_ms=None, finished_ms=500)
    assert placed.run_width == 0
    assert placed.queued_width == 394
    assert placed.mark_x == at(500)


def test_a_call_stopped_while_it_waited_for_approval_is_its_wait_without_a_marker():
    placed = bar(queued_ms=0, started_ms=None, finished_ms=500, wait_ms=(0, 500))
    assert placed.run_width == 0 and placed.wait_width == 394
    assert placed.mark_x is None
    assert 'class="mark"' not in bar_svg(placed, STYLE, "192")


@pytest.mark.parametrize("status", ["bar-ok", "bar-error"])
def test_a_call_that_ran_too_short_to_see_is_a_minimum_width_bar_never_the_failed_at_once_mark(
    status,
):
    placed = bar(css=status, started_ms=100, finished_ms=100)
    assert placed.run_width == MIN_RUN_WIDTH
    assert placed.mark_x is None
    assert 'class="mark"' not in bar_svg(placed, STYLE, "192")


def test_a_call_that_never_started_nor_finished_is_only_queued():
    placed = bar(queued_ms=100, started_ms=None, finished_ms=None, end_ms=1000)
    assert (placed.queued_x, placed.queued_width) == (at(100), round(at(1000) - at(100), 2))
    assert (placed.run_width, placed.mark_x) == (0, None)


def test_approval_waits_and_retries_are_placed_on_the_same_scale():
    placed = bar(retry_marks_ms=[250.0, 500.0], wait_ms=(100.0, 600.0))
    assert placed.retry_xs == (at(250), at(500))
    assert (placed.wait_x, placed.wait_width) == (at(100), 394)
    assert (bar().wait_x, bar().wait_width, bar().retry_xs) == (0, 0, ())


@pytest.mark.parametrize(
    ("span", "labels"),
    [
        (1000, ["0 ms", "200 ms", "400 ms", "600 ms", "800 ms", "1 s"]),
        (45, ["0 ms", "10 ms", "20 ms", "30 ms", "40 ms"]),
        (2500, ["0 ms", "500 ms", "1 s", "1.5 s", "2 s", "2.5 s"]),
    ],
)
def test_linear_ticks_step_1_2_5_from_zero_to_the_span(span, labels):
    ticks = linear_ticks(FRAME.linear_scale(span), span)
    assert [tick.label for tick in ticks] == labels
    assert ticks[0].x == 200
    assert all(a.x < b.x for a, b in pairwise(ticks))


def test_durations_read_exactly_or_at_a_glance():
    assert (format_ms(250), format_ms(1500), format_ms(0.5)) == ("250 ms", "1.5 s", "0.5 ms")
    assert (seconds_or_ms(250.4), seconds_or_ms(1549), seconds_or_ms(61000)) == (
        "250 ms",
        "1.5 s",
        "61.0 s",
    )


def test_long_labels_are_clipped_with_an_ellipsis():
    assert clip("get_weather", 11) == "get_weather"
    assert clip("get_weather", 8) == "get_wea…"
    assert len(clip("x" * 100, 26)) == 26


def test_the_concurrency_line_steps_at_every_change_and_peaks_at_the_top():
    points, peak = concurrency_polyline([(0, 500), (250, 1000)], at, top=100, height=40, end=1000)
    assert peak == 2
    assert points == (
        "200.0,140.0 200.0,140.0 200.0,120.0 397.0,120.0 397.0,100.0 "
        "594.0,100.0 594.0,120.0 988.0,120.0 988.0,140.0 988.0,140.0"
    )
    assert concurrency_polyline([], at, top=100, height=40, end=1000) == ("", 0)


def test_coordinates_are_short():
    assert [svg_number(v) for v in (12, 12.5, 12.345, 0.0, 7.10)] == [
        "12",
        "12.5",
        "12.35",
        "0",
        "7.1",
    ]


def test_the_svg_tag_escapes_its_attributes():
    tag = svg_open(640, 120.5, [("aria-label", 'a "quoted" <name>'), ("data-scale", "linear")])
    assert tag == (
        '<svg viewBox="0 0 640 120.5" role="img" '
        'aria-label="a &quot;quoted&quot; &lt;name&gt;" data-scale="linear">'
    )


def test_a_tick_is_a_grid_line_and_an_escaped_label():
    markup = tick_svg(Tick(394.5, "<1 s>"), grid_top=18, grid_bottom=80, label_y=12, anchor="end")
    assert markup == (
        '<line class="grid" x1="394.5" x2="394.5" y1="18" y2="80"></line>'
        '<text class="tick" x="394.5" y="12" text-anchor="end">&lt;1 s&gt;</text>'
    )


def test_a_bar_is_a_group_with_its_tooltip_label_shades_marker_and_retries():
    placed = bar(
        label="<b>weather_now</b>",
        title='said "no" & stopped',
        css="bar-error code-timeout",
        queued_ms=0,
        started_ms=None,
        finished_ms=100,
        retry_marks_ms=[50.0],
        wait_ms=(0.0, 50.0),
    )
    markup = bar_svg(placed, STYLE, "192")
    assert markup.startswith('<g class="call bar-error code-timeout">')
    assert "<title>said &quot;no&quot; &amp; stopped</title>" in markup
    assert '<text class="label" x="192" y="42" text-anchor="end">&lt;b&gt;weathe…</text>' in markup
    assert '<rect class="queued" x="200" y="28" width="78.8" height="20" rx="2"></rect>' in markup
    assert '<rect class="wait" x="200" y="28" width="39.4" height="20" rx="2"></rect>' in markup
    assert '<rect class="run" x="278.8" y="28" width="0" height="20" rx="3"></rect>' in markup
    assert '<polygon class="mark" points="278.8,30 285.8,38 278.8,46 271.8,38"></polygon>' in markup
    assert '<line class="retry" x1="239.4" x2="239.4" y1="26" y2="50"></line>' in markup
    assert markup.endswith("</g>")


def test_a_bar_without_queue_wait_or_marker_draws_only_its_run():
    markup = bar_svg(bar(), STYLE, "192")
    assert 'class="queued"' not in markup
    assert 'class="wait"' not in markup
    assert 'class="mark"' not in markup
    assert 'class="retry"' not in markup
    assert markup.count("<rect") == 1


@dataclass(kw_only=True)
class Plain(Chart):
    pass


def test_a_chart_draws_axis_then_bars_then_the_concurrency_line_when_anything_ran():
    chart = FRAME.chart(Plain, bars=[bar()], span_ms=1000, ticks=[], intervals=[(0, 100)], x=at)
    svg = chart_svg(chart, "<svg>", ["<axis/>"], STYLE)
    assert isinstance(svg, SafeString)
    assert svg.startswith("<svg><axis/><g class=")
    assert '<text class="tick" x="192" y="78" text-anchor="end">concurrency (peak 1)</text>' in svg
    assert svg.endswith(
        f'<polyline class="concurrency" points="{chart.concurrency_points}"></polyline></svg>'
    )

    idle = FRAME.chart(Plain, bars=[], span_ms=1000, ticks=[], intervals=[], x=at)
    assert chart_svg(idle, "<svg>", [], STYLE) == "<svg></svg>"


@pytest.mark.parametrize(
    "ms, label",
    [
        (30.653, "30.7 ms"),
        (11539.2, "11.5 s"),
        (2365.82, "2.37 s"),
        (0.12345, "0.123 ms"),
        (999.96, "1 s"),  # rounds up into seconds, not "1e+03 ms"
        (1_234_567, "1230 s"),  # no exponent
        (0, "0 ms"),
    ],
)
def test_durations_are_shown_to_three_significant_figures(ms, label):
    assert format_ms(ms) == label


def test_more_figures_when_asked():
    assert format_ms(1_500_100, significant=6) == "1500.1 s"
