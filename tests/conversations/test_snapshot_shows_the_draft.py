"""A page that connects while the model is writing gets the draft so far in its catch-up snapshot
(text and parallel calls), not only from the next frame; where no turn is being written, the
stream it gets is empty."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from conversations import compose, live
from conversations.models import Conversation, ModelCall, RunStatus
from conversations.runner import run_conversation
from fcstudio.routing import websocket_urlpatterns
from tests.support.openai_server import Reply

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

DRAFT = (
    '<div id="stream" class="stream" data-round="0" hx-swap-oob="true">\n'
    "        \n"
    '          <article class="msg role-assistant streaming">\n'
    '            <header><strong>assistant</strong> <span class="muted small">writing… round 1'
    "</span></header>\n"
    '            <div class="content">Checking.</div>\n'
    '            <div class="call-draft"><code>#0 get_weather</code>'
    '<pre class="cell">{&quot;cit</pre></div>\n'
    "          </article>\n"
    "        \n"
    "      </div>"
)
NO_DRAFT = '<div id="stream" class="stream" hx-swap-oob="true">\n        \n      </div>'


async def joined(user, conversation) -> tuple[WebsocketCommunicator, str]:
    path = f"/ws/t/acme/conversations/{conversation.pk}/"
    socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    socket.scope["user"] = user
    assert (await socket.connect())[0]
    return socket, await socket.receive_from(timeout=5)


async def last_frame(layer, channel: str, arguments: str) -> live.DraftDelta:
    """The delta frames until the one showing the call's arguments as far as they came."""
    while True:
        event = live.decode(await asyncio.wait_for(layer.receive(channel), timeout=5))
        shown = isinstance(event, live.DraftDelta) and event.calls
        if shown and event.calls[0].arguments == arguments:
            return event


async def test_a_page_joining_mid_stream_gets_the_draft_at_once(
    people, team, provider, model_server
):
    # The role delta, the text, the call's name and the first third of its arguments; then the
    # model says nothing more until it is stopped.
    call = {"id": "call_1", "name": "get_weather", "arguments": '{"city":"Oslo"}'}
    model_server.script(Reply(content="Checking.", tool_calls=[call], stall_after=4))
    data = {"provider": provider, "user": "Weather in Oslo?"}
    conversation = await sync_to_async(compose.create_conversation)(team, people.editor, data)
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(live.group_name(conversation.pk), channel)
    run = asyncio.create_task(run_conversation(conversation.pk))
    await last_frame(layer, channel, '{"cit')

    socket, snapshot = await joined(people.viewer, conversation)
    assert DRAFT in snapshot
    assert await socket.receive_nothing()

    await Conversation.objects.filter(pk=conversation.pk).aupdate(stop_requested=True)
    assert await asyncio.wait_for(run, timeout=5) == RunStatus.STOPPED
    assert await live.kept_draft(conversation.pk) is None
    await socket.disconnect()

    # After the stop, a page joining sees the round's cut-off record and an empty stream.
    socket, snapshot = await joined(people.viewer, conversation)
    assert NO_DRAFT in snapshot and "Checking." in snapshot and "cut off" in snapshot
    assert await socket.receive_nothing()
    await socket.disconnect()


async def test_a_finished_turn_is_not_shown_as_a_draft(people, team, provider):
    data = {"provider": provider, "user": "Weather in Oslo?"}
    conversation = await sync_to_async(compose.create_conversation)(team, people.editor, data)
    await ModelCall.objects.acreate(
        conversation=conversation,
        round=0,
        request={},
        ok=True,
        duration_ms=120.0,
        response={"role": "assistant", "content": "Sunny."},
        started_at=timezone.now(),
    )
    # A draft left behind (its runner died before forgetting it) for a turn the record has.
    await live.keep_draft(conversation.pk, live.DraftDelta(round=0, text="Sun"))

    socket, snapshot = await joined(people.viewer, conversation)
    assert NO_DRAFT in snapshot and "writing…" not in snapshot
    assert await socket.receive_nothing()
    await socket.disconnect()
    await live.forget_draft(conversation.pk)


async def test_nothing_written_yet_gives_an_empty_stream(people, team, provider):
    data = {"provider": provider, "user": "Weather in Oslo?"}
    conversation = await sync_to_async(compose.create_conversation)(team, people.editor, data)
    await ModelCall.objects.acreate(
        conversation=conversation, round=0, request={}, started_at=timezone.now()
    )

    socket, snapshot = await joined(people.viewer, conversation)
    assert NO_DRAFT in snapshot and "waiting for the model" in snapshot
    assert await socket.receive_nothing()
    await socket.disconnect()
