"""Stop while the model writes: the round shows stopped, with what was written kept on its model
call and marked as cut off; the page's draft gives way to it, and a reload shows the same."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from conversations import compose, live
from conversations.models import Conversation, ModelCall, RunStatus
from conversations.runner import run_conversation
from tests.support.openai_server import Reply

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def next_event(layer, channel: str, kind: str) -> live.LiveEvent:
    while True:
        event = live.decode(await asyncio.wait_for(layer.receive(channel), timeout=5))
        if event is not None and event.kind == kind:
            return event


async def test_a_stop_mid_stream_keeps_the_draft_marked_cut_off(
    people, team, provider, model_server
):
    # The role delta and one word, then the model says nothing more.
    model_server.script(Reply(content="Oslo is rainy today, bring a coat.", stall_after=2))
    data = {"provider": provider, "user": "Weather in Oslo?"}
    conversation = await sync_to_async(compose.create_conversation)(team, people.editor, data)
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(live.group_name(conversation.pk), channel)
    run = asyncio.create_task(run_conversation(conversation.pk))

    draft = await next_event(layer, channel, "delta")
    assert draft.text == "Oslo"
    await Conversation.objects.filter(pk=conversation.pk).aupdate(stop_requested=True)
    assert await asyncio.wait_for(run, timeout=5) == RunStatus.STOPPED

    # Told in this order: the draft gives way to the round's line, then the status.
    assert isinstance(await next_event(layer, channel, "model_finished"), live.ModelFinished)
    assert (await next_event(layer, channel, "status")).status == RunStatus.STOPPED
    call = await ModelCall.objects.aget(conversation=conversation)
    assert (call.ok, call.error_kind) == (False, "stopped")
    assert call.response == {"role": "assistant", "content": "Oslo"}

    client = await sync_to_async(people.client_for)("viewer")
    page = (await sync_to_async(client.get)(f"/t/acme/conversations/{conversation.pk}/")).content
    html = page.decode()
    assert '<span class="badge warn stopped">stopped</span>' in html
    assert '<q class="draft">Oslo</q>' in html
    assert '<span class="badge warn">cut off</span>' in html
    assert "waiting for the model" not in html


async def test_a_watching_page_swaps_the_draft_for_the_stopped_round(people, team, provider):
    from channels.routing import URLRouter
    from channels.testing import WebsocketCommunicator
    from django.utils import timezone

    from conversations.recording import CUT_OFF
    from fcstudio.routing import websocket_urlpatterns

    data = {"provider": provider, "user": "Weather in Oslo?"}
    conversation = await sync_to_async(compose.create_conversation)(team, people.editor, data)
    await ModelCall.objects.acreate(
        conversation=conversation,
        round=0,
        request={},
        error_kind="stopped",
        error_message=CUT_OFF,
        response={"role": "assistant", "content": "Oslo is"},
        started_at=timezone.now(),
    )
    path = f"/ws/t/acme/conversations/{conversation.pk}/"
    socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    socket.scope["user"] = people.viewer
    assert (await socket.connect())[0]
    await socket.receive_from(timeout=5)  # the catch-up snapshot

    await live.publish(conversation.pk, live.ModelFinished(0))
    html = await socket.receive_from(timeout=5)
    assert '<div id="stream" class="stream" hx-swap-oob="true">\n        \n      </div>' in html
    assert '<p class="small muted model-call" id="round-0-model" hx-swap-oob="true">' in html
    assert '<span class="badge warn stopped">stopped</span>' in html
    assert '<q class="draft">Oslo is</q>' in html and "cut off</span>" in html
    assert '<dl class="stats" id="summary" hx-swap-oob="true">' in html
    assert await socket.receive_nothing()
    await socket.disconnect()
