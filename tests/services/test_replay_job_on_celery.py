"""A replay job on real Celery workers (PostgreSQL, Redis): a worker killed mid-job (`kill -9`)
leaves the job running with a stale heartbeat; the reaper queues it again, a second worker
resumes it with the conversations not yet done, and the lost message that comes back is skipped,
so no conversation is replayed twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from conversations import dispatch
from conversations.leases import STALE_AFTER, reap_stale_runs
from conversations.models import Batch, BatchSource, ReplayJob, ReplayJobStatus, Worker
from conversations.replay import new_replay_job
from conversations.tasks import replay_job_task
from conversations.transcript_import import import_transcript
from tests.conversations.transcript_samples import json_lines
from tests.services import test_dispatch
from tests.services.test_dispatch import Isolation, Workers, wait_for
from tools_app import catalog as catalog_ops

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

# The services, the isolation and the worker processes of the dispatch tests.
redis_url = test_dispatch.redis_url
isolation = test_dispatch.isolation
workers = test_dispatch.workers


@pytest.fixture
def replay_queue(isolation: Isolation, monkeypatch) -> Iterator[None]:
    """Replay jobs are published to this test's own Celery queue too."""
    monkeypatch.setattr(replay_job_task, "queue", isolation.queue, raising=False)
    monkeypatch.setattr(replay_job_task, "_exec_options", None)
    yield
    monkeypatch.undo()
    replay_job_task._exec_options = None


def answer_with(tool, config, people) -> None:
    tool.implementation_config = config
    catalog_ops.save_tool(tool, author=people.editor, message="New mock response")


def job_state(job: ReplayJob) -> tuple[str, str]:
    return ReplayJob.objects.values_list("status", "worker").get(pk=job.pk)


def test_a_replay_job_whose_worker_died_is_resumed_by_another_once(
    team, people, tool, workers: Workers, replay_queue, settings
):
    settings.FCSTUDIO_DISPATCH = "celery"
    answer_with(tool, {"response": {"temp": 21}}, people)
    first_recording, second_recording = import_transcript(team, json_lines() + json_lines())
    answer_with(tool, {"response": {"temp": 19}, "latency_ms": 20_000}, people)
    job = new_replay_job(team, user=people.editor)
    first = workers.celery()

    dispatch.start_replay_job(job)
    wait_for(
        lambda: (
            job_state(job) == (ReplayJobStatus.RUNNING, first.identity)
            and Batch.objects.filter(source=BatchSource.REPLAY, status="running").exists()
        ),
        "the first worker to replay the first recording",
        workers,
    )
    first.kill()  # mid-call: the job's message was never acknowledged
    answer_with(tool, {"response": {"temp": 19}}, people)  # fast again, for the resumed job
    second = workers.celery()
    wait_for(
        lambda: Worker.objects.filter(name=second.identity, mode="celery").exists(),
        "the second worker to say it is alive",
        workers,
    )
    # Rather than wait STALE_AFTER for the dead worker's heartbeat to age, age it.
    ReplayJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - STALE_AFTER - timedelta(seconds=1)
    )

    assert reap_stale_runs() == 1

    wait_for(lambda: job_state(job)[0] == ReplayJobStatus.FINISHED, "the resumed job", workers)
    wait_for(
        lambda: "'skipped'" in second.output(),
        "the second worker to skip the job's other message",
        workers,
    )
    job.refresh_from_db()
    assert (job.worker, job.attempts, job.failure) == (second.identity, 1, "")
    assert [(r["conversation"], r["same"], r["changed"]) for r in job.results] == [
        (first_recording.pk, 0, 2),
        (second_recording.pk, 0, 2),
    ]
    replays = Batch.objects.filter(source=BatchSource.REPLAY).order_by("pk")
    assert [b.status for b in replays] == ["failed", "finished", "finished"]
    assert replays[0].failure.startswith(f"The worker {first.identity} stopped responding")
