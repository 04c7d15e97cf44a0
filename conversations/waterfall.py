"""The conversation waterfall: every model call and tool call of every round on one time axis.

`conversation_spans` turns the records into spans (milliseconds from the conversation's first
record); `waterfall` lays them out, unit-tested alone; `render_waterfall_svg` is the one markup.
The frame, bar geometry, ticks and SVG building blocks it shares with the batch gantt live in
`charts`; this module owns what only the waterfall has: spans of model and tool calls across
rounds, the compressed (broken) time axis, round separators, and the waterfall's `<svg>` tag.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from itertools import pairwise
from typing import Any, Literal

from django.utils.safestring import SafeString

from .charts import (
    Bar,
    BarStyle,
    Chart,
    Frame,
    Piece,
    Tick,
    break_svg,
    chart_svg,
    clip,
    format_ms,
    linear_ticks,
    place_bar,
    seconds_or_ms,
    svg_number,
    svg_open,
    tick_svg,
    units_at,
)

Scale = Literal["compressed", "linear"]
SCALES: tuple[Scale, ...] = ("compressed", "linear")

# Quiet stretches longer than this are drawn compressed in the compressed scale.
COMPRESS_ABOVE_MS = 250.0
# An idle stretch (nothing running: a person typing the next turn) takes this many units.
IDLE_UNITS = 120.0
LABEL_CHARS = 24
# The axis's texts are 10 px monospace (0.6 em a character): how wide a label is, to keep it in.
TEXT_CHAR_WIDTH = 6.0

WATERFALL_BARS = BarStyle(
    group="wf-row",
    height=14,
    run_rx=2,
    label_gap=6,
    label_dy=11,
    mark_half_height=6,
    mark_half_width=6,
    concurrency_label_dy=12,
)


@dataclass(frozen=True)
class Span:
    """One row: a model call (queued == started) or a tool call. `end_ms` None: not finished."""

    kind: Literal["model", "tool"]
    round: int
    name: str
    status: str
    queued_ms: float
    started_ms: float | None
    end_ms: float | None
    error_code: str = ""


@dataclass(kw_only=True)
class Waterfall(Chart):
    scale: Scale
    separators: list[Tick] = field(default_factory=list)
    breaks: list[float] = field(default_factory=list)

    @property
    def rows(self) -> list[Bar]:
        """One bar a span, in time order."""
        return self.bars

    @property
    def svg(self) -> SafeString:
        return render_waterfall_svg(self)


def compressed_units(duration_ms: float, cap_ms: float = COMPRESS_ABOVE_MS) -> float:
    """Width in units of a quiet stretch: linear up to `cap_ms`, then logarithmic
    (cap * (1 + log2(d / cap))), so 5 s reads longer than 1 s but not fifty 100 ms bars long."""
    if duration_ms <= cap_ms:
        return duration_ms
    return cap_ms * (1 + math.log2(duration_ms / cap_ms))


def axis_pieces(
    spans: Sequence[Span], end_ms: float, scale: Scale, cap_ms: float = COMPRESS_ABOVE_MS
) -> list[Piece]:
    """The time axis cut at every span's edge. Linear: one piece, units = ms. Compressed:
    each stretch between two edges keeps its length up to `cap_ms`; a longer one that some
    span covers (a model call, a slow tool alone) is drawn by `compressed_units`, and one that
    nothing covers (idle between turns) takes `IDLE_UNITS`; both are marked broken."""
    if scale == "linear":
        return [Piece(0.0, end_ms, 0.0, end_ms)]
    intervals = [(s.queued_ms, s.end_ms if s.end_ms is not None else end_ms) for s in spans]
    edges = sorted({0.0, end_ms, *(t for interval in intervals for t in interval)})
    pieces: list[Piece] = []
    units = 0.0
    for t0, t1 in pairwise(edges):
        length = t1 - t0
        if length <= cap_ms:
            width, broken = length, False
        elif any(a <= t0 and t1 <= b for a, b in intervals):
            width, broken = compressed_units(length, cap_ms), True
        else:
            width, broken = min(IDLE_UNITS, length), True
        pieces.append(Piece(t0, t1, units, units + width, broken))
        units += width
    return pieces or [Piece(0.0, end_ms, 0.0, end_ms)]


def _label(span: Span, duration: float | None) -> str:
    name = clip(f"R{span.round + 1} model" if span.kind == "model" else span.name, LABEL_CHARS - 8)
    return name if duration is None else f"{name} {seconds_or_ms(duration)}"


def _anchor(chart: Waterfall, x: float) -> str:
    """Texts at the chart's edges lean inwards instead of being cut off."""
    if x > chart.chart_left + chart.chart_width - 24:
        return "end"
    return "start" if x < chart.chart_left + 12 else "middle"


