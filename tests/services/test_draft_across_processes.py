"""The draft a runner in another process keeps reaches a socket here, through Redis: a page that
joins mid-stream sees what the model has written so far."""

from __future__ import annotations

import asyncio
import sys

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from conversations import compose, live
from conversations.models import ModelCall
from fcstudio.routing import websocket_urlpatterns
from tests.services.test_socket_access_across_processes import ROOT, redis_layer

pytestmark = [pytest.mark.services, pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]
__all__ = ["redis_layer"]

KEEP = (
    "import asyncio, django; django.setup()\n"
    "from conversations import live\n"
    "draft = live.DraftDelta(round=0, text='Oslo is', calls=(live.DraftCall(0, 'get_weather', "
    "'{{\"ci'),))\n"
    "asyncio.run(live.keep_draft({pk}, draft))\n"
)


async def test_a_draft_kept_in_another_process_is_in_the_snapshot(
    team, people, provider, redis_layer
):
    data = {"provider": provider, "user": "Weather in Oslo?"}
    conversation = await sync_to_async(compose.create_conversation)(team, people.editor, data)
    await ModelCall.objects.acreate(
        conversation=conversation, round=0, request={}, started_at=timezone.now()
    )
    runner = await asyncio.create_subprocess_exec(
        sys.executable, "-c", KEEP.format(pk=conversation.pk), cwd=ROOT, env=redis_layer
    )
    assert await asyncio.wait_for(runner.wait(), timeout=60) == 0

    path = f"/ws/t/acme/conversations/{conversation.pk}/"
    socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    socket.scope["user"] = people.viewer
    try:
        assert (await socket.connect())[0]
        snapshot = await socket.receive_from(timeout=5)
        assert '<div class="content">Oslo is</div>' in snapshot
        assert '<code>#0 get_weather</code><pre class="cell">{&quot;ci</pre>' in snapshot
        assert await socket.receive_nothing()
        await socket.disconnect()
        await live.forget_draft(conversation.pk)
        assert await live.kept_draft(conversation.pk) is None
    finally:
        await get_channel_layer().close_pools()
