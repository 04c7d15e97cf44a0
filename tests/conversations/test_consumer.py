"""The conversation websocket: who may listen, and the exact fragments each event becomes."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from conversations import compose, live
from conversations.consumers import CLOSE_FORBIDDEN
from conversations.view_models import LiveRow
from fcstudio.asgi import application
from fcstudio.routing import websocket_urlpatterns

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def conversation(team, people, provider, tool):
    data = {"provider": provider, "user": "Weather in Oslo?", "tools": [tool], "max_rounds": 2}
    return compose.create_conversation(team, people.editor, data)


def communicator(user, conversation, team_slug: str = "acme") -> WebsocketCommunicator:
    path = f"/ws/t/{team_slug}/conversations/{conversation.pk}/"
    socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    socket.scope["user"] = user
    return socket


async def joined(socket: WebsocketCommunicator) -> WebsocketCommunicator:
    connected, _ = await socket.connect()
    assert connected
    await socket.receive_from(timeout=5)  # the catch-up snapshot
    return socket


async def test_joining_sends_the_state_so_far_from_the_database(people, conversation):
    socket = communicator(people.viewer, conversation)
    connected, _ = await socket.connect()
    assert connected
    snapshot = await socket.receive_from(timeout=5)
    assert '<div id="conv-status" class="status-line" hx-swap-oob="true">' in snapshot
    assert '<div id="messages" hx-swap-oob="true">' in snapshot
    assert "Weather in Oslo?" in snapshot
    assert '<div id="rounds" hx-swap-oob="true"></div>' in snapshot
    await socket.disconnect()


async def test_a_member_listens_and_receives_status_fragments(people, conversation):
    socket = await joined(communicator(people.viewer, conversation))
    await live.publish(conversation.pk, live.StatusChanged("running"))
    html = await socket.receive_from(timeout=5)
    assert html.startswith('\n  <div id="conv-status" class="status-line" hx-swap-oob="true">')
    assert '<span class="badge status-draft" id="status-badge">Draft</span>' in html
    assert await socket.receive_nothing()
    await socket.disconnect()


async def test_live_call_events_become_a_gantt_with_one_bar_per_call(people, conversation):
    socket = await joined(communicator(people.viewer, conversation))
    calls = tuple(
        LiveRow(
            tool_name="get_weather",
            tool_call_id=f"c{i}",
            status=status,
            attempts=1,
            started_ms=1.0,
            finished_ms=finished,
        )
        for i, (status, finished) in enumerate([("ok", 50.0), ("running", None), ("running", None)])
    )
    await live.publish(
        conversation.pk, live.RoundCalls(round=0, batch_id=1, now_ms=60.0, calls=calls)
    )
    html = await socket.receive_from(timeout=5)
    assert html.startswith('\n<div id="round-0-gantt" hx-swap-oob="true">')
    assert html.count('<g class="call bar-ok">') == 1
    assert html.count('<g class="call bar-running">') == 2
    assert await socket.receive_nothing()
    await socket.disconnect()


async def test_a_delta_shows_the_tool_call_being_written(people, conversation):
    socket = await joined(communicator(people.viewer, conversation))
    calls = (
        live.DraftCall(index=0, name="get_time", arguments="{}"),
        live.DraftCall(index=1, name="get_weather", arguments='{"city": "Os'),
    )
    await live.publish(conversation.pk, live.DraftDelta(round=0, text="", calls=calls))
    html = await socket.receive_from(timeout=5)
    assert 'id="stream"' in html and "#0 get_time" in html and "#1 get_weather" in html
    assert "{&quot;city&quot;: &quot;Os" in html
    assert await socket.receive_nothing()
    await socket.disconnect()


@pytest.mark.parametrize("who", ["outsider", "anonymous"])
async def test_non_members_are_refused(people, conversation, who):
    user = AnonymousUser() if who == "anonymous" else people.outsider
    socket = communicator(user, conversation)
    connected, code = await socket.connect()
    assert (connected, code) == (False, CLOSE_FORBIDDEN)


async def test_a_conversation_of_another_team_is_refused(people, conversation):
    socket = communicator(people.outsider, conversation, team_slug="elsewhere")
    connected, code = await socket.connect()
    assert (connected, code) == (False, CLOSE_FORBIDDEN)


async def test_a_foreign_origin_is_refused_before_anything_else(conversation):
    path = f"/ws/t/acme/conversations/{conversation.pk}/"
    socket = WebsocketCommunicator(application, path, headers=[(b"origin", b"http://evil.example")])
    connected, _ = await socket.connect()
    assert connected is False


@pytest.mark.parametrize(("who", "has_controls"), [("viewer", False), ("editor", True)])
async def test_pushed_controls_follow_the_listeners_role(people, conversation, who, has_controls):
    socket = await joined(communicator(getattr(people, who), conversation))
    await live.publish(conversation.pk, live.StatusChanged("draft"))
    html = await socket.receive_from(timeout=5)
    assert ('<button type="submit" class="btn btn-primary">Run</button>' in html) is has_controls
    await socket.disconnect()


async def test_a_finished_model_call_clears_the_draft_and_fills_its_round_line(
    people, conversation
):
    from django.utils import timezone

    from conversations.models import ModelCall

    await ModelCall.objects.acreate(
        conversation=conversation,
        round=0,
        request={},
        ok=True,
        finish_reason="tool_calls",
        total_tokens=18,
        duration_ms=420.0,
        started_at=timezone.now(),
    )
    socket = await joined(communicator(people.viewer, conversation))
    await live.publish(conversation.pk, live.ModelFinished(0))
    html = await socket.receive_from(timeout=5)
    assert '<div id="stream" class="stream" hx-swap-oob="true">' in html
    assert '<p class="small muted model-call" id="round-0-model" hx-swap-oob="true">' in html
    assert "model 420 ms" in html and "18 tokens" in html
    await live.publish(conversation.pk, live.StatusChanged("finished"))
    html = await socket.receive_from(timeout=5)
    assert '<dl class="stats" id="summary" hx-swap-oob="true">' in html
    assert await socket.receive_nothing()
    await socket.disconnect()


async def test_a_run_that_ended_empties_the_stream_with_its_status(people, conversation):
    """A draft frame that raced a stop leaves no answer "being written" on the page: the status
    of a run that ended takes the stream away; a running one's leaves it."""
    from conversations.models import Conversation, RunStatus

    socket = await joined(communicator(people.viewer, conversation))
    stream = '<div id="stream" class="stream" hx-swap-oob="true">'
    await Conversation.objects.filter(pk=conversation.pk).aupdate(status=RunStatus.RUNNING)
    await live.publish(conversation.pk, live.StatusChanged("running"))
    assert stream not in await socket.receive_from(timeout=5)
    await Conversation.objects.filter(pk=conversation.pk).aupdate(status=RunStatus.STOPPED)
    await live.publish(conversation.pk, live.StatusChanged("stopped"))
    assert stream in await socket.receive_from(timeout=5)
    await socket.disconnect()


async def test_a_kept_draft_of_a_run_that_ended_is_not_shown_to_a_joining_page(
    people, conversation
):
    from conversations.consumers import render_snapshot
    from conversations.models import Conversation, ModelCall, RunStatus

    await ModelCall.objects.acreate(
        conversation=conversation, round=0, request={}, started_at=timezone.now()
    )
    draft = live.DraftDelta(round=0, text="Let me check", calls=())
    await Conversation.objects.filter(pk=conversation.pk).aupdate(status=RunStatus.RUNNING)
    shown, _ = await sync_to_async(render_snapshot)(conversation.pk, draft=draft)
    assert "Let me check" in shown
    await Conversation.objects.filter(pk=conversation.pk).aupdate(status=RunStatus.STOPPED)
    shown, _ = await sync_to_async(render_snapshot)(conversation.pk, draft=draft)
    assert "Let me check" not in shown
