"""One Celery worker process drives many runs at once (conversations.worker_loop), never more
than FCSTUDIO_WORKER_MAX_RUNS, and a killed worker's runs all come back to a second worker.

The model server holds its answers until the test lets them go, so "at once" is shown by the
requests that arrived together and by the records' own timestamps, never by timing. Workers,
isolation and waiting are the dispatch tests' (tests/services/conftest.py).
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from conversations import dispatch
from conversations.leases import STALE_AFTER, TAKEOVER_AFTER, reap_stale_runs
from conversations.models import Conversation, Message, ModelCall, RunStatus
from tests.services.test_dispatch import (
    FINAL,
    TWO_CITIES,
    assert_nothing_left_running,
    assert_ran_two_cities,
    new_conversation,
    status_of,
    wait_for,
)
from tests.support.openai_server import Reply

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

RUNS = 4


def start_runs(count: int, team, people, provider, tools) -> list[Conversation]:
    conversations = [new_conversation(team, people, provider, tools) for _ in range(count)]
    for conversation in conversations:
        assert dispatch.start_run(conversation) is True
    return conversations


def model_call_spans(runs: list[Conversation], round_number: int) -> list[tuple]:
    """(asked, answered) of each run's model call of that round, from the records: the call is
    stored before the request is sent, the assistant message once its answer is complete."""
    spans = []
    for run in runs:
        asked = ModelCall.objects.get(conversation=run, round=round_number).started_at
        answered = Message.objects.get(
            conversation=run, round=round_number, role="assistant"
        ).created_at
        spans.append((asked, answered))
    return spans


def most_at_once(spans: list[tuple]) -> int:
    """The largest number of spans open at one instant."""
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    open_now = most = 0
    for _, step in edges:
        open_now += step
        most = max(most, open_now)
    return most


def test_one_worker_process_drives_several_runs_at_once(
    team, people, provider, tool, model_server, workers, settings
):
    settings.FCSTUDIO_DISPATCH = "celery"
    answer = threading.Event()
    model_server.script(
        *[Reply(tool_calls=TWO_CITIES, until=answer) for _ in range(RUNS)],
        *[Reply(content=FINAL) for _ in range(RUNS)],
    )
    worker = workers.celery(threads=RUNS)
    runs = start_runs(RUNS, team, people, provider, [tool])

    # Every run asks the model before any is answered: they are all in flight in one process.
    wait_for(lambda: len(model_server.requests) == RUNS, "every run to ask the model", workers)
    assert {status_of(run) for run in runs} == {(RunStatus.RUNNING, worker.identity)}
    answer.set()
    wait_for(
        lambda: all(status_of(run)[0] == RunStatus.FINISHED for run in runs),
        "every run to finish",
        workers,
    )

    for run in runs:  # each driven once, by that one process, to the end
        assert_ran_two_cities(run, model_server, worker.identity)
    assert len(model_server.requests) == 2 * RUNS
    # From the records: every run had asked the model before any answer was stored.
    spans = model_call_spans(runs, round_number=0)
    assert max(asked for asked, _ in spans) < min(answered for _, answered in spans)
    assert_nothing_left_running()


def test_a_worker_takes_no_more_runs_than_its_limit(
    team, people, provider, model_server, workers, settings
):
    settings.FCSTUDIO_DISPATCH = "celery"
    answer = threading.Event()
    model_server.script(*[Reply(content=FINAL, until=answer) for _ in range(3)])
    workers.celery(threads=4, max_runs=2)
    runs = start_runs(3, team, people, provider, [])

    wait_for(lambda: len(model_server.requests) == 2, "two runs to ask the model", workers)
    statuses = sorted(status_of(run)[0] for run in runs)
    assert statuses == sorted([RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.RUNNING])
    # The run waiting for a slot has a live worker: however long it waits, it is not reaped.
    (waiting,) = [run for run in runs if status_of(run)[0] == RunStatus.QUEUED]
    Conversation.objects.filter(pk=waiting.pk).update(
        heartbeat_at=timezone.now() - STALE_AFTER - timedelta(seconds=1)
    )
    assert reap_stale_runs() == 0

    answer.set()
    wait_for(
        lambda: all(status_of(run)[0] == RunStatus.FINISHED for run in runs),
        "every run to finish",
        workers,
    )
    assert len(model_server.requests) == 3
    assert most_at_once(model_call_spans(runs, round_number=0)) == 2
    assert_nothing_left_running()


def test_the_runs_of_a_killed_worker_are_all_resumed_by_another(
    team, people, provider, model_server, workers, settings
):
    settings.FCSTUDIO_DISPATCH = "celery"
    never = threading.Event()
    model_server.script(
        *[Reply(content="the first worker never reads this", until=never) for _ in range(RUNS)],
        *[Reply(content=FINAL) for _ in range(RUNS)],
    )
    first = workers.celery(threads=RUNS)
    runs = start_runs(RUNS, team, people, provider, [])
    wait_for(lambda: len(model_server.requests) == RUNS, "every run to ask the model", workers)
    assert {status_of(run) for run in runs} == {(RunStatus.RUNNING, first.identity)}
    first.kill()  # mid model call, every task unacknowledged
    # Their heartbeats stop; rather than wait TAKEOVER_AFTER for them to age, age them.
    Conversation.objects.filter(pk__in=[run.pk for run in runs]).update(
        heartbeat_at=timezone.now() - TAKEOVER_AFTER - timedelta(seconds=1)
    )

    second = workers.celery(threads=RUNS)
    wait_for(
        lambda: all(status_of(run)[0] == RunStatus.FINISHED for run in runs),
        "the second worker to resume every run",
        workers,
    )
    resumed = f"The worker {first.identity} stopped responding; {second.identity} resumed the run."
    for run in runs:
        assert status_of(run) == (RunStatus.FINISHED, second.identity)
        calls = ModelCall.objects.filter(conversation=run).order_by("pk")
        assert [(c.ok, c.error_kind, c.error_message) for c in calls] == [
            (False, "interrupted", resumed),
            (True, "", ""),
        ]
        assert [m.role for m in run.messages.all()] == ["system", "user", "assistant"]
    assert len(model_server.requests) == 2 * RUNS
    assert_nothing_left_running()
