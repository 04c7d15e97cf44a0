"""Waiting for a person's approval is a span of its own on the chart, and not tool time: the
wall time and speed-up leave out the moments when calls only waited."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from conversations import compose, live
from conversations.models import ToolExecution
from conversations.runner import run_conversation
from conversations.timeline import batch_gantt, waiting_only_ms
from tests.support.openai_server import Reply
from tools_app import catalog as catalog_ops


@dataclass
class Row:
    tool_name: str = "get_time"
    tool_call_id: str = "c1"
    status: str = "ok"
    error_code: str = ""
    attempts: int = 1
    queued_ms: float = 0.0
    started_ms: float | None = None
    finished_ms: float | None = None
    retry_marks_ms: list[float] = field(default_factory=list)
    approval_asked_ms: float | None = None
    approval_decided_ms: float | None = None


def test_the_wait_for_approval_is_its_own_span_before_the_run():
    waited = Row(approval_asked_ms=0, approval_decided_ms=900, started_ms=900, finished_ms=1000)
    gantt = batch_gantt([waited], width=1000, label_width=200)
    [bar] = gantt.bars
    assert (bar.wait_x, bar.wait_width) == (200, 709.2)
    assert bar.run_x == 909.2
    assert "waited 900 ms for approval" in bar.title
    assert '<rect class="wait" x="200" y="28" width="709.2" height="20" rx="2"></rect>' in str(
        gantt.svg
    )


def test_a_call_still_waiting_spans_up_to_the_frame():
    gantt = batch_gantt([Row(status="waiting", approval_asked_ms=100)], span_ms=400, width=1000)
    [bar] = gantt.bars
    assert bar.wait_width > 0 and "waited 300 ms" in bar.title


def test_only_the_time_when_nothing_ran_is_left_out():
    ran = Row(tool_name="get_weather", started_ms=0, finished_ms=300)
    waited = Row(approval_asked_ms=0, approval_decided_ms=1000, started_ms=1000, finished_ms=1050)
    assert waiting_only_ms([ran, waited]) == 700
    assert waiting_only_ms([ran]) == 0


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_run_records_the_wait_and_keeps_it_out_of_the_tool_time(
    people, team, provider, tool, model_server
):
    tool.requires_approval = True
    await sync_to_async(catalog_ops.save_tool)(tool, message="needs approval")
    calls = [{"id": "c1", "name": "get_weather", "arguments": '{"city": "Oslo"}'}]
    model_server.script(Reply(tool_calls=calls), Reply(content="Done."))
    data = {"provider": provider, "user": "Weather?", "tools": [tool]}
    conversation = await sync_to_async(compose.create_conversation)(team, people.editor, data)
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(live.group_name(conversation.pk), channel)
    run = asyncio.create_task(run_conversation(conversation.pk))

    while live.decode(await asyncio.wait_for(layer.receive(channel), 5)).kind != "approval":
        pass  # the run asks; the person answers when the page shows it
    waiting = ToolExecution.objects.filter(batch__conversation=conversation, approval="pending")
    execution = await waiting.aget()
    await waiting.aupdate(approval="approved")
    await asyncio.wait_for(run, timeout=10)

    execution = await ToolExecution.objects.select_related("batch").aget(pk=execution.pk)
    asked, decided = execution.approval_asked_ms, execution.approval_decided_ms
    assert asked < decided <= execution.started_ms < execution.finished_ms
    # Counted from the batch start, the call ended at `finished_ms`; the recorded tool time is
    # shorter than that by the wait, which only a left-out wait can make it.
    assert execution.batch.wall_ms < execution.finished_ms
