"""Gantt layout of a batch: where each call's bar, its queued time and its retries sit.

Arithmetic on recorded offsets (milliseconds from the batch's start), unit-tested alone, and
`render_svg`, the one markup of the chart for pages and live frames alike (attributes, no
inline styles, so the Content-Security-Policy stays strict).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Protocol

from django.utils.safestring import SafeString, mark_safe


class Timed(Protocol):
    tool_name: str
    tool_call_id: str
    status: str
    error_code: str
    attempts: int
    queued_ms: float
    started_ms: float | None
    finished_ms: float | None
    retry_marks_ms: list[float]


@dataclass(frozen=True)
class Bar:
    label: str
    title: str
    css: str
    y: float
    queued_x: float
    queued_width: float
    run_x: float
    run_width: float
    retry_xs: tuple[float, ...] = ()
    # Where a finished call too short to see as a bar (refused before running, or a 0 ms tool)
    # gets a marker instead, so a failure at once still shows on the chart.
    mark_x: float | None = None
    # Time spent waiting for a person's approval: a span of its own, not the tool's time.
    wait_x: float = 0.0
    wait_width: float = 0.0


# A run bar narrower than this many chart units is drawn with a marker on top.
MARK_BELOW = 3.0


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass
class Gantt:
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

    @property
    def svg(self) -> SafeString:
        return render_svg(self)


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


def format_ms(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:g} s"
    return f"{value:g} ms"


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
    x: Callable[[float], float],
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

    def level_y(level: int) -> float:
        return round(top + height * (1 - level / peak), 2)

    previous = 0
    points = [f"{x(0)},{level_y(0)}"]
    for moment, level in steps:
        points.append(f"{x(moment)},{level_y(previous)}")
        points.append(f"{x(moment)},{level_y(level)}")
        previous = level
    points.append(f"{x(end)},{level_y(previous)}")
    return " ".join(points), peak


def approval_wait(execution: object) -> tuple[float, float] | None:
    """(asked, decided) in ms from the batch start when the call waited for a person; a wait
    never decided (the run ended first) lasts until the call finished."""
    asked = getattr(execution, "approval_asked_ms", None)
    if asked is None:
        return None
    decided = getattr(execution, "approval_decided_ms", None)
    if decided is None:
        decided = getattr(execution, "finished_ms", None)
    return (asked, asked if decided is None else max(decided, asked))


def _union(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def waiting_only_ms(executions: Iterable[Timed]) -> float:
    """How much of a batch's wall time was spent only waiting for people: moments when some
    call waited for approval and no call was running. Tool time leaves it out."""
    rows = list(executions)
    waits = _union(w for w in (approval_wait(e) for e in rows) if w is not None)
    runs = _union(
        (e.started_ms, e.finished_ms)
        for e in rows
        if e.started_ms is not None and e.finished_ms is not None
    )
    total = 0.0
    for start, end in waits:
        total += end - start
        for run_start, run_end in runs:
            total -= max(0.0, min(end, run_end) - max(start, run_start))
    return round(total, 3)


def batch_gantt(
    executions: Sequence[Timed],
    *,
    width: float = 960,
    label_width: float = 190,
    row_height: float = 20,
    row_gap: float = 6,
    axis_height: float = 28,
    concurrency_height: float = 44,
    span_ms: float | None = None,
    lead_ms: float | None = None,
    lead_label: str = "model call",
) -> Gantt:
    """Lay out one bar per call; `span_ms` lets side-by-side charts share one scale.

    `lead_ms` puts a first bar before the calls (a round's model call, which produced them):
    the calls then start where it ends, so a round reads left to right as it happened.
    """
    offset = lead_ms or 0.0
    ends = [e.finished_ms + offset for e in executions if e.finished_ms is not None]
    span = span_ms if span_ms else max(ends, default=offset)
    span = max(span, 1.0)
    chart_left = label_width
    chart_width = width - label_width - 12

    def x(ms: float) -> float:
        return round(chart_left + chart_width * max(0.0, min(ms, span)) / span, 2)

    bars: list[Bar] = []
    if lead_ms:
        bars.append(
            Bar(
                label=lead_label,
                title=f"{lead_label}: {format_ms(round(lead_ms, 1))}",
                css="bar-model",
                y=axis_height,
                queued_x=x(0),
                queued_width=0,
                run_x=x(0),
                run_width=round(max(x(lead_ms) - x(0), 0.75), 2),
            )
        )
    first_row = len(bars)
    for row, execution in enumerate(executions, start=first_row):
        y = round(axis_height + row * (row_height + row_gap), 2)
        started = None if execution.started_ms is None else execution.started_ms + offset
        finished = execution.finished_ms + offset if execution.finished_ms is not None else span
        queued = execution.queued_ms + offset
        run_from = started if started is not None else finished
        queued_width = max(x(run_from) - x(queued), 0)
        run_width = max(x(finished) - x(run_from), 0.75 if started is not None else 0)
        css = f"bar-{execution.status}"
        if execution.error_code:
            css += f" code-{execution.error_code.lower()}"
        done = execution.finished_ms is not None
        if started is not None:
            duration = f", ran {format_ms(round(finished - started, 1))}"
        else:
            duration = ", never ran" if done else ""
        outcome = execution.error_code or execution.status
        title = f"{execution.tool_name} ({execution.tool_call_id}): {outcome}{duration}"
        wait = approval_wait(execution)
        wait_x = wait_width = 0.0
        if wait is not None:
            asked, decided = wait
            undecided = getattr(execution, "approval_decided_ms", None) is None
            if undecided and execution.finished_ms is None:
                decided = max(span - offset, asked)  # still waiting, as of this frame
            wait_x, wait_width = x(asked + offset), max(x(decided + offset) - x(asked + offset), 0)
            title += f", waited {format_ms(round(decided - asked, 1))} for approval"
        if execution.attempts > 1:
            title += f", {execution.attempts} attempts"
        bars.append(
            Bar(
                label=execution.tool_name,
                title=title,
                css=css,
                y=y,
                queued_x=x(queued),
                queued_width=round(queued_width, 2),
                run_x=x(run_from),
                run_width=round(run_width, 2),
                retry_xs=tuple(x(mark + offset) for mark in execution.retry_marks_ms or ()),
                mark_x=x(finished) if done and run_width < MARK_BELOW else None,
                wait_x=wait_x,
                wait_width=round(wait_width, 2),
            )
        )
    bars_bottom = axis_height + len(bars) * (row_height + row_gap)
    step = nice_step(span)
    ticks = [Tick(x(i * step), format_ms(round(i * step, 3))) for i in range(int(span // step) + 1)]
    intervals = [
        (e.started_ms + offset, e.finished_ms + offset)
        for e in executions
        if e.started_ms is not None and e.finished_ms is not None
    ]
    top = bars_bottom + 10
    points, peak = concurrency_polyline(intervals, x, top, concurrency_height, span)
    return Gantt(
        width=width,
        height=round(top + concurrency_height + 18, 2),
        chart_left=chart_left,
        chart_width=chart_width,
        bars_bottom=bars_bottom,
        span_ms=span,
        bars=bars,
        ticks=ticks,
        concurrency_points=points,
        concurrency_top=top,
        peak_concurrency=peak,
    )


def _n(value: float) -> str:
    """A coordinate as SVG wants it: short, at most two decimals."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def render_svg(gantt: Gantt) -> SafeString:
    """The chart as SVG markup: one string built here rather than a template loop, because a
    live frame of a 200-call batch is redrawn many times a second and a template costs ~30 ms
    per frame where this costs ~2. Every text is escaped; positions are numbers."""
    calls = sum(1 for bar in gantt.bars if bar.css != "bar-model")
    label_x = _n(gantt.chart_left - 8)
    parts = [
        f'<svg viewBox="0 0 {_n(gantt.width)} {_n(gantt.height)}" role="img" '
        f'aria-label="Timeline of {calls} call{"" if calls == 1 else "s"} over '
        f'{gantt.span_ms:.0f} ms" '
        f'data-span-ms="{gantt.span_ms:.1f}">'
    ]
    for tick in gantt.ticks:
        x = _n(tick.x)
        parts.append(
            f'<line class="grid" x1="{x}" x2="{x}" y1="18" y2="{_n(gantt.bars_bottom)}"></line>'
            f'<text class="tick" x="{x}" y="12" text-anchor="middle">{escape(tick.label)}</text>'
        )
    for bar in gantt.bars:
        y = _n(bar.y)
        label = bar.label if len(bar.label) <= 26 else bar.label[:25] + "…"
        parts.append(
            f'<g class="call {escape(bar.css)}"><title>{escape(bar.title)}</title>'
            f'<text class="label" x="{label_x}" y="{_n(bar.y + 14)}" text-anchor="end">'
            f"{escape(label)}</text>"
        )
        if bar.queued_width:
            parts.append(
                f'<rect class="queued" x="{_n(bar.queued_x)}" y="{y}" '
                f'width="{_n(bar.queued_width)}" height="20" rx="2"></rect>'
            )
        if bar.wait_width:
            parts.append(
                f'<rect class="wait" x="{_n(bar.wait_x)}" y="{y}" '
                f'width="{_n(bar.wait_width)}" height="20" rx="2"></rect>'
            )
        parts.append(
            f'<rect class="run" x="{_n(bar.run_x)}" y="{y}" width="{_n(bar.run_width)}" '
            'height="20" rx="3"></rect>'
        )
        if bar.mark_x is not None:
            mx, top, mid, bottom = bar.mark_x, bar.y + 2, bar.y + 10, bar.y + 18
            parts.append(
                f'<polygon class="mark" points="{_n(mx)},{_n(top)} {_n(mx + 7)},{_n(mid)} '
                f'{_n(mx)},{_n(bottom)} {_n(mx - 7)},{_n(mid)}"></polygon>'
            )
        for retry_x in bar.retry_xs:
            parts.append(
                f'<line class="retry" x1="{_n(retry_x)}" x2="{_n(retry_x)}" '
                f'y1="{_n(bar.y - 2)}" y2="{_n(bar.y + 22)}"></line>'
            )
        parts.append("</g>")
    if gantt.peak_concurrency:
        parts.append(
            f'<text class="tick" x="{label_x}" y="{_n(gantt.concurrency_top + 14)}" '
            f'text-anchor="end">concurrency (peak {gantt.peak_concurrency})</text>'
            f'<polyline class="concurrency" points="{gantt.concurrency_points}"></polyline>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every interpolated text is escaped above
