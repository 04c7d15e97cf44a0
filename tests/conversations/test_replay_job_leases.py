"""A replay job is claimed once and owned by the worker that beats for it; the reaper queues
again a job whose worker went silent (it resumes with the conversations not yet done), or marks
it failed with the reason when no worker can take it (`manage.py reap_runs` inline, too); a
queued job no worker started is sent again, ever less often; a person may resume a silent job."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from conversations import dispatch
from conversations import replay as replay_module
from conversations.dispatch import RUNS_CHANNEL
from conversations.leases import STALE_AFTER, TAKEOVER_AFTER, reap_stale_runs, worker_beat
from conversations.models import Batch, BatchSource, ReplayJob, ReplayJobStatus
from conversations.replay import (
    MAX_REPLAY_ATTEMPTS,
    MAX_RESEND_DOUBLINGS,
    ReplayJobLost,
    claim_job,
    job_beat,
    new_replay_job,
    run_replay_job,
)
from conversations.transcript_import import import_transcript

from .transcript_samples import json_lines


@pytest.fixture
def recordings(team, tool):
    return import_transcript(team, json_lines() + json_lines())


def went_silent(job: ReplayJob, *, after: timedelta, worker: str = "host:9", **changes) -> None:
    """The job's worker claimed it, then stopped beating `after` ago."""
    assert claim_job(job.pk, worker)
    ReplayJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - after, **changes)


def replayed() -> int:
    return Batch.objects.filter(source=BatchSource.REPLAY).count()


def test_a_second_claim_of_a_claimed_job_does_nothing(team, recordings):
    job = new_replay_job(team)
    assert claim_job(job.pk, "host:1")

    assert not claim_job(job.pk, "host:2")
    assert run_replay_job(job.pk, worker="host:2") == "skipped"

    job.refresh_from_db()
    assert (job.status, job.worker, job.results) == (ReplayJobStatus.RUNNING, "host:1", [])
    assert replayed() == 0


def test_a_worker_that_lost_its_job_writes_no_more(team, recordings):
    job = new_replay_job(team)
    assert claim_job(job.pk, "host:1")
    job_beat(job.pk, "host:1")
    with pytest.raises(ReplayJobLost):
        job_beat(job.pk, "host:2", results=[{"conversation": 1}])
    job.refresh_from_db()
    assert job.results == []


@pytest.fixture
def replay_threads(monkeypatch) -> list[threading.Thread]:
    """The threads the serving process hands replay jobs to, for the test to join."""
    started: list[threading.Thread] = []
    start = dispatch._replay_in_thread

    def replay_in_thread(job_id: int, worker: str | None = None) -> None:
        started.append(threading.current_thread())
        start(job_id, worker)

    monkeypatch.setattr(dispatch, "_replay_in_thread", replay_in_thread)
    return started


@pytest.mark.django_db(transaction=True)  # the job runs on a thread of its own
def test_the_serving_process_reaper_queues_a_stale_job_again_and_it_resumes_with_what_is_left(
    team, recordings, replay_threads
):
    first, second = recordings
    job = new_replay_job(team)
    done = {"conversation": first.pk, "title": first.title, "group": "g", "changed": 2}
    went_silent(job, after=STALE_AFTER + timedelta(seconds=1), results=[done])

    # Inline, the serving process's reaper hands the job to a thread of that process.
    assert async_to_sync(dispatch.reap_once)() == 1
    (thread,) = replay_threads
    thread.join(timeout=30)

    assert not thread.is_alive() and thread is not threading.main_thread()
    job.refresh_from_db()
    assert (job.status, job.attempts) == (ReplayJobStatus.FINISHED, 1)
    assert job.worker != "host:9"  # this process took it
    assert [r["conversation"] for r in job.results] == [first.pk, second.pk]
    assert replayed() == 1  # only the conversation not yet done


