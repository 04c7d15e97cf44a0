"""The demo workspace's conversation runs end to end: the studio's runner calls the built-in demo
model over HTTP (a live Daphne serving this project), executes its parallel calls and records
the final answer."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from asgiref.sync import async_to_sync
from django.core.management import call_command

from conversations import demo_model
from conversations.models import Conversation, RunStatus
from conversations.runner import run_conversation
from tests.support.live_studio import serve_studio


@pytest.fixture(scope="module")
def studio_url(django_db_setup, django_db_blocker) -> Iterator[str]:
    # Forked while unblocked, so the server process may use the database freely; the tests
    # themselves stay blocked unless they ask for the database.
    with ExitStack() as server:
        with django_db_blocker.unblock():
            url = server.enter_context(serve_studio())
        yield url


def test_the_demo_conversation_runs_parallel_calls_to_a_final_answer(db, settings, studio_url):
    settings.FCSTUDIO_PUBLIC_URL = studio_url
    call_command("load_demo", stdout=io.StringIO())
    conversation = Conversation.objects.get(team__slug="demo")

    status = async_to_sync(run_conversation)(conversation.pk)

    conversation.refresh_from_db()
    assert (status, conversation.failure) == (RunStatus.FINISHED, "")
    roles = [m.role for m in conversation.messages.all()]
    assert roles == ["system", "user", "assistant", "tool", "tool", "tool", "assistant"]
    batch = conversation.batches.get()
    assert (
        sorted(batch.executions.values_list("tool_name", "status")) == [("get_weather", "ok")] * 3
    )
    cities = [call["function"]["arguments"] for call in conversation.messages.all()[2].tool_calls]
    assert cities == ['{"city": "Oslo"}', '{"city": "Lima"}', '{"city": "Osaka"}']
    answer = conversation.messages.last().content
    assert answer.startswith(demo_model.LABEL)
    assert [line.split("(")[0] for line in answer.splitlines()[1:]] == ["- get_weather"] * 3
    model_calls = list(conversation.model_calls.order_by("round"))
    assert [(c.ok, c.finish_reason) for c in model_calls] == [(True, "tool_calls"), (True, "stop")]
    assert all(c.total_tokens for c in model_calls)
