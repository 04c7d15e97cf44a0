"""Celery tasks: conversation runs on workers that may sit on other machines.

Many runs per worker process. Celery runs these tasks in a pool of threads
(`CELERY_WORKER_POOL = "threads"`, FCSTUDIO_WORKER_MAX_RUNS of them); each run task hands its
run to the process's one event loop (`worker_loop.run`) and waits there until the run ends.
The threads only wait; the runs' work (the model's stream, the tools, the live frames) is done
by the loop, so one process drives as many runs as it has slots, and a worker that has no free
slot takes no further message: the others take them. Waiting for the end, rather than returning
as soon as the run is handed over, keeps the message and the run together: the message is
acknowledged when the run has ended, so a process that dies mid-run leaves its messages
unacknowledged (they come back, below), and a warm shutdown (SIGTERM) lets its runs finish
first. A task that returned at once would leave a dead process's runs to the reaper alone,
and would have no way to hold back a worker that is full. (The prefork and solo pools work
too, one run per process at a time.)

The task is acknowledged late (`acks_late`) and given back to the broker when its worker process
dies (`reject_on_worker_lost`); with Redis, a message whose whole worker vanished comes back once
the broker's `visibility_timeout` passes. So one run's message may be delivered more than once.
What a delivery does is decided by the run's state in the database, never by the message:

- queued (or draft): run it;
- running or waiting, heartbeat older than `leases.TAKEOVER_AFTER` (its worker is presumed
  dead): resume it from its last message, marking what the dead worker left unfinished;
- running or waiting with a fresh heartbeat (a live worker drives it, or one died moments ago):
  check again when the heartbeat would turn stale (a Celery retry with that countdown);
- finished, failed (e.g. marked by the reaper), stopped, or gone: skip it; a person re-runs.

The claim itself is a compare-and-set in `leases.claim_run`, so two deliveries racing for the
same run never both drive it. While a run waits for a slot it stays queued, and the worker's
own heartbeat (`start_worker_beat`) keeps the reaper from failing it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django.db import DatabaseError, close_old_connections

from . import replay, worker_loop
from .leases import WORKER_BEAT_EVERY, claim_wait, reap_stale_runs, worker_beat, worker_identity
from .runner import run_conversation

logger = logging.getLogger(__name__)

# Re-checks of a run another worker drives, one per TAKEOVER_AFTER at most: about two hours.
MAX_CLAIM_RETRIES = 120


def _beat_forever(stopped: threading.Event) -> None:
    while not stopped.is_set():
        try:
            worker_beat("celery")
        except DatabaseError:  # the next beat tries again; a missed one only ages the last
            logger.warning("the Celery worker could not record its heartbeat", exc_info=True)
        finally:
            close_old_connections()
        stopped.wait(WORKER_BEAT_EVERY.total_seconds())


@worker_ready.connect
def start_worker_beat(**_: Any) -> threading.Thread:
    """A Celery worker says it is alive every WORKER_BEAT_EVERY from its start, so the reaper
    leaves runs queued for it alone however deep the queue (leases.reap_stale_runs)."""
    beat = threading.Thread(
        target=_beat_forever, args=(threading.Event(),), name="fcstudio-worker-beat", daemon=True
    )
    beat.start()
    return beat


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_CLAIM_RETRIES,
    name="conversations.run",
)
def run_conversation_task(self, conversation_id: int) -> str:
    worker_beat("celery")
    wait = claim_wait(conversation_id)
    if wait is None:
        logger.info("Conversation %s: the run has ended or is gone; skipped.", conversation_id)
        return "skipped"
    if wait > 0:
        logger.info(
            "Conversation %s: driven by a worker with a fresh heartbeat; checking again in %.1f s.",
            conversation_id,
            wait,
        )
        raise self.retry(countdown=wait + 0.5)
    # The thread only waits from here on: its pooled connection goes back for the runs to use.
    close_old_connections()
    return worker_loop.run(run_conversation(conversation_id, worker=worker_identity()))


@shared_task(name="conversations.reap_runs")
def reap_runs_task() -> int:
    """Celery beat runs this every FCSTUDIO_REAP_INTERVAL_SECONDS (CELERY_BEAT_SCHEDULE)."""
    return reap_stale_runs()


@shared_task(acks_late=True, reject_on_worker_lost=True, name="conversations.replay_job")
def replay_job_task(job_id: int) -> str:
    """A replay job's message may come twice: `run_replay_job` claims the job once."""
    worker_beat("celery")
    return replay.run_replay_job(job_id, worker=worker_identity())
