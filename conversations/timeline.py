"""Gantt layout of a batch: where each call's bar, its queued time, its approval wait and its
retries sit, and how much of a batch's time was spent only waiting for people.

Arithmetic on recorded offsets (milliseconds from the batch's start), unit-tested alone, and
`render_svg`, the one markup of the chart for pages and live frames alike. The frame, bar
geometry, ticks and SVG building blocks it shares with the conversation waterfall live in
`charts`; this module owns only what a batch's chart says: a bar per call (after a round's model
call when given), its title and classes, and the timeline's `<svg>` tag.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Protocol

from django.utils.safestring import SafeString

from .charts import (
    Bar,
    BarStyle,
    Chart,
    Frame,
    Piece,
    Tick,
    TimeScale,
    break_svg,
    chart_svg,
    format_ms,
    linear_ticks,
    nice_step,
    place_bar,
    seconds_or_ms,
    svg_number,
    svg_open,
    tick_svg,
    units_at,
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

# A stretch where calls only wait for a person (no call running) longer than this is drawn at
# BREAK_WIDTH units with a broken axis, so a 25-minute wait leaves 100 ms bars readable.
COMPRESS_WAIT_ABOVE_MS = 2000.0
BREAK_WIDTH = 72.0
# Extra axis band height when the chart has breaks: a line for the waits' labels.
BREAK_BAND = 16.0
# The axis's texts are 10 px monospace: a tick label's width, to keep neighbours apart.
TICK_CHAR_WIDTH = 6.0


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
class AxisBreak:
    """A compressed stretch: where it is drawn (its middle) and what it says."""

    x: float
    label: str


@dataclass(kw_only=True)
class Gantt(Chart):
    breaks: list[AxisBreak] = field(default_factory=list)

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


def open_approval_wait(execution: object, until: float) -> tuple[float, float]:
    """`approval_wait` of a call of an open batch: a wait not decided yet lasts until `until`;
    (until, until) when the call did not wait."""
    wait = approval_wait(execution)
    if wait is None:
        return (until, until)
    undecided = getattr(execution, "approval_decided_ms", None) is None
    if undecided and getattr(execution, "finished_ms", None) is None:
        return (wait[0], max(wait[0], until))
    return wait


def _union(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def waiting_only_ms(executions: Iterable[Timed], *, until: float | None = None) -> float:
    """How much of a batch's wall time was spent only waiting for people: moments when some
    call waited for approval and no call was running. Tool time leaves it out. `until`: of a
    batch still open, up to that moment (a call still open runs, or waits, until then)."""
    rows = list(executions)
    if until is None:
        waits = _union(w for w in (approval_wait(e) for e in rows) if w is not None)
        ends = {id(e): e.finished_ms for e in rows}
    else:
        waits = _union(
            (min(asked, until), min(decided, until))
            for asked, decided in (open_approval_wait(e, until) for e in rows)
        )
        ends = {id(e): until if e.finished_ms is None else e.finished_ms for e in rows}
    runs = _union(
        (e.started_ms, end)
        for e in rows
        if e.started_ms is not None and (end := ends[id(e)]) is not None
    )
    total = 0.0
    for start, end in waits:
        total += end - start
        for run_start, run_end in runs:
            total -= max(0.0, min(end, run_end) - max(start, run_start))
    return round(total, 3)


def wait_text(ms: float) -> str:
    """A person's wait to read at a glance: `40.0 s`, `25 min`, `2 h 5 min`."""
    if ms < 60_000:
        return seconds_or_ms(ms)
    minutes = round(ms / 60_000)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def _shown_wait(execution: Timed, span: float, offset: float) -> tuple[float, float] | None:
    """The call's approval wait as drawn, in ms from the chart's origin: a wait still open
    (undecided, the call not finished) lasts until the frame's `span`."""
    wait = approval_wait(execution)
    if wait is None:
        return None
    asked, decided = wait
    undecided = getattr(execution, "approval_decided_ms", None) is None
    if undecided and execution.finished_ms is None:
        decided = max(span - offset, asked)  # still waiting, as of this frame
    return (asked + offset, decided + offset)


def _waiting_only(
    waits: Iterable[tuple[float, float]], runs: Iterable[tuple[float, float]]
) -> list[tuple[float, float]]:
    """The parts of `waits` when nothing of `runs` was running."""
    running = _union(runs)
    stretches: list[tuple[float, float]] = []
    for start, end in _union(waits):
        cursor = start
        for run_start, run_end in running:
            if run_end <= cursor or run_start >= end:
                continue
            if run_start > cursor:
                stretches.append((cursor, run_start))
            cursor = max(cursor, run_end)
        if cursor < end:
            stretches.append((cursor, end))
    return stretches


def _compressed_axis(
    frame: Frame, span: float, stretches: Sequence[tuple[float, float]]
) -> tuple[list[Piece], TimeScale]:
    """The axis cut at each compressed stretch: every stretch takes the same few units (at most
    a third of the chart between them), the rest of the time shares what is left linearly."""
    width = frame.chart_width
    break_width = min(BREAK_WIDTH, width / (3 * len(stretches)))
    linear_ms = max(span - sum(end - start for start, end in stretches), 1.0)
    per_ms = (width - break_width * len(stretches)) / linear_ms
    pieces: list[Piece] = []
    units = cursor = 0.0
    for start, end in stretches:
        if start > cursor:
            pieces.append(Piece(cursor, start, units, units + (start - cursor) * per_ms))
            units = pieces[-1].u1
        pieces.append(Piece(start, end, units, units + break_width, broken=True))
        units, cursor = units + break_width, end
    if span > cursor:
        pieces.append(Piece(cursor, span, units, units + (span - cursor) * per_ms))
    ends = [piece.t1 for piece in pieces]
    left = frame.chart_left

    def x(ms: float) -> float:
        return round(left + units_at(pieces, max(0.0, min(ms, span)), ends), 2)

    return pieces, x