def test_reap_runs_from_the_command_inline_marks_stale_jobs_failed_and_runs_none(
    team, recordings, replay_threads
):
    """Inline, a replay runs in the serving process: the command, run from cron, neither runs
    the job itself (blocking for the whole replay) nor can hand it to that process. It marks
    the job failed with the reason, as it marks a stale inline run, and a person resumes it."""
    silent = new_replay_job(team)
    went_silent(silent, after=STALE_AFTER + timedelta(seconds=1))
    unclaimed = new_replay_job(team)
    ReplayJob.objects.filter(pk=unclaimed.pk).update(heartbeat_at=timezone.now() - STALE_AFTER * 2)
    out = StringIO()

    call_command("reap_runs", stdout=out)

    assert json.loads(out.getvalue()) == {"reaped": 2}
    silent.refresh_from_db()
    unclaimed.refresh_from_db()
    assert (silent.status, silent.worker, silent.attempts) == (ReplayJobStatus.FAILED, "host:9", 0)
    assert silent.failure == (
        "The worker host:9 stopped responding (0 of 2 conversations done). Inline, a replay "
        "runs in the serving process, and this reaper runs outside it, so the job was marked "
        "failed. Resume the job to continue."
    )
    assert unclaimed.status == ReplayJobStatus.FAILED
    assert unclaimed.failure.startswith(
        "No worker started the job within 120 s (0 of 2 conversations done). Inline,"
    )
    assert silent.can_resume and unclaimed.can_resume
    assert (replayed(), replay_threads) == (0, [])


def test_the_replay_a_dead_worker_left_under_way_is_closed_with_the_reason(team, recordings):
    first, _ = recordings
    job = new_replay_job(team)
    group = uuid.uuid4()
    left = Batch.objects.create(
        team=team,
        source=BatchSource.REPLAY,
        status="running",
        strategy="asyncio",
        compare_group=group,
        replay_of=first.batches.get(),
    )
    went_silent(job, after=STALE_AFTER + timedelta(seconds=1), current_group=group, attempts=2)

    assert reap_stale_runs() == 1

    left.refresh_from_db()
    job.refresh_from_db()
    assert (job.status, job.current_group) == (ReplayJobStatus.FAILED, None)
    assert (left.status, left.failure) == ("failed", job.failure)


def test_a_job_with_a_fresh_heartbeat_is_left_alone(team, recordings):
    job = new_replay_job(team)
    went_silent(job, after=STALE_AFTER - timedelta(seconds=5))
    assert reap_stale_runs() == 0
    job.refresh_from_db()
    assert (job.status, job.worker, job.attempts) == (ReplayJobStatus.RUNNING, "host:9", 0)


def test_with_a_live_worker_the_stale_job_is_sent_to_it_again(team, recordings, settings):
    settings.FCSTUDIO_DISPATCH = "channels"
    worker_beat("channels", name="host:1")
    job = new_replay_job(team)
    went_silent(job, after=STALE_AFTER + timedelta(seconds=1))

    assert reap_stale_runs() == 1

    job.refresh_from_db()
    assert (job.status, job.attempts, job.worker) == (ReplayJobStatus.QUEUED, 1, "")
    message = async_to_sync(get_channel_layer().receive)(RUNS_CHANNEL)
    assert message == {"type": "replay.job", "job_id": job.pk}


def test_without_a_live_worker_the_stale_job_is_failed_with_the_reason(team, recordings, settings):
    settings.FCSTUDIO_DISPATCH = "celery"
    job = new_replay_job(team)
    went_silent(job, after=STALE_AFTER + timedelta(seconds=1))

    assert reap_stale_runs() == 1

    job.refresh_from_db()
    assert job.status == ReplayJobStatus.FAILED and job.finished_at is not None
    assert job.failure == (
        "The worker host:9 stopped responding and no worker is running to take the job "
        "(0 of 2 conversations done). Is a worker running? Resume the job to continue."
    )


