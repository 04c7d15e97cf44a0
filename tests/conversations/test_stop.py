"""A stop asked for from anywhere (another process writes the flag) ends a run mid-call."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from conversations import compose
from conversations.models import Conversation, RunStatus
from conversations.runner import run_conversation
from tests.support.openai_server import Reply

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def test_a_stop_flag_ends_a_run_waiting_on_a_slow_model(people, team, provider, model_server):
    model_server.script(Reply(content="far too slow", delay_s=30))
    data = {"provider": provider, "user": "Hello?"}
    conversation = await sync_to_async(compose.create_conversation)(team, people.editor, data)
    run = asyncio.create_task(run_conversation(conversation.pk))

    assert await asyncio.to_thread(
        model_server.request_arrived.wait, 5
    )  # the model call is in flight
    await Conversation.objects.filter(pk=conversation.pk).aupdate(stop_requested=True)
    status = await asyncio.wait_for(run, timeout=5)
    assert status == RunStatus.STOPPED
    stopped = await Conversation.objects.aget(pk=conversation.pk)
    assert (stopped.failure, stopped.stop_requested) == ("Stopped by a person.", False)
    assert await stopped.messages.acount() == 1
