"""A live frame that could not be sent (publishing is best effort) is not lost for good: the
page's next message or status frame brings the messages it missed, in order, from the database."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from conversations import compose, live, recording
from conversations.management.commands.bench_pages import make_conversation
from fcstudio.routing import websocket_urlpatterns

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def conversation(team, people, provider, tool):
    data = {"provider": provider, "user": "Weather in Oslo?", "tools": [tool], "max_rounds": 2}
    return compose.create_conversation(team, people.editor, data)


async def watching(user, conversation) -> WebsocketCommunicator:
    path = f"/ws/t/acme/conversations/{conversation.pk}/"
    socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    socket.scope["user"] = user
    connected, _ = await socket.connect()
    assert connected
    await socket.receive_from(timeout=5)  # the snapshot
    return socket


def append(conversation, content: str):
    payload = {"role": "assistant", "content": content}
    return recording.append_message(conversation.pk, payload, round_number=0)


async def test_the_next_message_frame_brings_the_ones_whose_frames_were_lost(people, conversation):
    socket = await watching(people.viewer, conversation)
    await sync_to_async(append)(conversation, "Lost on the way one.")  # frames never sent
    await sync_to_async(append)(conversation, "Lost on the way two.")
    third = await sync_to_async(append)(conversation, "Sent.")

    await live.publish(conversation.pk, live.MessageAdded(third.pk))
    html = await socket.receive_from(timeout=5)

    one, two, sent = (html.index(text) for text in ("way one.", "way two.", "Sent."))
    assert one < two < sent
    assert html.count('<div id="messages" hx-swap-oob="beforeend">') == 3
    # Shown once: the lost frames' messages are not appended again when a frame comes late.
    await live.publish(conversation.pk, live.MessageAdded(third.pk - 1))
    assert await socket.receive_nothing()
    await socket.disconnect()


async def test_the_status_frame_at_the_end_of_a_run_brings_the_last_lost_message(
    people, conversation
):
    socket = await watching(people.viewer, conversation)
    await sync_to_async(append)(conversation, "The final answer.")  # its frame never sent

    await live.publish(conversation.pk, live.StatusChanged("finished"))
    html = await socket.receive_from(timeout=5)

    assert html.index("The final answer.") < html.index('id="conv-status"')
    await socket.disconnect()


async def test_messages_before_the_rounds_listed_are_not_missed_ones(people, team):
    """A long conversation's page lists its last rounds: a message frame brings only what it
    lost since, never the earlier rounds the page leaves out on purpose."""
    conversation = await sync_to_async(make_conversation)(team, 30, 2)
    socket = await watching(people.viewer, conversation)
    newest = await sync_to_async(append)(conversation, "A new answer.")

    await live.publish(conversation.pk, live.MessageAdded(newest.pk))
    html = await socket.receive_from(timeout=5)

    assert "A new answer." in html
    assert "Plan a trip through fifty cities." not in html  # the first message, round 0
    assert html.count('<div id="messages" hx-swap-oob="beforeend">') == 1
    await socket.disconnect()