def test_a_queued_job_no_worker_started_is_sent_again_while_a_worker_is_alive(
    team, recordings, settings
):
    """Its message may be lost (channels_redis drops one after 60 s): sent again, not an
    attempt counted; a second delivery is harmless (claim_job is a compare-and-set)."""
    settings.FCSTUDIO_DISPATCH = "channels"
    job = new_replay_job(team)
    ReplayJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - STALE_AFTER * 2)
    worker_beat("channels", name="host:1")

    assert reap_stale_runs() == 1

    job.refresh_from_db()
    assert (job.status, job.attempts, job.worker) == (ReplayJobStatus.QUEUED, 0, "")
    assert job.heartbeat_at > timezone.now() - STALE_AFTER
    message = async_to_sync(get_channel_layer().receive)(RUNS_CHANNEL)
    assert message == {"type": "replay.job", "job_id": job.pk}
    assert reap_stale_runs() == 0  # sent again once a silence, not at every reap


@pytest.fixture
def sent(monkeypatch) -> list[int]:
    """The jobs the reaper sends again, in order."""
    sends: list[int] = []
    monkeypatch.setattr(dispatch, "send_replay_job", sends.append)
    return sends


def reap_at(later: timedelta) -> int:
    """Reap as the reaper would `later` from now, with the channels worker still beating."""
    now = timezone.now() + later
    worker_beat("channels", name="host:1", now=now)
    return reap_stale_runs(now=now)


def test_a_queued_job_waiting_behind_a_busy_queue_is_sent_again_ever_less_often(
    team, recordings, settings, sent
):
    """Its first message may still be queued: each send waits twice as long as the one
    before, up to a cap, so copies do not pile up, and a lost message is still sent again."""
    settings.FCSTUDIO_DISPATCH = "channels"
    job = new_replay_job(team)

    assert reap_at(STALE_AFTER + timedelta(seconds=1)) == 1  # sent once at creation, then again
    assert sent == [job.pk]
    assert reap_at(STALE_AFTER * 2 - timedelta(seconds=1)) == 0  # sent within 2 times STALE_AFTER
    assert reap_at(STALE_AFTER * 2 + timedelta(seconds=1)) == 1
    assert reap_at(STALE_AFTER * 4 - timedelta(seconds=1)) == 0
    assert reap_at(STALE_AFTER * 4 + timedelta(seconds=1)) == 1
    assert sent == [job.pk] * 3
    job.refresh_from_db()
    assert (job.status, job.resends, job.attempts) == (ReplayJobStatus.QUEUED, 3, 0)


def test_the_wait_between_two_sends_is_capped(team, recordings, settings, sent):
    settings.FCSTUDIO_DISPATCH = "channels"
    job = new_replay_job(team)
    ReplayJob.objects.filter(pk=job.pk).update(resends=MAX_RESEND_DOUBLINGS + 10)
    cap = STALE_AFTER * 2**MAX_RESEND_DOUBLINGS

    assert reap_at(cap - timedelta(seconds=1)) == 0
    assert reap_at(cap + timedelta(seconds=1)) == 1
    assert sent == [job.pk]


def test_a_queued_job_between_two_sends_still_fails_when_its_worker_is_gone(
    team, recordings, settings, sent
):
    settings.FCSTUDIO_DISPATCH = "channels"
    job = new_replay_job(team)
    ReplayJob.objects.filter(pk=job.pk).update(resends=3)

    # Not due to be sent again for 8 times STALE_AFTER, but no worker is alive to take it.
    assert reap_stale_runs(now=timezone.now() + STALE_AFTER * 2) == 1

    job.refresh_from_db()
    assert job.status == ReplayJobStatus.FAILED and sent == []
    assert job.failure.startswith("No worker started the job within 120 s and no worker")


