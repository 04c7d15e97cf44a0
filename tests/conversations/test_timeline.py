"""Gantt arithmetic: bars, queued shading, retries, ticks and the concurrency line."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from conversations.charts import concurrency_steps, format_ms, nice_step
from conversations.timeline import batch_gantt


@dataclass
class Row:
    tool_name: str = "get_weather"
    tool_call_id: str = "call_1"
    status: str = "ok"
    error_code: str = ""
    attempts: int = 1
    queued_ms: float = 0.0
    started_ms: float | None = 0.0
    finished_ms: float | None = 100.0
    retry_marks_ms: list[float] = field(default_factory=list)


def test_bars_are_placed_on_a_shared_time_scale():
    gantt = batch_gantt(
        [Row(started_ms=0, finished_ms=100), Row(queued_ms=0, started_ms=100, finished_ms=200)],
        width=1000,
        label_width=200,
    )
    first, second = gantt.bars
    assert gantt.span_ms == 200
    assert gantt.chart_width == 788
    assert (first.run_x, first.run_width, first.queued_width) == (200, 394, 0)
    assert (second.queued_x, second.queued_width) == (200, 394)
    assert (second.run_x, second.run_width) == (594, 394)
    assert second.y > first.y


def test_status_and_error_code_become_css_classes_and_the_title_says_why():
    (bar,) = batch_gantt([Row(status="error", error_code="TIMEOUT", attempts=3)]).bars
    assert bar.css == "bar-error code-timeout"
    assert bar.title == "get_weather (call_1): TIMEOUT, ran 100 ms, 3 attempts"


def test_retries_are_marked_where_they_happened():
    (bar,) = batch_gantt([Row(retry_marks_ms=[50.0])], width=1000, label_width=200).bars
    assert bar.retry_xs == (594.0,)


def test_a_call_that_never_started_has_no_run_bar():
    (bar,) = batch_gantt(
        [Row(status="error", error_code="INVALID_JSON", started_ms=None, finished_ms=0.5)]
    ).bars
    assert bar.run_width == 0


def test_a_given_span_keeps_side_by_side_charts_comparable():
    gantt = batch_gantt([Row(finished_ms=100)], width=1000, label_width=200, span_ms=400)
    assert gantt.bars[0].run_width == 197


def test_concurrency_steps_count_overlaps_and_end_before_start():
    assert concurrency_steps([(0, 100), (0, 100), (100, 200)]) == [(0, 2), (100, 1), (200, 0)]
    assert concurrency_steps([]) == []


def test_peak_concurrency_and_the_line():
    gantt = batch_gantt([Row(), Row(), Row(started_ms=100, finished_ms=150)])
    assert gantt.peak_concurrency == 2
    assert gantt.concurrency_points.count(",") >= 6


@pytest.mark.parametrize(
    ("span", "step"), [(100, 20), (1000, 200), (64, 20), (7, 2), (0, 1), (2600, 500)]
)
def test_ticks_use_round_steps(span, step):
    assert nice_step(span) == step


def test_ticks_cover_the_span_with_readable_labels():
    gantt = batch_gantt([Row(finished_ms=1000)])
    assert [tick.label for tick in gantt.ticks] == [
        "0 ms",
        "200 ms",
        "400 ms",
        "600 ms",
        "800 ms",
        "1 s",
    ]
    assert format_ms(1500) == "1.5 s"


def test_an_empty_batch_lays_out_without_bars():
    gantt = batch_gantt([])
    assert gantt.bars == [] and gantt.peak_concurrency == 0


def test_a_lead_bar_puts_the_model_call_before_the_calls_it_produced():
    gantt = batch_gantt(
        [Row(started_ms=0, finished_ms=100)], width=1000, label_width=200, lead_ms=300
    )
    model, call = gantt.bars
    assert (model.label, model.css, model.run_x, model.run_width) == (
        "model call",
        "bar-model",
        200,
        591,
    )
    assert model.title == "model call: 300 ms"
    assert (call.run_x, call.run_width) == (791, 197)
    assert call.y > model.y
    assert gantt.span_ms == 400 and gantt.peak_concurrency == 1


def test_the_svg_escapes_every_text_and_keeps_one_group_per_bar():
    hostile = Row(
        tool_name='<script>alert("x")</script>',
        tool_call_id="c&1",
        status="error",
        error_code="TIMEOUT",
        retry_marks_ms=[10.0],
    )
    svg = str(batch_gantt([hostile, Row()], lead_ms=50).svg)
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script" in svg
    assert "c&amp;1" in svg
    assert svg.count("<g class=") == 3
    assert '<g class="call bar-error code-timeout">' in svg
    assert svg.count('<line class="retry"') == 1
    assert 'aria-label="Timeline of 2 calls over 150 ms"' in svg
    assert 'data-span-ms="150.0"' in svg


def test_long_labels_are_shortened_in_the_chart_but_whole_in_the_tooltip():
    name = "a_really_long_tool_name_that_goes_on_and_on"
    svg = str(batch_gantt([Row(tool_name=name)]).svg)
    assert f">{name[:25]}…</text>" in svg
    assert f"<title>{name} (call_1)" in svg
