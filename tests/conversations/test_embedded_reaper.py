"""The serving process reaps runs whose worker died on its own, with no `reap_runs` from cron:
one reaper task per process, started by the first socket (or inline run, or worker message)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from conversations import compose, dispatch
from conversations.leases import STALE_AFTER
from conversations.models import Conversation, RunStatus
from fcstudio.routing import websocket_urlpatterns

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

FAILED_BADGE = '<span class="badge status-failed" id="status-badge">Failed</span>'


@sync_to_async
def dead_run(team, people, provider) -> Conversation:
    data = {"provider": provider, "user": "Weather in Oslo?"}
    conversation = compose.create_conversation(team, people.editor, data)
    Conversation.objects.filter(pk=conversation.pk).update(
        status=RunStatus.RUNNING,
        worker="host-a:4242",
        heartbeat_at=timezone.now() - STALE_AFTER - timedelta(minutes=1),
    )
    return conversation


async def watch(user, conversation) -> WebsocketCommunicator:
    path = f"/ws/t/acme/conversations/{conversation.pk}/"
    socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    socket.scope["user"] = user
    assert (await socket.connect())[0]
    await socket.receive_from(timeout=5)  # the catch-up snapshot
    return socket


@pytest_asyncio.fixture
async def reaper_on(settings) -> AsyncIterator[None]:
    settings.FCSTUDIO_REAP_INTERVAL_SECONDS = 30
    yield
    if dispatch._reaper is not None:
        dispatch._reaper.cancel()
        dispatch._reaper = None


async def test_one_round_reaps_a_dead_run_and_tells_its_page(team, people, provider):
    conversation = await dead_run(team, people, provider)
    socket = await watch(people.viewer, conversation)
    assert await dispatch.reap_once() == 1
    html = await socket.receive_from(timeout=5)
    assert FAILED_BADGE in html
    assert "The worker host-a:4242 stopped responding; the run was marked failed." in html
    assert await dispatch.reap_once() == 0
    assert await socket.receive_nothing()
    await socket.disconnect()


async def test_the_first_socket_starts_the_reaper_which_reaps_without_the_command(
    team, people, provider, reaper_on
):
    conversation = await dead_run(team, people, provider)
    assert dispatch._reaper is None
    socket = await watch(people.viewer, conversation)
    assert dispatch._reaper is not None and not dispatch._reaper.done()
    # The reaper's first round runs as it starts: the page hears of it with no reload.
    html = await socket.receive_from(timeout=5)
    assert FAILED_BADGE in html
    reaped = await Conversation.objects.aget(pk=conversation.pk)
    assert reaped.status == RunStatus.FAILED
    await socket.disconnect()


async def test_the_reaper_is_started_once_per_process(reaper_on):
    first = dispatch.ensure_reaper()
    assert first is not None
    assert dispatch.ensure_reaper() is first


async def test_an_interval_of_zero_turns_the_reaper_off(settings):
    settings.FCSTUDIO_REAP_INTERVAL_SECONDS = 0
    assert dispatch.ensure_reaper() is None
    assert dispatch._reaper is None
