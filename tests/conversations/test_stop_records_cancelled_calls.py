"""A stop mid-batch: the calls it cut short are recorded as having run until the stop (their
finished time set, drawn on the gantt, counted in the wall time), watching pages are told to
redraw them as cancelled, and a resumed round still runs them again."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from conversations import compose, live, recording
from conversations.models import Batch, Conversation, RunStatus, ToolExecution
from conversations.runner import run_conversation
from conversations.view_models import round_gantt
from tests.support.openai_server import Reply
from tools_app import catalog as catalog_ops

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

THREE_SEARCHES = [
    {"id": f"call_{n}", "name": "get_weather", "arguments": '{"city": "Oslo"}'} for n in range(3)
]


async def next_event(layer, channel: str, kind: str) -> live.LiveEvent:
    while True:
        event = live.decode(await asyncio.wait_for(layer.receive(channel), timeout=10))
        if event is not None and event.kind == kind:
            return event


async def test_calls_cut_short_by_a_stop_keep_their_time(
    people, team, provider, tool, model_server
):
    tool.implementation_config = {"latency_ms": 15000}
    await sync_to_async(catalog_ops.save_tool)(tool, message="slow")
    model_server.script(Reply(tool_calls=THREE_SEARCHES))
    data = {
        "provider": provider,
        "user": "Weather in Oslo?",
        "tools": [tool],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "strategy": "asyncio",
        "max_rounds": 2,
    }
    conversation = await sync_to_async(compose.create_conversation)(team, people.editor, data)
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(live.group_name(conversation.pk), channel)
    run = asyncio.create_task(run_conversation(conversation.pk))

    while True:  # every call has started (each frame carries the whole picture)
        frame = await next_event(layer, channel, "calls")
        assert isinstance(frame, live.RoundCalls)
        if all(row.started_ms is not None for row in frame.calls):
            break
    await Conversation.objects.filter(pk=conversation.pk).aupdate(stop_requested=True)
    assert await asyncio.wait_for(run, timeout=10) == RunStatus.STOPPED

    batch = await Batch.objects.aget(conversation=conversation)
    # The page is told to redraw the batch (its rows, now cancelled), then the status.
    assert (await next_event(layer, channel, "batch_finished")).batch_id == batch.pk
    assert (await next_event(layer, channel, "status")).status == RunStatus.STOPPED

    calls = [e async for e in ToolExecution.objects.filter(batch=batch).order_by("position")]
    assert [(e.status, e.error_code) for e in calls] == [("error", "CANCELLED")] * 3
    assert all(e.started_ms is not None for e in calls)
    assert all(e.finished_ms is not None and e.finished_ms > e.started_ms for e in calls)
    assert batch.wall_ms == pytest.approx(max(e.finished_ms for e in calls))
    assert batch.sum_call_ms == pytest.approx(sum(e.finished_ms - e.started_ms for e in calls))
    gantt = round_gantt(calls)
    assert gantt.span_ms == pytest.approx(max(e.finished_ms for e in calls))
    assert all(bar.run_width > 100 for bar in gantt.bars)  # drawn across most of the chart

    # No tool message came of them: a resumed round runs them again.
    reused = await sync_to_async(recording.finished_results)(
        conversation.pk, 0, [c["id"] for c in THREE_SEARCHES]
    )
    assert reused == {}
