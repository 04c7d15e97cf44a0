"""Events that raced the catch-up snapshot: what the snapshot already showed is not appended
again, and what it did not show is appended once."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from conversations import compose, live, recording
from conversations.models import ModelCall
from fcstudio.routing import websocket_urlpatterns

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def conversation(team, people, provider, tool):
    data = {"provider": provider, "user": "Weather in Oslo?", "tools": [tool], "max_rounds": 3}
    conversation = compose.create_conversation(team, people.editor, data)
    ModelCall.objects.create(
        conversation=conversation, round=0, request={}, started_at=timezone.now()
    )
    return conversation


async def joined(user, conversation) -> tuple[WebsocketCommunicator, str]:
    path = f"/ws/t/acme/conversations/{conversation.pk}/"
    socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    socket.scope["user"] = user
    connected, _ = await socket.connect()
    assert connected
    return socket, await socket.receive_from(timeout=5)


async def test_what_the_snapshot_showed_is_not_sent_again(people, conversation):
    socket, snapshot = await joined(people.viewer, conversation)
    question = await conversation.messages.alast()
    assert "Weather in Oslo?" in snapshot and 'id="round-0"' in snapshot
    model_call = await ModelCall.objects.aget(conversation=conversation, round=0)

    await live.publish(conversation.pk, live.MessageAdded(question.pk))
    await live.publish(conversation.pk, live.ModelStarted(0, model_call.pk))
    await live.publish(conversation.pk, live.RoundStarted(0))
    assert await socket.receive_nothing()
    await socket.disconnect()


async def test_what_came_after_the_snapshot_is_sent_once(people, conversation):
    socket, _ = await joined(people.viewer, conversation)
    answer = await sync_to_async(recording.append_message)(
        conversation.pk, {"role": "assistant", "content": "Mild and sunny."}, round_number=1
    )

    await live.publish(conversation.pk, live.MessageAdded(answer.pk))
    html = await socket.receive_from(timeout=5)
    assert html.startswith('\n<div id="messages" hx-swap-oob="beforeend">')
    assert "Mild and sunny." in html
    await live.publish(conversation.pk, live.MessageAdded(answer.pk))
    assert await socket.receive_nothing()

    await live.publish(conversation.pk, live.ModelStarted(1, 0))
    html = await socket.receive_from(timeout=5)
    assert html.startswith('\n<div id="rounds" hx-swap-oob="beforeend">')
    assert 'id="round-1"' in html
    await live.publish(conversation.pk, live.RoundStarted(1))  # the same round, by another way
    assert await socket.receive_nothing()
    await socket.disconnect()
