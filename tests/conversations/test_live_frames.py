"""What a watching page receives while a run goes on: throttled call frames, every message."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from conversations import compose, live
from conversations.runner import run_conversation
from tests.support.openai_server import Reply

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def drain(layer, channel: str) -> list[dict]:
    received = []
    while True:
        try:
            received.append(await asyncio.wait_for(layer.receive(channel), timeout=0.5))
        except TimeoutError:
            return received


async def test_a_big_batch_is_sent_as_few_frames_and_every_message_once(
    people, team, provider, tool, model_server
):
    calls = [
        {"id": f"c{i}", "name": "get_weather", "arguments": f'{{"city": "City {i}"}}'}
        for i in range(60)
    ]
    model_server.script(Reply(tool_calls=calls), Reply(content="All done."))
    data = {"provider": provider, "user": "Weather everywhere?", "tools": [tool]}
    conversation = await sync_to_async(compose.create_conversation)(team, people.editor, data)
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(live.group_name(conversation.pk), channel)

    assert await run_conversation(conversation.pk) == "finished"
    events = await drain(layer, channel)
    kinds = [event["kind"] for event in events]
    frames = [event for event in events if event["kind"] == "calls"]
    assert 1 <= len(frames) < 30, "60 calls make ~180 engine events; frames are throttled"
    assert all(len(frame["calls"]) == 60 for frame in frames)
    assert kinds.count("message") == 62  # the assistant turn, 60 results, the answer
    assert kinds.index("batch_finished") > max(i for i, k in enumerate(kinds) if k == "calls")
    assert kinds.count("delta") < 30, "streamed fragments are folded into frames too"
    assert kinds[-1] == "status" and events[-1]["status"] == "finished"
