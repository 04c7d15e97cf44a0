"""What the server-rendered time charts share: the batch gantt (`timeline`) and the conversation
waterfall (`waterfall`) are both rows of bars on one time axis above a concurrency line.

This module owns that common ground: the frame (label column, rows, axis, concurrency band),
a bar's geometry (queued shading, run bar, the marker of a call too short to see, approval
waits, retries), the time axis's ticks and the texts of durations, the concurrency line, and the
SVG building blocks both renderers assemble. It knows nothing of batches, rounds or records:
each chart module turns its own records into moments and calls these. The SVG is built as one
string (a live frame of a 200-call batch is redrawn many times a second and a template loop
costs ~15x more); every text is escaped here, positions are numbers, and there are attributes
only, no inline styles, so the Content-Security-Policy stays strict.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from html import escape
from typing import Any, TypeVar

from django.utils.safestring import SafeString, mark_safe

# Where a moment (ms from the chart's origin) sits along the chart, in SVG units.
TimeScale = Callable[[float], float]
ChartT = TypeVar("ChartT", bound="Chart")

# The narrowest run bar of a call that started: a fast call (a 0 ms tool) still reads as a bar
# in its status's colour. Only a call that finished without ever running (refused by
# validation, denied, an unknown function) gets the "failed at once" marker instead.
MIN_RUN_WIDTH = 2.0
# Space kept free right of the chart area.
RIGHT_MARGIN = 12
# Between the last row and the concurrency band, and under the band.
CONCURRENCY_GAP = 10
BOTTOM_MARGIN = 18


@dataclass(frozen=True)
class Tick:
    """A labelled place on the axis: a time tick, or (on the waterfall) a round's start."""

    x: float
    label: str


@dataclass(frozen=True)
class Bar:
    """One row's geometry in chart units; `run_width` is 0 for a call that never ran."""

    label: str
    title: str
    css: str
    y: float
    queued_x: float
    queued_width: float
    run_x: float
    run_width: float
    retry_xs: tuple[float, ...] = ()
    # Where a call that finished without running (failed at once) gets a marker instead.
    mark_x: float | None = None
    # Time spent waiting for a person's approval: a span of its own, not the tool's time.
    wait_x: float = 0.0
    wait_width: float = 0.0


@dataclass(frozen=True)
class Piece:
    """A stretch of time [t0, t1] drawn over units [u0, u1]; `broken` when compressed."""

    t0: float
    t1: float
    u0: float
    u1: float
    broken: bool = False


def units_at(pieces: Sequence[Piece], t: float, ends: Sequence[float] | None = None) -> float:
    """Where moment `t` lies on an axis cut into `pieces`; `ends` (each piece's t1,
    ascending) finds its piece by bisection, for charts of thousands of rows."""
    index = bisect.bisect_left(ends if ends is not None else [p.t1 for p in pieces], t)
    if index == len(pieces):
        return pieces[-1].u1
    piece = pieces[index]
    if piece.t1 == piece.t0:
        return piece.u0
    share = (max(t, piece.t0) - piece.t0) / (piece.t1 - piece.t0)
    return piece.u0 + share * (piece.u1 - piece.u0)


@dataclass(kw_only=True)
class Chart:
    """A laid-out chart: what both renderers read. `span_ms` is the time the axis covers."""

    width: float
    height: float
    chart_left: float
    chart_width: float
    bars_bottom: float
    span_ms: float
    bars: list[Bar] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    concurrency_points: str = ""
    concurrency_top: float = 0
    peak_concurrency: int = 0


