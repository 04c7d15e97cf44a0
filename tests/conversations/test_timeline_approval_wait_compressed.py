"""A round that waited long for a person's approval draws that wait compressed: a broken axis
with the wait's duration written on it, so the tools' bars keep readable widths, ticks stay
truthful, and charts without long waits are drawn exactly as before."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from conversations.timeline import batch_gantt, wait_text
from conversations.view_models import round_gantt

MINUTE = 60_000.0


@dataclass
class Row:
    tool_name: str
    tool_call_id: str
    status: str = "ok"
    error_code: str = ""
    attempts: int = 1
    queued_ms: float = 0.0
    started_ms: float | None = 0.0
    finished_ms: float | None = 100.0
    retry_marks_ms: list[float] = field(default_factory=list)
    approval_asked_ms: float | None = None
    approval_decided_ms: float | None = None


def _waited_round() -> list[Row]:
    """Two 100 ms lookups, then a refund that waited 25 minutes for approval, then ran 100 ms."""
    wait_end = 100 + 25 * MINUTE
    return [
        Row("lookup", "c1", started_ms=0, finished_ms=100),
        Row("search", "c2", started_ms=0, finished_ms=100),
        Row(
            "refund",
            "c3",
            started_ms=wait_end,
            finished_ms=wait_end + 100,
            approval_asked_ms=100,
            approval_decided_ms=wait_end,
        ),
    ]


def test_100_ms_bars_stay_wide_after_a_25_minute_wait():
    gantt = round_gantt(_waited_round(), lead_ms=300.0)
    model, *calls = gantt.bars
    assert all(bar.run_width >= 60 for bar in calls)
    assert model.run_width >= 150
    # The wait itself is drawn at a fixed small width, not across the chart.
    assert calls[2].wait_width <= 80


def test_the_wait_is_a_break_on_the_axis_saying_how_long_it_was():
    gantt = round_gantt(_waited_round(), lead_ms=300.0)
    [axis_break] = gantt.breaks
    assert axis_break.label == "waited 25 min for approval"
    svg = str(gantt.svg)
    assert svg.count('<polyline class="break"') == 1
    assert ">waited 25 min for approval</text>" in svg
    assert 'data-span-ms="1500500.0"' in svg  # the chart still says how long the round took


def test_no_tick_falls_inside_the_compressed_stretch_and_both_sides_are_labelled():
    gantt = round_gantt(_waited_round(), lead_ms=300.0)
    refund = gantt.bars[3]
    inside = (refund.wait_x, refund.wait_x + refund.wait_width)
    assert not [t for t in gantt.ticks if inside[0] < t.x < inside[1]]
    labels = {tick.x: tick.label for tick in gantt.ticks}
    assert labels[inside[0]] == "400 ms"  # the model call's 300 ms, then 100 ms of tools
    assert labels[inside[1]] == "1500 s"  # three figures, as every side of a break
    xs = [tick.x for tick in gantt.ticks]
    assert xs == sorted(xs)


def test_a_wait_still_open_in_a_live_frame_is_compressed_and_says_so():
    rows = [
        Row("lookup", "c1", started_ms=0, finished_ms=100),
        Row("refund", "c2", started_ms=None, finished_ms=None, approval_asked_ms=100),
    ]
    gantt = round_gantt(rows, span_ms=300 + 3 * MINUTE, lead_ms=300.0)
    [axis_break] = gantt.breaks
    assert axis_break.label == "waiting 3 min for approval"
    assert gantt.bars[1].run_width >= 60


def test_a_short_wait_and_a_shared_scale_stay_linear():
    short = [
        Row("lookup", "c1", started_ms=0, finished_ms=100),
        Row(
            "refund",
            "c2",
            started_ms=1500,
            finished_ms=1600,
            approval_asked_ms=100,
            approval_decided_ms=1500,
        ),
    ]
    assert batch_gantt(short).breaks == []
    long = _waited_round()
    assert batch_gantt(long, span_ms=2_000_000, compress_waits=False).breaks == []


def test_a_wait_while_another_call_runs_is_not_compressed():
    rows = _waited_round()
    rows[0].finished_ms = rows[2].finished_ms  # a slow tool ran all through the wait
    assert batch_gantt(rows).breaks == []


def test_waits_read_at_a_glance():
    assert wait_text(2500) == "2.5 s"
    assert wait_text(25 * MINUTE) == "25 min"
    assert wait_text(125 * MINUTE) == "2 h 5 min"


# The chart of a batch without long waits, as `batch_gantt` drew it before compression existed
# (sha256 of its SVG on main at b620f70, for each set of arguments).
BEFORE = {
    "plain": "34e450619d3c8a8abf098eca4e094fd8e13afde089049edac44fb51788afef33",
    "lead": "89b57273e866b3e9311bb80f07563f8367977345d787cc4554aa0028d2a1a9b4",
    "span": "fb9ca1e2048255c46ff941a0330bbd96b128bb4d3f253ffbc4187fcd85212597",
    "round": "734d72ee88ee3a0cbda899c19cb5a3996b36a074c1d6076d834ffe37c43da3fc",
}


def test_a_batch_without_long_waits_is_drawn_byte_for_byte_as_before():
    rows = [
        Row("lookup", "c1", started_ms=5, finished_ms=105),
        Row("search", "c2", started_ms=40, finished_ms=180, attempts=2, retry_marks_ms=[90]),
        Row(
            "refund",
            "c3",
            started_ms=1300,
            finished_ms=1400,
            approval_asked_ms=0,
            approval_decided_ms=1290,
        ),
        Row("bad", "c4", status="error", error_code="VALIDATION", started_ms=None, finished_ms=3),
    ]
    arguments = {
        "plain": {},
        "lead": {"lead_ms": 800.0},
        "span": {"span_ms": 5000.0},
        "round": {"width": 640, "label_width": 130, "lead_ms": 300.0, "span_ms": 2000.0},
    }
    for name, kwargs in arguments.items():
        svg = str(batch_gantt(rows, **kwargs).svg)  # type: ignore[arg-type]
        assert "break" not in svg
        assert re.search(r"waited 1\.29 s for approval", svg)
        assert hashlib.sha256(svg.encode()).hexdigest() == BEFORE[name], name


def test_the_sides_of_a_break_read_to_three_figures():
    rows = [
        Row("lookup", "c1", started_ms=0, finished_ms=30.653),
        Row(
            "refund",
            "c2",
            started_ms=11539.2,
            finished_ms=11600,
            approval_asked_ms=30.653,
            approval_decided_ms=11539.2,
        ),
    ]
    gantt = batch_gantt(rows)
    labels = [tick.label for tick in gantt.ticks]
    assert "30.7 ms" in labels
    assert "11.5 s" in labels
    assert not [label for label in labels if re.search(r"\d\.\d{3}", label)]
