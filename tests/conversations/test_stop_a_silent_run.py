"""Stop on a run no worker drives any more closes it at once, instead of setting a flag that no
worker will ever read; a run with a live worker is still stopped by its worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.urls import reverse
from django.utils import timezone

from conversations import compose
from conversations.models import Batch, BatchSource, Conversation, ModelCall, RunStatus
from fcstudio.routing import websocket_urlpatterns

SILENT_REASON = "Stopped by a person; the worker host-a:4242 had stopped responding."


def new_run(team, people, provider, status=RunStatus.RUNNING, age=timedelta(minutes=5)):
    data = {"provider": provider, "user": "Weather in Oslo?"}
    conversation = compose.create_conversation(team, people.editor, data)
    Conversation.objects.filter(pk=conversation.pk).update(
        status=status, worker="host-a:4242", heartbeat_at=timezone.now() - age
    )
    ModelCall.objects.create(
        conversation=conversation, round=0, request={}, started_at=timezone.now()
    )
    batch = Batch.objects.create(
        team=team, conversation=conversation, round=0, source=BatchSource.CONVERSATION
    )
    batch.executions.create(position=0, tool_call_id="call_a", tool_name="get_weather")
    conversation.refresh_from_db()
    return conversation


def stop(people, who: str, conversation):
    url = reverse("conversation_stop", kwargs={"team": "acme", "conversation": conversation.pk})
    return people.client_for(who).post(url, headers={"HX-Request": "true"})


@pytest.mark.django_db
def test_stop_closes_a_run_whose_worker_went_silent_at_once(team, people, provider):
    conversation = new_run(team, people, provider)
    assert conversation.is_stale
    assert stop(people, "editor", conversation).status_code == 204

    conversation.refresh_from_db()
    assert (conversation.status, conversation.failure) == (RunStatus.STOPPED, SILENT_REASON)
    assert conversation.stop_requested is False
    batch = Batch.objects.get(conversation=conversation)
    assert (batch.status, batch.failure) == ("failed", SILENT_REASON)
    assert list(batch.executions.values_list("status", "error_code", "error_message")) == [
        ("error", "CANCELLED", SILENT_REASON)
    ]
    model_call = ModelCall.objects.get(conversation=conversation)
    assert (model_call.error_kind, model_call.error_message) == ("interrupted", SILENT_REASON)


@pytest.mark.django_db
def test_stop_closes_a_queued_run_no_worker_took(team, people, provider):
    conversation = new_run(team, people, provider, status=RunStatus.QUEUED, age=timedelta(0))
    assert stop(people, "editor", conversation).status_code == 204
    conversation.refresh_from_db()
    assert (conversation.status, conversation.failure) == (
        RunStatus.STOPPED,
        "Stopped by a person before a worker started the run.",
    )


@pytest.mark.django_db
def test_a_run_with_a_beating_worker_is_left_to_its_worker(team, people, provider):
    conversation = new_run(team, people, provider, age=timedelta(seconds=5))
    assert stop(people, "editor", conversation).status_code == 204
    conversation.refresh_from_db()
    assert (conversation.status, conversation.stop_requested) == (RunStatus.RUNNING, True)
    assert Batch.objects.get(conversation=conversation).status == "running"


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "expected"), [("viewer", 403), ("outsider", 404)])
def test_only_editors_may_stop(team, people, provider, who, expected):
    conversation = new_run(team, people, provider)
    assert stop(people, who, conversation).status_code == expected
    conversation.refresh_from_db()
    assert conversation.status == RunStatus.RUNNING


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_watching_page_sees_the_run_stopped(team, people, provider):
    conversation = await sync_to_async(new_run)(team, people, provider)
    path = f"/ws/t/acme/conversations/{conversation.pk}/"
    socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    socket.scope["user"] = people.viewer
    assert (await socket.connect())[0]
    snapshot = await socket.receive_from(timeout=5)
    assert 'id="stale">worker host-a:4242 not responding since' in snapshot

    response = await sync_to_async(stop)(people, "editor", conversation)
    assert response.status_code == 204
    calls = await socket.receive_from(timeout=5)
    assert calls.startswith('\n<div id="round-0-calls" class="scroll-x" hx-swap-oob="true">')
    assert f'<span class="badge err">CANCELLED</span> <span class="small">{SILENT_REASON}' in calls
    html = await socket.receive_from(timeout=5)
    assert '<span class="badge status-stopped" id="status-badge">Stopped</span>' in html
    assert f'<span class="muted small" id="status-reason">{SILENT_REASON}</span>' in html
    assert 'id="stale"' not in html
    assert await socket.receive_nothing()
    await socket.disconnect()