@dataclass(frozen=True)
class Frame:
    """Where a chart's parts sit: labels left of `label_width`, rows from `axis_height` down,
    the concurrency band of `concurrency_height` under the rows."""

    width: float
    label_width: float
    row_height: float
    row_gap: float
    axis_height: float
    concurrency_height: float

    @property
    def chart_left(self) -> float:
        return self.label_width

    @property
    def chart_width(self) -> float:
        return self.width - self.label_width - RIGHT_MARGIN

    def row_y(self, index: int) -> float:
        return round(self.axis_height + index * (self.row_height + self.row_gap), 2)

    def rows_bottom(self, rows: int) -> float:
        return self.axis_height + rows * (self.row_height + self.row_gap)

    def linear_scale(self, span_ms: float) -> TimeScale:
        """Milliseconds to chart units, clamped to [0, span_ms]."""
        left, width = self.chart_left, self.chart_width

        def x(ms: float) -> float:
            return round(left + width * max(0.0, min(ms, span_ms)) / span_ms, 2)

        return x

    def chart(
        self,
        kind: type[ChartT],
        *,
        bars: list[Bar],
        span_ms: float,
        ticks: list[Tick],
        intervals: Iterable[tuple[float, float]],
        x: TimeScale,
        **details: Any,
    ) -> ChartT:
        """The chart of `kind` once `bars` are placed, with the concurrency line of `intervals`
        (when each call ran) under them; `details` are the fields of `kind` of its own."""
        bottom = self.rows_bottom(len(bars))
        top = bottom + CONCURRENCY_GAP
        points, peak = concurrency_polyline(intervals, x, top, self.concurrency_height, span_ms)
        return kind(
            width=self.width,
            height=round(top + self.concurrency_height + BOTTOM_MARGIN, 2),
            chart_left=self.chart_left,
            chart_width=self.chart_width,
            bars_bottom=bottom,
            span_ms=span_ms,
            bars=bars,
            ticks=ticks,
            concurrency_points=points,
            concurrency_top=top,
            peak_concurrency=peak,
            **details,
        )


def place_bar(
    x: TimeScale,
    *,
    label: str,
    title: str,
    css: str,
    y: float,
    queued_ms: float,
    started_ms: float | None,
    finished_ms: float | None,
    end_ms: float,
    retry_marks_ms: Iterable[float] = (),
    wait_ms: tuple[float, float] | None = None,
) -> Bar:
    """A call's bar: queued from `queued_ms` until it started, running until `finished_ms`
    (None: still running, drawn to `end_ms`). A call that started is at least MIN_RUN_WIDTH
    wide; one that finished without ever starting has no run bar but the "failed at once"
    marker where it ended."""
    finished = finished_ms if finished_ms is not None else end_ms
    run_from = started_ms if started_ms is not None else finished
    queued_x, run_x, finished_x = x(queued_ms), x(run_from), x(finished)
    run_width = max(finished_x - run_x, MIN_RUN_WIDTH if started_ms is not None else 0)
    wait_x = wait_width = 0.0
    if wait_ms is not None:
        wait_x = x(wait_ms[0])
        wait_width = max(x(wait_ms[1]) - wait_x, 0)
    return Bar(
        label=label,
        title=title,
        css=css,
        y=y,
        queued_x=queued_x,
        queued_width=round(max(run_x - queued_x, 0), 2),
        run_x=run_x,
        run_width=round(run_width, 2),
        retry_xs=tuple(map(x, retry_marks_ms)),
        # not for a call that ended while it waited for approval (stopped or denied): its wait
        # span already shows it never ran, and the marker would call that a failure
        mark_x=finished_x
        if finished_ms is not None
        and started_ms is None
        and (wait_ms is None or wait_ms[1] < finished_ms)
        else None,
        wait_x=wait_x,
        wait_width=round(wait_width, 2),
    )


