"""The live gantt keeps time between the engine's events: a call that runs (or waits for a
person) for long sends no event, yet its bar and the axis grow to "now" on every frame, and a
page drawn mid-run draws the batch up to the moment it renders."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

import pytest
from channels.layers import get_channel_layer

from conversations import consumers, live
from conversations.timeline import batch_gantt
from tools_app.engine import Event, EventKind, ToolCall


@dataclass
class Row:
    tool_name: str
    tool_call_id: str
    status: str = "running"
    error_code: str = ""
    attempts: int = 1
    queued_ms: float = 0.0
    started_ms: float | None = 1.0
    finished_ms: float | None = None
    retry_marks_ms: list[float] = field(default_factory=list)
    approval_asked_ms: float | None = None
    approval_decided_ms: float | None = None


def test_running_calls_and_open_waits_reach_now():
    rows = [
        Row("slow_search", "c1", finished_ms=None),
        Row("refund", "c2", status="waiting", started_ms=None, approval_asked_ms=1.0),
        Row("lookup", "c3", status="ok", finished_ms=12.0),
    ]
    early, later = batch_gantt(rows, now_ms=12.0), batch_gantt(rows, now_ms=1500.0)

    assert (early.span_ms, later.span_ms) == (12.0, 1500.0)
    running, waiting, done = later.bars
    assert running.run_x + running.run_width == pytest.approx(later.chart_left + later.chart_width)
    assert waiting.wait_width == pytest.approx(later.chart_width * 1499 / 1500, abs=0.02)
    assert done.run_width < 10  # 11 ms of 1.5 s
    assert [tick.label for tick in later.ticks][-1] == "1.5 s"


def test_without_now_a_chart_ends_with_its_last_finished_call():
    rows = [Row("slow_search", "c1"), Row("lookup", "c3", status="ok", finished_ms=12.0)]
    assert batch_gantt(rows).span_ms == 12.0


@pytest.mark.asyncio
async def test_frames_keep_coming_while_a_call_runs_each_later_than_the_last():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(live.group_name(7), channel)
    bars = live.CallBars(7, 0, 1, [ToolCall("c1", "slow_search", "{}")], None, tick=0.01)
    await bars.on_event(Event(EventKind.CALL_QUEUED, "c1", 0.0005, {"index": 0}))
    await bars.on_event(Event(EventKind.CALL_STARTED, "c1", 0.001, {"attempt": 1}))

    seen: list[float] = []
    while len(seen) < 4:  # the two events' frames, then the clock's
        event = live.decode(await asyncio.wait_for(layer.receive(channel), timeout=5))
        assert isinstance(event, live.RoundCalls)
        seen.append(event.now_ms)
    bars.stop()

    assert seen == sorted(seen) and seen[-1] > seen[0] >= 0.5
    # Drawn as the page draws it: the axis covers the frame's moment.
    html = await asyncio.to_thread(consumers.render_event, 7, event)
    span = float(re.search(r'data-span-ms="([0-9.]+)"', html).group(1))
    assert span == pytest.approx(round(seen[-1], 1), abs=0.1)
    assert span > 1.0