def waterfall(
    spans: Sequence[Span],
    *,
    scale: Scale = "compressed",
    width: float = 640,
    label_width: float = 150,
    row_height: float = WATERFALL_BARS.height,
    row_gap: float = 4,
    axis_height: float = 34,
    concurrency_height: float = 36,
) -> Waterfall:
    """One row per span in time order, round separators, and the tools' concurrency line.

    In the compressed scale a 5 s model call beside 100 ms tools reads as a broken axis: the
    quiet stretch inside the model call is drawn log-compressed with a zig-zag on the axis,
    its real duration in the row's label, while every stretch under 250 ms keeps its length,
    so short tool bars stay wide enough to see and compare.
    """
    rows_in_order = sorted(spans, key=lambda s: (s.queued_ms, s.round, s.kind != "model"))
    known = [t for s in spans for t in (s.queued_ms, s.started_ms, s.end_ms) if t is not None]
    end = max(max(known, default=0.0), 1.0)
    pieces = axis_pieces(rows_in_order, end, scale)
    total_units = max(pieces[-1].u1, 1.0)
    frame = Frame(width, label_width, row_height, row_gap, axis_height, concurrency_height)
    chart_left, chart_width = frame.chart_left, frame.chart_width

    ends = [piece.t1 for piece in pieces]

    def x(ms: float) -> float:
        return round(chart_left + chart_width * units_at(pieces, ms, ends) / total_units, 2)

    rows: list[Bar] = []
    for index, span in enumerate(rows_in_order):
        finished = span.end_ms if span.end_ms is not None else end
        run_from = span.started_ms if span.started_ms is not None else finished
        duration = None if span.end_ms is None or span.started_ms is None else finished - run_from
        outcome = span.error_code or span.status
        title = f"round {span.round + 1} · {span.name}: {outcome}"
        if duration is not None:
            title += f", {format_ms(round(duration, 1))}"
        if run_from > span.queued_ms:
            title += f", queued {format_ms(round(run_from - span.queued_ms, 1))}"
        css = "bar-model" if span.kind == "model" and span.status == "ok" else f"bar-{span.status}"
        if span.kind == "model":
            css += " model-row"
        rows.append(
            place_bar(
                x,
                label=_label(span, duration),
                title=title,
                css=css,
                y=frame.row_y(index),
                queued_ms=span.queued_ms,
                started_ms=span.started_ms,
                finished_ms=span.end_ms,
                end_ms=end,
            )
        )
    first_of_round: dict[int, float] = {}
    for span in rows_in_order:
        first_of_round.setdefault(span.round, span.queued_ms)
    if scale == "linear":
        ticks = linear_ticks(x, end)
    else:
        ticks = [Tick(x(0), "0 ms"), Tick(x(end), seconds_or_ms(end))]
    tools_ran = (
        (s.started_ms, s.end_ms if s.end_ms is not None else end)
        for s in rows_in_order
        if s.kind == "tool" and s.started_ms is not None
    )
    return frame.chart(
        Waterfall,
        bars=rows,
        span_ms=end,
        ticks=ticks,
        intervals=tools_ran,
        x=x,
        scale=scale,
        separators=[Tick(x(t), f"round {n + 1}") for n, t in sorted(first_of_round.items())],
        breaks=[x((p.t0 + p.t1) / 2) for p in pieces if p.broken],
    )