def test_claiming_or_queueing_a_job_again_starts_its_sends_over(team, recordings):
    job = new_replay_job(team)
    ReplayJob.objects.filter(pk=job.pk).update(resends=4)
    assert claim_job(job.pk, "host:9")
    job.refresh_from_db()
    assert job.resends == 0

    ReplayJob.objects.filter(pk=job.pk).update(resends=4)
    went_silent_again = timezone.now() - STALE_AFTER - timedelta(seconds=1)
    ReplayJob.objects.filter(pk=job.pk).update(heartbeat_at=went_silent_again)
    assert replay_module.reap_stale_jobs(worker_alive=True) == ([job.pk], [])
    job.refresh_from_db()
    assert (job.status, job.attempts, job.resends) == (ReplayJobStatus.QUEUED, 1, 0)


def test_a_queued_job_fails_when_no_worker_is_alive(team, recordings, settings):
    settings.FCSTUDIO_DISPATCH = "celery"
    job = new_replay_job(team)
    ReplayJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - STALE_AFTER * 2)
    worker_beat("celery", name="host:1", now=timezone.now() - timedelta(hours=1))

    assert reap_stale_runs() == 1

    job.refresh_from_db()
    assert job.status == ReplayJobStatus.FAILED
    assert job.failure.startswith("No worker started the job within 120 s")


def test_a_job_silent_too_often_is_failed(team, recordings, settings):
    settings.FCSTUDIO_DISPATCH = "channels"
    worker_beat("channels", name="host:1")
    job = new_replay_job(team)
    went_silent(job, after=STALE_AFTER + timedelta(seconds=1), attempts=MAX_REPLAY_ATTEMPTS - 1)

    assert reap_stale_runs() == 1

    job.refresh_from_db()
    assert job.status == ReplayJobStatus.FAILED
    assert "stopped responding, for the job's attempt 3 of 3" in job.failure
    assert replayed() == 0


def test_a_person_resumes_a_job_that_is_not_responding(team, recordings, people):
    job = new_replay_job(team, user=people.editor)
    went_silent(job, after=TAKEOVER_AFTER + timedelta(seconds=1))
    page_url = reverse("replay_job", args=[team.slug, job.pk])
    resume_url = reverse("replay_job_resume", args=[team.slug, job.pk])
    editor = people.client_for("editor")

    page = editor.get(page_url).content.decode()
    assert "worker host:9 not responding since" in page and 'id="job-resume"' in page
    assert 'id="job-resume"' not in people.client_for("viewer").get(page_url).content.decode()
    assert people.client_for("viewer").post(resume_url).status_code == 403
    assert people.client_for("outsider").post(resume_url).status_code == 404

    response = editor.post(resume_url)

    assert response.status_code == 302 and response["Location"] == page_url
    job.refresh_from_db()
    assert (job.status, job.done) == (ReplayJobStatus.FINISHED, 2)


def test_resuming_a_job_its_worker_still_runs_does_nothing(team, recordings, people):
    job = new_replay_job(team)
    went_silent(job, after=timedelta(seconds=5))

    people.client_for("editor").post(reverse("replay_job_resume", args=[team.slug, job.pk]))

    job.refresh_from_db()
    assert (job.status, job.worker) == (ReplayJobStatus.RUNNING, "host:9")
    assert replayed() == 0


def test_a_person_resumes_a_queued_job_no_worker_started(team, recordings, people):
    job = new_replay_job(team, user=people.editor)
    ReplayJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - TAKEOVER_AFTER * 2)
    page_url = reverse("replay_job", args=[team.slug, job.pk])
    editor = people.client_for("editor")
    assert 'id="job-resume"' in editor.get(page_url).content.decode()

    editor.post(reverse("replay_job_resume", args=[team.slug, job.pk]))

    job.refresh_from_db()
    assert (job.status, job.done) == (ReplayJobStatus.FINISHED, 2)


def test_a_queued_job_just_made_is_not_resumed(team, recordings, people):
    job = new_replay_job(team)

    people.client_for("editor").post(reverse("replay_job_resume", args=[team.slug, job.pk]))

    job.refresh_from_db()
    assert (job.status, job.worker) == (ReplayJobStatus.QUEUED, "")
    assert replayed() == 0
