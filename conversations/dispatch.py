"""Where a run executes: inline (the ASGI server's loop), a channels worker, or Celery.

Views and commands call `start_run` and `request_stop`; which process then drives the model loop
is configuration (FCSTUDIO_DISPATCH). All three end in `runner.run_conversation`.

Each serving process (and each channels worker) also reaps runs whose worker died, so none stays
stuck when nobody runs `manage.py reap_runs`: `ensure_reaper` starts one task per process on its
event loop, lazily (on the first inline run, websocket or worker message; Daphne has no ASGI
lifespan to start it with), every FCSTUDIO_REAP_INTERVAL_SECONDS. Celery deployments reap from
beat instead (`conversations.reap_runs` in CELERY_BEAT_SCHEDULE).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import threading
from datetime import timedelta
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.consumer import AsyncConsumer
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import DatabaseError, close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone

from fcstudio import audit

from . import quotas, replay
from .leases import (
    STALE_AFTER,
    TAKEOVER_AFTER,
    WORKER_BEAT_EVERY,
    live_worker_exists,
    mark_interrupted,
    reap_stale_runs,
    stop_silent_run,
    worker_beat,
    worker_identity,
)
from .models import ACTIVE_STATUSES, Conversation, ReplayJob, RunStatus
from .runner import run_conversation

logger = logging.getLogger(__name__)

RUNS_CHANNEL = "fcstudio-runs"
_inline_tasks: dict[int, asyncio.Task[Any]] = {}
_reaper: asyncio.Task[None] | None = None
_worker_beat: asyncio.Task[None] | None = None


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The ASGI server's event loop when called from one of its sync views, else None."""
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    pid = getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None)
    return loop if loop is not None and pid == os.getpid() and loop.is_running() else None


def _spawn(conversation_id: int) -> None:
    ensure_reaper()
    # A fresh context: the request's (its thread-sensitive executor) ends with the request.
    task = asyncio.get_running_loop().create_task(
        run_conversation(conversation_id), context=contextvars.Context()
    )
    _inline_tasks[conversation_id] = task
    task.add_done_callback(lambda _: _inline_tasks.pop(conversation_id, None))


def start_run(conversation: Conversation, *, actor: Any = None) -> bool:
    """Queue the conversation's run; it continues from its last message.

    False (and nothing sent) when the run is already queued or driven by a live worker: a
    compare-and-set on its status and heartbeat, so a double click never starts two drivers.
    Raises `quotas.QuotaExceeded` (nothing queued) when the team used up its runs for the hour.
    """
    if conversation.is_stale:
        # What the lost worker left open is closed with the reason before the run resumes.
        mark_interrupted(
            conversation.pk,
            f"The worker {conversation.worker or '(unknown)'} stopped responding; "
            "a person resumed the run.",
        )
    with transaction.atomic():
        queued = queue_run(conversation)
    if queued:
        send_run(conversation, actor=actor)
    return queued


def queue_run(conversation: Conversation) -> bool:
    """The first half of `start_run`: check the quota, count the start and mark the run queued.

    Call it in a transaction, and `send_run` once that transaction is committed: several runs
    queued in one transaction are all started or (on `quotas.QuotaExceeded`) none is."""
    now = timezone.now()
    live_run = Q(status__in=ACTIVE_STATUSES, heartbeat_at__gte=now - TAKEOVER_AFTER)
    quotas.check_run_quota(conversation.team_id, now)
    queued = (
        Conversation.objects.filter(pk=conversation.pk)
        .exclude(live_run)
        .update(status=RunStatus.QUEUED, failure="", stop_requested=False, heartbeat_at=now)
    )
    if queued:
        quotas.record_run(conversation.team_id, conversation.pk)
    return bool(queued)


def send_run(conversation: Conversation, *, actor: Any = None) -> None:
    """The second half of `start_run`: hand a queued run to whatever drives runs here."""
    audit.record(conversation.team_id, audit.Kind.RUN_START, actor, conversation)
    mode = settings.FCSTUDIO_DISPATCH
    if mode == "channels":
        async_to_sync(get_channel_layer().send)(
            RUNS_CHANNEL, {"type": "run.conversation", "conversation_id": conversation.pk}
        )
    elif mode == "celery":
        from .tasks import run_conversation_task

        run_conversation_task.delay(conversation.pk)
    else:
        loop = _server_loop()
        if loop is not None:
            loop.call_soon_threadsafe(_spawn, conversation.pk, context=contextvars.Context())
        else:
            # No server loop (management commands, the test client): run to the end here.
            async_to_sync(run_conversation)(conversation.pk)


def start_replay_job(job: ReplayJob) -> None:
    """Run a queued replay job where runs run: a channels worker, Celery, or (inline) a thread
    of this process, or here and now when there is no server (commands, the test client)."""
    send_replay_job(job.pk)