def nice_step(span: float, target_ticks: int = 6) -> float:
    """A 1-2-5 step that cuts `span` into about `target_ticks` intervals."""
    if span <= 0:
        return 1.0
    raw = span / target_ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def linear_ticks(x: TimeScale, span_ms: float) -> list[Tick]:
    """Ticks every `nice_step` from 0 to `span_ms`."""
    step = nice_step(span_ms)
    return [
        Tick(x(i * step), format_ms(round(i * step, 3))) for i in range(int(span_ms // step) + 1)
    ]


def format_ms(value: float, significant: int = 3) -> str:
    """A duration to `significant` figures: `250 ms`, `1.5 s`, `30.7 ms` (30.653), `11.5 s`
    (11,539.2 ms). An axis whose ticks need more to tell neighbours apart asks for more."""
    shown = float(f"{value:.{significant}g}")
    unit = "ms"
    if shown >= 1000:
        shown, unit = float(f"{value / 1000:.{significant}g}"), "s"
    text = f"{shown:.0f}" if abs(shown) >= 10**significant else f"{shown:g}"
    return f"{text} {unit}"


def seconds_or_ms(value: float) -> str:
    """A duration to read at a glance: whole milliseconds, or seconds to one decimal."""
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"


def clip(text: str, chars: int) -> str:
    """`text` cut to at most `chars` characters, an ellipsis saying so."""
    return text if len(text) <= chars else text[: chars - 1] + "…"


def concurrency_steps(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, int]]:
    """How many calls ran at each moment: (time, level) at every change, ends before starts."""
    changes: list[tuple[float, int]] = []
    for start, end in intervals:
        changes.append((start, 1))
        changes.append((end, -1))
    changes.sort(key=lambda change: (change[0], change[1]))
    steps: list[tuple[float, int]] = []
    level = 0
    for moment, delta in changes:
        level += delta
        if steps and steps[-1][0] == moment:
            steps[-1] = (moment, level)
        else:
            steps.append((moment, level))
    return steps


def concurrency_polyline(
    intervals: Iterable[tuple[float, float]],
    x: TimeScale,
    top: float,
    height: float,
    end: float,
) -> tuple[str, int]:
    """The concurrency line under a chart, as SVG polyline points, and its peak ("" and 0 when
    nothing ran): a step at every change, scaled so the peak touches `top`."""
    steps = concurrency_steps(intervals)
    peak = max((level for _, level in steps), default=0)
    if not peak:
        return "", 0

    # Every level's height once, and every moment's place once: a 1,000-call batch has
    # 2,000 steps. (A level below 0, from a call recorded ending before it started, is kept.)
    levels = {0, *(level for _, level in steps)}
    level_y = {level: round(top + height * (1 - level / peak), 2) for level in levels}
    previous = 0
    points = [f"{x(0)},{level_y[0]}"]
    for moment, level in steps:
        moment_x = x(moment)
        points.append(f"{moment_x},{level_y[previous]}")
        points.append(f"{moment_x},{level_y[level]}")
        previous = level
    points.append(f"{x(end)},{level_y[previous]}")
    return " ".join(points), peak


# SVG building blocks.


def svg_number(value: float) -> str:
    """A coordinate as SVG wants it: short, at most two decimals."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


_n = svg_number


@dataclass(frozen=True)
class BarStyle:
    """How a chart draws its rows: the group's class, the bar's height and corner, where the
    label sits, the marker's size, and how long a label may be (None: as laid out)."""

    group: str
    height: float
    run_rx: float
    label_gap: float
    label_dy: float
    mark_half_height: float
    mark_half_width: float
    concurrency_label_dy: float
    label_chars: int | None = None

    @cached_property
    def height_attribute(self) -> str:
        return _n(self.height)

    @cached_property
    def run_rx_attribute(self) -> str:
        return _n(self.run_rx)


def svg_open(width: float, height: float, attributes: Iterable[tuple[str, str]]) -> str:
    """The chart's `<svg>` tag, an image named by its attributes (values escaped)."""
    extra = "".join(f' {name}="{escape(value)}"' for name, value in attributes)
    return f'<svg viewBox="0 0 {_n(width)} {_n(height)}" role="img"{extra}>'


def tick_svg(
    tick: Tick, *, grid_top: float, grid_bottom: float, label_y: float, anchor: str
) -> str:
    """A tick's grid line down to the rows' bottom and its label above the axis."""
    x = _n(tick.x)
    return (
        f'<line class="grid" x1="{x}" x2="{x}" y1="{_n(grid_top)}" y2="{_n(grid_bottom)}"></line>'
        f'<text class="tick" x="{x}" y="{_n(label_y)}" text-anchor="{anchor}">'
        f"{escape(tick.label)}</text>"
    )


def break_svg(
    x: float,
    *,
    zig_top: float,
    line_top: float,
    line_bottom: float,
    title: str = "axis compressed here",
) -> str:
    """Where the axis is compressed: a zig-zag 8 units tall from `zig_top`, and a dotted
    line down through the rows."""
    zig = " ".join(f"{_n(x + (3 if i % 2 else -3))},{_n(zig_top + i * 2)}" for i in range(5))
    return (
        f'<line class="break-line" x1="{_n(x)}" x2="{_n(x)}" y1="{_n(line_top)}" '
        f'y2="{_n(line_bottom)}"></line>'
        f'<polyline class="break" points="{zig}"><title>{escape(title)}</title></polyline>'
    )


def bar_svg(bar: Bar, style: BarStyle, label_x: str) -> str:
    """One row: its title (the tooltip), label, queued and waiting shades, run bar, the
    marker of a call too short to see, and retry lines."""
    parts: list[str] = []
    _draw_bar(parts, bar, style, label_x)
    return "".join(parts)


def _draw_bar(parts: list[str], bar: Bar, style: BarStyle, label_x: str) -> None:
    # Appends to the chart's one list: a 1,000-row chart is drawn in a few milliseconds.
    y = _n(bar.y)
    height = style.height_attribute
    label = bar.label if style.label_chars is None else clip(bar.label, style.label_chars)
    parts.append(
        f'<g class="{style.group} {escape(bar.css)}"><title>{escape(bar.title)}</title>'
        f'<text class="label" x="{label_x}" y="{_n(bar.y + style.label_dy)}" text-anchor="end">'
        f"{escape(label)}</text>"
    )
    if bar.queued_width:
        parts.append(
            f'<rect class="queued" x="{_n(bar.queued_x)}" y="{y}" '
            f'width="{_n(bar.queued_width)}" height="{height}" rx="2"></rect>'
        )
    if bar.wait_width:
        parts.append(
            f'<rect class="wait" x="{_n(bar.wait_x)}" y="{y}" '
            f'width="{_n(bar.wait_width)}" height="{height}" rx="2"></rect>'
        )
    parts.append(
        f'<rect class="run" x="{_n(bar.run_x)}" y="{y}" width="{_n(bar.run_width)}" '
        f'height="{height}" rx="{style.run_rx_attribute}"></rect>'
    )
    if bar.mark_x is not None:
        mx, mid = bar.mark_x, bar.y + style.height / 2
        top, bottom = mid - style.mark_half_height, mid + style.mark_half_height
        left, right = mx - style.mark_half_width, mx + style.mark_half_width
        parts.append(
            f'<polygon class="mark" points="{_n(mx)},{_n(top)} {_n(right)},{_n(mid)} '
            f'{_n(mx)},{_n(bottom)} {_n(left)},{_n(mid)}"></polygon>'
        )
    for retry_x in bar.retry_xs:
        parts.append(
            f'<line class="retry" x1="{_n(retry_x)}" x2="{_n(retry_x)}" '
            f'y1="{_n(bar.y - 2)}" y2="{_n(bar.y + style.height + 2)}"></line>'
        )
    parts.append("</g>")


def chart_svg(chart: Chart, opening: str, axis: Iterable[str], style: BarStyle) -> SafeString:
    """A whole chart: its `<svg>` tag, the axis parts (ticks and whatever the chart marks on
    it), one group per bar, and the concurrency line with its peak."""
    label_x = _n(chart.chart_left - style.label_gap)
    parts = [opening, *axis]
    for bar in chart.bars:
        _draw_bar(parts, bar, style, label_x)
    if chart.peak_concurrency:
        parts.append(
            f'<text class="tick" x="{label_x}" '
            f'y="{_n(chart.concurrency_top + style.concurrency_label_dy)}" '
            f'text-anchor="end">concurrency (peak {chart.peak_concurrency})</text>'
            f'<polyline class="concurrency" points="{chart.concurrency_points}"></polyline>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every interpolated text is escaped above
