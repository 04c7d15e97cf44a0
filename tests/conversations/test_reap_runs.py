"""Runs whose worker died: `manage.py reap_runs`, the claim that keeps a run to one driver, and
what a redelivered Celery task does with a run (resume, re-check later, or skip)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from io import StringIO

import pytest
from asgiref.sync import async_to_sync
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from conversations import compose, dispatch, leases
from conversations.leases import (
    STALE_AFTER,
    TAKEOVER_AFTER,
    claim_run,
    claim_wait,
    worker_identity,
)
from conversations.models import Batch, BatchSource, Conversation, ModelCall, RunStatus
from conversations.runner import run_conversation
from conversations.tasks import run_conversation_task
from tests.support.openai_server import Reply


def new_conversation(team, people, provider, tools=()) -> Conversation:
    return compose.create_conversation(
        team,
        people.editor,
        {
            "provider": provider,
            "system": "You are a travel assistant.",
            "user": "Weather in Oslo?",
            "tools": list(tools),
            "max_rounds": 4,
        },
    )


def set_run(conversation, status, worker="host-a:4242", age=timedelta(0)) -> Conversation:
    Conversation.objects.filter(pk=conversation.pk).update(
        status=status, worker=worker, heartbeat_at=timezone.now() - age
    )
    conversation.refresh_from_db()
    return conversation


def leave_unfinished_work(conversation) -> Batch:
    """What a worker killed mid-batch leaves: a model call, a running batch, queued calls."""
    ModelCall.objects.create(
        conversation=conversation, round=0, request={}, started_at=timezone.now()
    )
    batch = Batch.objects.create(
        team=conversation.team,
        conversation=conversation,
        round=0,
        source=BatchSource.CONVERSATION,
        strategy="asyncio",
    )
    for position, call_id in enumerate(["call_a", "call_b"]):
        batch.executions.create(position=position, tool_call_id=call_id, tool_name="get_weather")
    return batch


def reap(*args: str) -> dict:
    out = StringIO()
    call_command("reap_runs", *args, stdout=out)
    return json.loads(out.getvalue())


# -- manage.py reap_runs ----------------------------------------------------------------------


def test_reap_runs_marks_a_silent_run_failed_with_a_reason_and_closes_its_records(
    team, people, provider
):
    conversation = set_run(
        new_conversation(team, people, provider), RunStatus.RUNNING, age=timedelta(minutes=10)
    )
    batch = leave_unfinished_work(conversation)
    assert reap() == {"reaped": 1}

    conversation.refresh_from_db()
    assert conversation.status == RunStatus.FAILED
    assert conversation.failure.startswith("The worker host-a:4242 stopped responding;")
    batch.refresh_from_db()
    assert (batch.status, batch.failure) == ("failed", conversation.failure)
    assert list(batch.executions.values_list("status", "error_code", "error_message")) == [
        ("error", "CANCELLED", conversation.failure),
        ("error", "CANCELLED", conversation.failure),
    ]
    model_call = ModelCall.objects.get(conversation=conversation)
    assert (model_call.ok, model_call.error_kind) == (False, "interrupted")
    assert reap() == {"reaped": 0}


def test_stale_seconds_sets_the_threshold(team, people, provider):
    conversation = set_run(
        new_conversation(team, people, provider), RunStatus.WAITING, age=timedelta(seconds=30)
    )
    assert reap() == {"reaped": 0}  # the default is STALE_AFTER
    assert reap("--stale-seconds", "60") == {"reaped": 0}
    assert reap("--stale-seconds", "10") == {"reaped": 1}
    conversation.refresh_from_db()
    assert conversation.status == RunStatus.FAILED


def test_a_queued_run_no_worker_took_is_marked_with_its_own_reason(team, people, provider):
    conversation = set_run(
        new_conversation(team, people, provider), RunStatus.QUEUED, worker="", age=STALE_AFTER * 2
    )
    assert reap() == {"reaped": 1}
    conversation.refresh_from_db()
    assert conversation.status == RunStatus.FAILED
    assert conversation.failure.startswith("No worker started the run within 120 s;")


def test_live_and_ended_runs_are_left_alone(team, people, provider):
    live = set_run(new_conversation(team, people, provider), RunStatus.RUNNING)
    old = timedelta(hours=1)
    ended = [
        set_run(new_conversation(team, people, provider), status, age=old)
        for status in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.STOPPED, RunStatus.DRAFT)
    ]
    assert reap("--stale-seconds", "60") == {"reaped": 0}
    for conversation in [live, *ended]:
        before = conversation.status
        conversation.refresh_from_db()
        assert conversation.status == before


def test_a_negative_threshold_is_refused(db):
    with pytest.raises(CommandError, match="must not be negative"):
        reap("--stale-seconds", "-1")


# -- the claim: one driver per run ---------------------------------------------------------------


def test_a_queued_run_is_claimed_once(team, people, provider):
    conversation = set_run(new_conversation(team, people, provider), RunStatus.QUEUED, worker="")
    assert claim_run(conversation.pk, "host-a:1") is True
    assert claim_run(conversation.pk, "host-b:2") is False
    conversation.refresh_from_db()
    assert (conversation.status, conversation.worker) == (RunStatus.RUNNING, "host-a:1")


def test_a_silent_run_is_taken_over_and_what_its_worker_left_is_marked(team, people, provider):
    conversation = set_run(
        new_conversation(team, people, provider),
        RunStatus.RUNNING,
        age=TAKEOVER_AFTER + timedelta(seconds=1),
    )
    batch = leave_unfinished_work(conversation)
    assert claim_run(conversation.pk, "host-b:2") is True
    conversation.refresh_from_db()
    assert (conversation.status, conversation.worker) == (RunStatus.RUNNING, "host-b:2")
    reason = "The worker host-a:4242 stopped responding; host-b:2 resumed the run."
    batch.refresh_from_db()
    assert (batch.status, batch.failure) == ("failed", reason)
    assert set(batch.executions.values_list("status", "error_message")) == {("error", reason)}
    assert ModelCall.objects.get(conversation=conversation).error_message == reason


def test_claim_wait_says_when_a_delivery_may_take_the_run(team, people, provider):
    conversation = new_conversation(team, people, provider)
    assert claim_wait(conversation.pk) == 0  # a draft
    set_run(conversation, RunStatus.QUEUED)
    assert claim_wait(conversation.pk) == 0
    set_run(conversation, RunStatus.RUNNING, age=timedelta(seconds=20))
    wait = claim_wait(conversation.pk)
    assert (TAKEOVER_AFTER - timedelta(seconds=21)).total_seconds() < wait
    assert wait <= (TAKEOVER_AFTER - timedelta(seconds=20)).total_seconds()
    set_run(conversation, RunStatus.WAITING, age=TAKEOVER_AFTER * 2)
    assert claim_wait(conversation.pk) == 0
    for status in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.STOPPED):
        set_run(conversation, status, age=timedelta(hours=1))
        assert claim_wait(conversation.pk) is None
    assert claim_wait(conversation.pk + 1000) is None


def test_run_conversation_leaves_a_run_a_live_worker_drives(team, people, provider, model_server):
    conversation = set_run(new_conversation(team, people, provider), RunStatus.RUNNING)
    assert async_to_sync(run_conversation)(conversation.pk) == RunStatus.RUNNING
    conversation.refresh_from_db()
    assert (conversation.status, conversation.worker) == (RunStatus.RUNNING, "host-a:4242")
    assert model_server.requests == []


def test_run_conversation_resumes_a_silent_run(team, people, provider, model_server):
    conversation = set_run(
        new_conversation(team, people, provider), RunStatus.RUNNING, age=TAKEOVER_AFTER * 2
    )
    model_server.script(Reply(content="Mild."))
    assert async_to_sync(run_conversation)(conversation.pk) == RunStatus.FINISHED
    conversation.refresh_from_db()
    assert (conversation.status, conversation.worker) == (RunStatus.FINISHED, worker_identity())
    assert conversation.messages.last().payload == {"role": "assistant", "content": "Mild."}


def test_run_conversation_does_not_run_an_ended_run_again(team, people, provider, model_server):
    conversation = set_run(new_conversation(team, people, provider), RunStatus.FAILED)
    Conversation.objects.filter(pk=conversation.pk).update(failure="Marked by the reaper.")
    assert async_to_sync(run_conversation)(conversation.pk) == RunStatus.FAILED
    conversation.refresh_from_db()
    assert conversation.failure == "Marked by the reaper."
    assert model_server.requests == []


def test_start_run_does_not_queue_a_run_a_live_worker_drives(team, people, provider, settings):
    settings.FCSTUDIO_DISPATCH = "channels"  # nothing may be sent: the channel layer is in memory
    conversation = set_run(new_conversation(team, people, provider), RunStatus.RUNNING)
    assert dispatch.start_run(conversation) is False
    conversation.refresh_from_db()
    assert (conversation.status, conversation.worker) == (RunStatus.RUNNING, "host-a:4242")


@pytest.mark.django_db(transaction=True)
def test_a_worker_that_lost_its_run_stops_without_writing_over_it(
    team, people, provider, model_server, monkeypatch
):
    monkeypatch.setattr(leases, "HEARTBEAT_EVERY", timedelta(seconds=0.05))
    # The reply would come after the test's own timeout: only the heartbeat noticing the
    # takeover can end the wait.
    model_server.script(Reply(content="Too late.", delay_s=600))
    conversation = new_conversation(team, people, provider)

    def take_over() -> None:  # another worker, while this one waits for the model
        assert model_server.request_arrived.wait(5)
        Conversation.objects.filter(pk=conversation.pk).update(worker="host-b:2")
        connection.close()

    thief = threading.Thread(target=take_over)
    thief.start()
    assert async_to_sync(run_conversation)(conversation.pk) == RunStatus.RUNNING
    thief.join()
    conversation.refresh_from_db()
    assert (conversation.status, conversation.worker) == (RunStatus.RUNNING, "host-b:2")
    assert conversation.messages.count() == 2


# -- a redelivered Celery task -------------------------------------------------------------------


class Retried(Exception):
    pass


@pytest.fixture
def retries(monkeypatch) -> list[float]:
    countdowns: list[float] = []

    def retry(*, countdown: float) -> Retried:
        countdowns.append(countdown)
        return Retried()

    monkeypatch.setattr(run_conversation_task, "retry", retry)
    return countdowns


@pytest.mark.django_db(transaction=True)  # the worker's loop thread reads what the test wrote
def test_a_delivery_runs_a_queued_run(team, people, provider, model_server, retries):
    conversation = set_run(new_conversation(team, people, provider), RunStatus.QUEUED, worker="")
    model_server.script(Reply(content="Mild."))
    assert run_conversation_task.run(conversation.pk) == RunStatus.FINISHED
    assert retries == []


def test_a_delivery_for_a_live_run_checks_again_when_it_could_be_stale(
    team, people, provider, model_server, retries
):
    conversation = set_run(
        new_conversation(team, people, provider), RunStatus.RUNNING, age=timedelta(seconds=15)
    )
    with pytest.raises(Retried):
        run_conversation_task.run(conversation.pk)
    (countdown,) = retries
    assert (TAKEOVER_AFTER - timedelta(seconds=16)).total_seconds() < countdown
    assert countdown <= (TAKEOVER_AFTER - timedelta(seconds=14)).total_seconds()
    assert model_server.requests == []


def test_a_delivery_for_an_ended_run_is_skipped(team, people, provider, model_server, retries):
    conversation = set_run(new_conversation(team, people, provider), RunStatus.FAILED)
    assert run_conversation_task.run(conversation.pk) == "skipped"
    assert run_conversation_task.run(conversation.pk + 1000) == "skipped"
    assert (retries, model_server.requests) == ([], [])