def _broken_ticks(x: TimeScale, pieces: Sequence[Piece], span: float) -> list[Tick]:
    """Ticks on the straight stretches only, and a labelled tick on each side of a break;
    a tick whose label would overlap a kept one's is left out (break sides first)."""
    linear_ms = sum(p.t1 - p.t0 for p in pieces if not p.broken)
    step = nice_step(max(linear_ms, 1.0))
    sides: set[float] = set()
    regular: set[float] = set()
    for index, piece in enumerate(pieces):
        if piece.broken:
            continue
        if index > 0:
            sides.add(piece.t0)
        if index + 1 < len(pieces):
            sides.add(piece.t1)
        first = int(-(-piece.t0 // step))
        moment = first * step
        while moment <= piece.t1:
            regular.add(moment)
            moment = (first := first + 1) * step
    # A break's sides are where the waits began and ended (any moment: 3 figures say it); the
    # regular ticks are multiples of `step`, and after a long wait need the figures to show it.
    last = max(regular, default=step)
    figures = max(3, math.floor(math.log10(max(last, step))) - math.floor(math.log10(step)) + 1)
    kept: list[tuple[float, float]] = []
    ticks: list[Tick] = []
    for moment in [*sorted(sides), *sorted(regular - sides)]:
        label = format_ms(round(moment, 3), 3 if moment in sides else figures)
        at, half = x(moment), len(label) * TICK_CHAR_WIDTH / 2 + 2
        if all(at + half <= left or at - half >= right for left, right in kept):
            kept.append((at - half, at + half))
            ticks.append(Tick(at, label))
    return sorted(ticks, key=lambda tick: tick.x)


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
    compress_waits: bool = True,
    now_ms: float | None = None,
) -> Gantt:
    """Lay out one bar per call; `span_ms` lets side-by-side charts share one scale.

    `lead_ms` puts a first bar before the calls (a round's model call, which produced them):
    the calls then start where it ends, so a round reads left to right as it happened.

    With `compress_waits`, a stretch longer than COMPRESS_WAIT_ABOVE_MS when calls only waited
    for a person (no call, nor the model call, running) is drawn BREAK_WIDTH units wide with a
    broken axis and its duration written on it; charts sharing one scale turn it off.

    `now_ms` (from the batch's start) is when a batch still under way is drawn: its running
    calls and open waits for approval reach it, and the axis covers it.
    """
    offset = lead_ms or 0.0
    ends = [e.finished_ms + offset for e in executions if e.finished_ms is not None]
    if now_ms is not None:
        ends.append(now_ms + offset)
    span = span_ms if span_ms else max(ends, default=offset)
    span = max(span, 1.0)
    stretches: list[tuple[float, float]] = []
    if compress_waits:
        waits = (_shown_wait(e, span, offset) for e in executions)
        runs = [(0.0, offset)] if offset else []
        runs += [
            (e.started_ms + offset, e.finished_ms + offset if e.finished_ms is not None else span)
            for e in executions
            if e.started_ms is not None
        ]
        stretches = [
            (start, end)
            for start, end in _waiting_only((w for w in waits if w is not None), runs)
            if end - start > COMPRESS_WAIT_ABOVE_MS
        ]
    band = BREAK_BAND if stretches else 0.0
    frame = Frame(width, label_width, row_height, row_gap, axis_height + band, concurrency_height)
    pieces: list[Piece] = []
    if stretches:
        pieces, x = _compressed_axis(frame, span, stretches)
    else:
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
        wait_ms = _shown_wait(execution, span, offset)
        if wait_ms is not None:
            title += f", waited {format_ms(round(wait_ms[1] - wait_ms[0], 1))} for approval"
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
    if not stretches:
        return frame.chart(
            Gantt, bars=bars, span_ms=span, ticks=linear_ticks(x, span), intervals=intervals, x=x
        )
    still_open = any(
        e.finished_ms is None and getattr(e, "approval_decided_ms", None) is None
        for e in executions
        if approval_wait(e) is not None
    )
    breaks = [
        AxisBreak(
            x((start + end) / 2),
            f"{'waiting' if still_open and end >= span else 'waited'} "
            f"{wait_text(end - start)} for approval",
        )
        for start, end in stretches
    ]
    return frame.chart(
        Gantt,
        bars=bars,
        span_ms=span,
        ticks=_broken_ticks(x, pieces, span),
        intervals=intervals,
        x=x,
        breaks=breaks,
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
    # With breaks the axis band has a second line, under the ticks' labels, for the waits'.
    grid_top = 30 if gantt.breaks else 18
    axis = [
        tick_svg(
            tick, grid_top=grid_top, grid_bottom=gantt.bars_bottom, label_y=12, anchor="middle"
        )
        for tick in gantt.ticks
    ]
    right = gantt.chart_left + gantt.chart_width
    for axis_break in gantt.breaks:
        bx, half = axis_break.x, len(axis_break.label) * TICK_CHAR_WIDTH / 2
        anchor = "middle"
        if bx + half > right:
            anchor, text_x = "end", right
        elif bx - half < gantt.chart_left:
            anchor, text_x = "start", gantt.chart_left
        else:
            text_x = bx
        axis.append(
            break_svg(
                bx, zig_top=30, line_top=40, line_bottom=gantt.bars_bottom, title=axis_break.label
            )
            + f'<text class="wait-label" x="{svg_number(text_x)}" y="26" '
            f'text-anchor="{anchor}">{escape(axis_break.label)}</text>'
        )
    return chart_svg(gantt, opening, axis, GANTT_BARS)