def send_replay_job(job_id: int) -> None:
    mode = settings.FCSTUDIO_DISPATCH
    if mode == "channels":
        async_to_sync(get_channel_layer().send)(
            RUNS_CHANNEL, {"type": "replay.job", "job_id": job_id}
        )
    elif mode == "celery":
        from .tasks import replay_job_task

        replay_job_task.delay(job_id)
    elif (loop := _server_loop()) is not None:
        # This process's reaper re-queues the job should the process die while it runs.
        loop.call_soon_threadsafe(ensure_reaper, context=contextvars.Context())
        # Replays run tools through the batch path, which blocks: not on the server's loop.
        threading.Thread(
            target=_replay_in_thread, args=(job_id,), name=f"replay-job-{job_id}", daemon=True
        ).start()
    else:
        replay.run_replay_job(job_id)


def reap_stale_replay_jobs(now: Any = None, stale_after: timedelta = STALE_AFTER) -> int:
    """Replay jobs whose worker went silent: queued again and sent (they resume with the
    conversations not yet done), or marked failed with the reason when no worker can take
    them. `leases.reap_stale_runs` calls it, so every reaper reaps jobs too.

    Inline, only the serving process's own reaper queues a job again (to a thread of that
    process); outside one (`manage.py reap_runs` from cron) sending it would run the whole
    replay, tool calls and all, in the reaper itself, so there the job is marked failed."""
    mode = settings.FCSTUDIO_DISPATCH
    alive = mode == "inline" or live_worker_exists(mode, now)
    outside_server = mode == "inline" and _server_loop() is None
    requeued, failed = replay.reap_stale_jobs(
        now, stale_after, worker_alive=alive, outside_server=outside_server
    )
    for job_id in requeued:
        send_replay_job(job_id)
    return len(requeued) + len(failed)


def _replay_in_thread(job_id: int, worker: str | None = None) -> None:
    try:
        replay.run_replay_job(job_id, worker)
    finally:
        close_old_connections()


def request_stop(conversation: Conversation, *, actor: Any = None) -> None:
    """Stop the run: at once when no worker drives it (queued, or its worker went silent), else
    by the flag its worker polls; an inline run in this process is cancelled at once."""
    audit.record(conversation.team_id, audit.Kind.RUN_STOP, actor, conversation)
    if stop_silent_run(conversation.pk):
        return
    Conversation.objects.filter(pk=conversation.pk).update(stop_requested=True)
    task = _inline_tasks.get(conversation.pk)
    if task is not None and not task.done():
        task.get_loop().call_soon_threadsafe(task.cancel)


async def reap_once() -> int:
    """One round of the embedded reaper: `leases.reap_stale_runs` in a thread."""
    try:
        return int(await database_sync_to_async(reap_stale_runs)())
    except DatabaseError:  # e.g. a locked SQLite file: the next round tries again
        logger.warning("the embedded reaper could not reap stale runs", exc_info=True)
        return 0


async def reap_periodically(interval: float) -> None:
    while True:
        await reap_once()
        await asyncio.sleep(interval)


def ensure_reaper() -> asyncio.Task[None] | None:
    """Start this process's reaper on the running loop unless it runs already (or is off)."""
    global _reaper
    interval = float(settings.FCSTUDIO_REAP_INTERVAL_SECONDS)
    if interval <= 0:
        return None
    loop = asyncio.get_running_loop()
    if _reaper is None or _reaper.done() or _reaper.get_loop() is not loop:
        _reaper = loop.create_task(reap_periodically(interval), context=contextvars.Context())
    return _reaper


async def beat_periodically(mode: str) -> None:
    """Say this worker process is alive every WORKER_BEAT_EVERY, busy or not."""
    while True:
        try:
            await database_sync_to_async(worker_beat)(mode)
        except DatabaseError:  # the next beat tries again; a missed one only ages the last
            logger.warning("the worker could not record its heartbeat", exc_info=True)
        await asyncio.sleep(WORKER_BEAT_EVERY.total_seconds())


def ensure_worker_beat(mode: str) -> asyncio.Task[None]:
    """Start this worker process's heartbeat on the running loop unless it beats already."""
    global _worker_beat
    loop = asyncio.get_running_loop()
    if _worker_beat is None or _worker_beat.done() or _worker_beat.get_loop() is not loop:
        _worker_beat = loop.create_task(beat_periodically(mode), context=contextvars.Context())
    return _worker_beat


class RunWorker(AsyncConsumer):
    """`python manage.py runworker fcstudio-runs`: runs conversations sent to the channel.

    It beats from its first message on (channels gives a worker no start-up hook), and keeps
    beating while its runs are queued behind each other."""

    async def run_conversation(self, message: dict[str, Any]) -> None:
        ensure_worker_beat("channels")
        ensure_reaper()
        await run_conversation(int(message["conversation_id"]), worker=worker_identity())

    async def replay_job(self, message: dict[str, Any]) -> None:
        ensure_worker_beat("channels")
        ensure_reaper()
        # On a thread of its own: a replay takes minutes, and on the thread the process's
        # database work shares, the heartbeat and the reaper would wait behind it (the reaper
        # then takes the worker for dead and fails the runs queued to it).
        await asyncio.to_thread(_replay_in_thread, int(message["job_id"]), worker_identity())
