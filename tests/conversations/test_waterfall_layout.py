"""The conversation waterfall's layout: one axis for every round, a scale that keeps short
tool bars visible beside long model calls, and the markup built from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from conversations.waterfall import (
    COMPRESS_ABOVE_MS,
    Span,
    compressed_units,
    conversation_spans,
    waterfall,
)

WIDE_ENOUGH_PX = 24


def model(round_: int, start: float, end: float | None) -> Span:
    status = "ok" if end is not None else "running"
    return Span("model", round_, "model call", status, start, start, end)


def tool(round_: int, start: float, end: float | None, name: str = "get_weather") -> Span:
    return Span("tool", round_, name, "ok" if end is not None else "running", start, start, end)


def five_seconds_then_a_tenth() -> list[Span]:
    return [model(0, 0, 5000), tool(0, 5000, 5100)]


def test_linear_scale_is_proportional():
    chart = waterfall(five_seconds_then_a_tenth(), scale="linear", width=650, label_width=150)
    model_row, tool_row = chart.rows
    assert chart.chart_width == 488
    assert model_row.run_width == pytest.approx(488 * 5000 / 5100, abs=0.02)
    assert tool_row.run_width == pytest.approx(488 * 100 / 5100, abs=0.02)
    assert tool_row.run_width < WIDE_ENOUGH_PX
    assert chart.breaks == []


def test_compressed_scale_keeps_a_100_ms_tool_bar_wide_beside_a_5_s_model_call():
    chart = waterfall(five_seconds_then_a_tenth(), scale="compressed", width=650, label_width=150)
    model_row, tool_row = chart.rows
    model_units = compressed_units(5000)
    assert model_units == pytest.approx(COMPRESS_ABOVE_MS * (1 + 4.321928), rel=1e-6)
    assert tool_row.run_width == pytest.approx(488 * 100 / (model_units + 100), abs=0.02)
    assert tool_row.run_width >= WIDE_ENOUGH_PX
    assert model_row.run_width > tool_row.run_width  # still the longer bar
    assert tool_row.run_x == pytest.approx(model_row.run_x + model_row.run_width, abs=0.02)
    assert len(chart.breaks) == 1 and model_row.run_x < chart.breaks[0] < tool_row.run_x
    assert model_row.label == "R1 model 5.0 s" and tool_row.label == "get_weather 100 ms"


def test_compression_keeps_order_short_stretches_and_continuity():
    assert compressed_units(100) == 100
    assert compressed_units(COMPRESS_ABOVE_MS) == COMPRESS_ABOVE_MS
    assert compressed_units(1000) < compressed_units(2000) < compressed_units(5000) < 5000


def test_rows_of_every_round_in_time_order_with_round_separators():
    spans = [
        tool(1, 6200, 6300, "get_time"),
        model(1, 5200, 6200),
        model(0, 0, 5000),
        tool(0, 5000, 5100, "get_weather"),
        tool(0, 5000, 5150, "get_air_quality"),
    ]
    chart = waterfall(spans, scale="compressed")
    names = [row.label.split(" ")[0] for row in chart.rows]
    assert names == ["R1", "get_weather", "get_air_quality", "R2", "get_time"]
    assert [row.y for row in chart.rows] == sorted(row.y for row in chart.rows)
    assert [sep.label for sep in chart.separators] == ["round 1", "round 2"]
    assert chart.separators[1].x == chart.rows[3].run_x
    assert chart.peak_concurrency == 2


def test_an_idle_gap_between_turns_takes_a_fixed_width():
    spans = [model(0, 0, 100), tool(0, 100, 200), model(1, 600_000, 600_100)]
    chart = waterfall(spans, scale="compressed", width=650, label_width=150)
    gap = chart.rows[2].run_x - (chart.rows[1].run_x + chart.rows[1].run_width)
    assert gap < chart.rows[1].run_width * 2
    assert len(chart.breaks) == 1


def test_calls_still_running_reach_the_latest_moment_and_have_no_duration():
    chart = waterfall([model(0, 0, 5000), tool(0, 5000, None), tool(0, 5000, 5300)])
    running = chart.rows[1]
    assert running.label == "get_weather"
    assert running.run_x + running.run_width == pytest.approx(chart.chart_left + chart.chart_width)


def test_svg_escapes_names_and_marks_the_scale():
    chart = waterfall([model(0, 0, 10), tool(0, 10, 20, name="<b>x</b>")], scale="linear")
    svg = str(chart.svg)
    assert "<b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg
    assert 'data-scale="linear"' in svg and "style=" not in svg


def test_spans_from_records_share_the_conversation_clock():
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    calls = [
        SimpleNamespace(round=0, started_at=t0, duration_ms=5000.0, ok=True, error_kind=""),
        SimpleNamespace(
            round=1, started_at=t0 + timedelta(seconds=6), duration_ms=None, ok=False, error_kind=""
        ),
    ]
    execution = SimpleNamespace(
        tool_name="get_weather",
        status="ok",
        queued_ms=1.0,
        started_ms=2.0,
        finished_ms=102.0,
        error_code="",
    )
    done = SimpleNamespace(
        round=0,
        started_at=t0 + timedelta(milliseconds=5010),
        created_at=t0,
        executions=SimpleNamespace(all=lambda: [execution]),
    )
    spans = conversation_spans(calls, [done])
    assert [(s.kind, s.status, s.queued_ms, s.started_ms, s.end_ms) for s in spans] == [
        ("model", "ok", 0.0, 0.0, 5000.0),
        ("model", "running", 6000.0, 6000.0, None),
        ("tool", "ok", 5011.0, 5012.0, 5112.0),
    ]


def test_a_batch_still_running_counts_from_the_end_of_its_model_call():
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    call = SimpleNamespace(round=0, started_at=t0, duration_ms=800.0, ok=True, error_kind="")
    execution = SimpleNamespace(
        tool_name="get_weather",
        status="running",
        queued_ms=0.0,
        started_ms=5.0,
        finished_ms=None,
        error_code="",
    )
    running = SimpleNamespace(
        round=0,
        started_at=None,
        created_at=t0 + timedelta(seconds=9),
        executions=SimpleNamespace(all=lambda: [execution]),
    )
    tool_span = conversation_spans([call], [running])[1]
    assert (tool_span.queued_ms, tool_span.started_ms, tool_span.end_ms) == (800.0, 805.0, None)