def conversation_spans(model_calls: Iterable[Any], batches: Iterable[Any]) -> list[Span]:
    """Spans from ModelCall rows (started_at, duration_ms) and each Batch's ToolExecution rows
    (queued/started/finished ms from the batch's start). A batch still running has no
    `started_at` yet: its calls count from the end of the round's model call.

    Untimed records (`ModelCall.timed` false: an imported transcript without timings) have no
    place on a time axis: such calls, and the unstarted batches of their rounds, are left out."""
    every_call = list(model_calls)
    untimed = {c.round for c in every_call if not getattr(c, "timed", True)}
    calls = [c for c in every_call if getattr(c, "timed", True)]
    batch_list = [b for b in batches if b.started_at is not None or (b.round or 0) not in untimed]
    moments: list[datetime] = [c.started_at for c in calls]
    moments += [b.started_at or b.created_at for b in batch_list]
    if not moments:
        return []
    origin = min(moments)

    def ms(moment: datetime) -> float:
        return (moment - origin).total_seconds() * 1000

    spans: list[Span] = []
    model_end: dict[int, float] = {}
    for call in calls:
        start = ms(call.started_at)
        end = None if call.duration_ms is None else start + call.duration_ms
        if end is not None:
            model_end[call.round] = end
        status = "ok" if call.ok and end is not None else ("running" if end is None else "error")
        spans.append(
            Span("model", call.round, "model call", status, start, start, end, call.error_kind)
        )
    for batch in batch_list:
        if batch.started_at is not None:
            base = ms(batch.started_at)
        else:
            base = model_end.get(batch.round or 0, ms(batch.created_at))
        for e in batch.executions.all():
            spans.append(
                Span(
                    "tool",
                    batch.round or 0,
                    e.tool_name,
                    e.status,
                    base + e.queued_ms,
                    None if e.started_ms is None else base + e.started_ms,
                    None if e.finished_ms is None else base + e.finished_ms,
                    e.error_code,
                )
            )
    return spans


def render_waterfall_svg(chart: Waterfall) -> SafeString:
    """The waterfall as SVG markup, built as one string like `timeline.render_svg`: every
    text is escaped; positions are numbers."""
    _n = svg_number
    bottom = _n(chart.bars_bottom)
    models = sum(1 for row in chart.rows if "model-row" in row.css)
    opening = svg_open(
        chart.width,
        chart.height,
        [
            ("class", f"waterfall-{chart.scale}"),
            ("data-scale", chart.scale),
            (
                "aria-label",
                f"Waterfall, {chart.scale} scale: {models} model calls and "
                f"{len(chart.rows) - models} tool calls over {format_ms(round(chart.span_ms))}",
            ),
        ],
    )
    axis = [
        tick_svg(
            tick,
            grid_top=14,
            grid_bottom=chart.bars_bottom,
            label_y=10,
            anchor=_anchor(chart, tick.x),
        )
        for tick in chart.ticks
    ]
    # The axis band, top to bottom: tick labels (baseline 10), the zig-zags of compressed
    # stretches (12 to 20), round labels (baseline 29), so none covers another.
    for bx in chart.breaks:
        axis.append(break_svg(bx, zig_top=12, line_top=30, line_bottom=chart.bars_bottom))
    for sep in chart.separators:
        sx = _n(sep.x)
        # A label that would run past the chart's right edge ends at its line instead.
        lean = sep.x + 3 + len(sep.label) * TEXT_CHAR_WIDTH > chart.width
        axis.append(
            f'<line class="round-sep" x1="{sx}" x2="{sx}" y1="16" y2="{bottom}"></line>'
            f'<text class="round-label" x="{_n(sep.x - 3 if lean else sep.x + 3)}" y="29" '
            f'text-anchor="{"end" if lean else "start"}">{escape(sep.label)}</text>'
        )
    return chart_svg(chart, opening, axis, WATERFALL_BARS)


def chosen_scale(value: str | None) -> Scale:
    """The scale a page asked for (`?scale=`), compressed unless it names the other one."""
    return "linear" if value == "linear" else "compressed"


def conversation_waterfall(records: Any, scale: Scale = "compressed") -> Waterfall | None:
    """The conversation's waterfall in one scale (the page draws the one chosen, and fetches the
    other when asked), from `view_models.Records`; None when nothing has run."""
    spans = conversation_spans(records.model_calls, records.batches)
    if not spans:
        return None
    return waterfall(spans, scale=scale)
