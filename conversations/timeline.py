"""Gantt layout of a batch: where each call's bar, its queued time, its approval wait and its
retries sit, and how much of a batch's time was spent only waiting for people.

Arithmetic on recorded offsets (milliseconds from the batch's start), unit-tested alone, and
`render_svg`, the one markup of the chart for pages and live frames alike. The frame, bar
geometry, ticks and SVG building blocks it shares with the conversation waterfall live in
`charts`; this module owns only what a batch's chart says: a bar per call (after a round's model
call when given), its title and classes, and the timeline's `<svg>` tag.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from django.utils.safestring import SafeString

from .charts import (
    Bar,
    BarStyle,
    Chart,
    Frame,
    chart_svg,
    format_ms,
    linear_ticks,
    place_bar,
    svg_open,
    tick_svg,
)

GANTT_BARS = BarStyle(
    group="call",
    height=20,
    run_rx=3,
    label_gap=8,
    label_dy=14,
    mark_half_height=8,
    mark_half_width=7,
    concurrency_label_dy=14,
    label_chars=26,
)


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


@dataclass(kw_only=True)
class Gantt(Chart):
    @property
    def svg(self) -> SafeString:
        return render_svg(self)


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
    row_height: float = GANTT_BARS.height,
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
    frame = Frame(width, label_width, row_height, row_gap, axis_height, concurrency_height)
    x = frame.linear_scale(span)

    bars: list[Bar] = []
    if lead_ms:
        # A span before the calls, not a call: never a "failed at once" marker, so it is placed
        # as if still running until `lead_ms`.
        bars.append(
            place_bar(
                x,
                label=lead_label,
                title=f"{lead_label}: {format_ms(round(lead_ms, 1))}",
                css="bar-model",
                y=frame.row_y(0),
                queued_ms=0.0,
                started_ms=0.0,
                finished_ms=None,
                end_ms=lead_ms,
            )
        )
    first_row = len(bars)
    for row, execution in enumerate(executions, start=first_row):
        started = None if execution.started_ms is None else execution.started_ms + offset
        done = execution.finished_ms is not None
        finished = execution.finished_ms + offset if execution.finished_ms is not None else span
        css = f"bar-{execution.status}"
        if execution.error_code:
            css += f" code-{execution.error_code.lower()}"
        if started is not None:
            duration = f", ran {format_ms(round(finished - started, 1))}"
        else:
            duration = ", never ran" if done else ""
        outcome = execution.error_code or execution.status
        title = f"{execution.tool_name} ({execution.tool_call_id}): {outcome}{duration}"
        wait = approval_wait(execution)
        wait_ms = None
        if wait is not None:
            asked, decided = wait
            undecided = getattr(execution, "approval_decided_ms", None) is None
            if undecided and execution.finished_ms is None:
                decided = max(span - offset, asked)  # still waiting, as of this frame
            wait_ms = (asked + offset, decided + offset)
            title += f", waited {format_ms(round(decided - asked, 1))} for approval"
        if execution.attempts > 1:
            title += f", {execution.attempts} attempts"
        bars.append(
            place_bar(
                x,
                label=execution.tool_name,
                title=title,
                css=css,
                y=frame.row_y(row),
                queued_ms=execution.queued_ms + offset,
                started_ms=started,
                finished_ms=finished if done else None,
                end_ms=span,
                retry_marks_ms=(mark + offset for mark in execution.retry_marks_ms or ()),
                wait_ms=wait_ms,
            )
        )
    intervals = [
        (e.started_ms + offset, e.finished_ms + offset)
        for e in executions
        if e.started_ms is not None and e.finished_ms is not None
    ]
    return frame.chart(
        Gantt, bars=bars, span_ms=span, ticks=linear_ticks(x, span), intervals=intervals, x=x
    )


def render_svg(gantt: Gantt) -> SafeString:
    """The chart as SVG markup (see `charts` for why one string, not a template loop)."""
    calls = sum(1 for bar in gantt.bars if bar.css != "bar-model")
    opening = svg_open(
        gantt.width,
        gantt.height,
        [
            (
                "aria-label",
                f"Timeline of {calls} call{'' if calls == 1 else 's'} over {gantt.span_ms:.0f} ms",
            ),
            ("data-span-ms", f"{gantt.span_ms:.1f}"),
        ],
    )
    axis = (
        tick_svg(tick, grid_top=18, grid_bottom=gantt.bars_bottom, label_y=12, anchor="middle")
        for tick in gantt.ticks
    )
    return chart_svg(gantt, opening, axis, GANTT_BARS)
