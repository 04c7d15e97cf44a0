"""Run leases: which worker drives a run, and what becomes of a run whose worker went silent.

A run is leased to one worker at a time by a compare-and-set on its status and heartbeat
(`claim_run`). The worker keeps the lease by beating (`heartbeat`: one function, one rule — only
the owner of a live run refreshes it), a redelivered task may take over a run whose heartbeat is
older than TAKEOVER_AFTER, the reaper marks runs older than STALE_AFTER failed (a queued run
only when no live worker of its dispatch mode could still take it: `worker_beat`), and a person's
stop ends at once a run nobody drives (`stop_silent_run`). Takeover comes first, so a lost run is
resumed when a worker holds its message, and marked when none does.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import socket
import weakref
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, ClassVar

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from . import live, recording
from .models import ACTIVE_STATUSES, TAKEOVER_AFTER, Batch, Conversation, RunStatus, Worker

logger = logging.getLogger(__name__)

# A live run polls for a stop every STOP_POLL and refreshes its heartbeat every HEARTBEAT_EVERY
# (and between rounds).
STOP_POLL = timedelta(seconds=0.5)
HEARTBEAT_EVERY = timedelta(seconds=10)
STALE_AFTER = timedelta(minutes=2)
# Each channels or Celery worker process says it is alive every WORKER_BEAT_EVERY; one seen
# within WORKER_ALIVE_FOR can still take the queued runs of its dispatch mode.
WORKER_BEAT_EVERY = timedelta(seconds=10)
WORKER_ALIVE_FOR = timedelta(seconds=30)
# A worker not seen for this long is forgotten (its row deleted by the reaper): hosts and pids
# come and go with every restart, and their rows would otherwise pile up for ever.
WORKER_FORGOTTEN_AFTER = timedelta(days=1)
CLAIMABLE_STATUSES = (RunStatus.DRAFT, RunStatus.QUEUED)
DRIVEN_STATUSES = (RunStatus.RUNNING, RunStatus.WAITING)


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_beat(mode: str, name: str | None = None, now: Any = None) -> None:
    """Record that this worker process (of dispatch mode `mode`) is alive."""
    Worker.objects.update_or_create(
        name=name or worker_identity(),
        defaults={"mode": mode, "seen_at": now or timezone.now()},
    )


def forget_departed_workers(now: Any = None) -> int:
    """Delete the rows of workers not seen for WORKER_FORGOTTEN_AFTER; returns how many."""
    since = (now or timezone.now()) - WORKER_FORGOTTEN_AFTER
    deleted, _ = Worker.objects.filter(seen_at__lt=since).delete()
    return deleted


def live_worker_exists(mode: str, now: Any = None) -> bool:
    """Whether a worker of dispatch mode `mode` was seen within WORKER_ALIVE_FOR."""
    since = (now or timezone.now()) - WORKER_ALIVE_FOR
    return Worker.objects.filter(mode=mode, seen_at__gte=since).exists()


class StopRequested(Exception):
    """A person asked the run to stop."""


class RunLost(Exception):
    """The run is no longer this worker's (taken over or reaped): it writes nothing more."""


def claim_wait(conversation_id: int, now: Any = None) -> float | None:
    """Seconds until a worker may claim the run: 0 now, None never (it ended, or is gone).

    A draft or queued run is claimable at once; a running (or waiting) run once its heartbeat is
    older than TAKEOVER_AFTER, i.e. its worker is presumed dead; a finished, failed or stopped
    run never (a person re-runs it, which queues it again).
    """
    row = Conversation.objects.filter(pk=conversation_id).values_list("status", "heartbeat_at")
    found = row.first()
    if found is None:
        return None
    status, heartbeat_at = found
    if status in CLAIMABLE_STATUSES or (status in DRIVEN_STATUSES and heartbeat_at is None):
        return 0.0
    if status in DRIVEN_STATUSES and heartbeat_at is not None:
        due = heartbeat_at + TAKEOVER_AFTER - (now or timezone.now())
        return max(0.0, due.total_seconds())
    return None


def claim_run(conversation_id: int, worker: str, now: Any = None) -> bool:
    """Compare-and-set: make `worker` the one driver of the run, if it is claimable now.

    Taking over a run from a worker presumed dead marks what that worker left unfinished (its
    batch, calls and model call) with the reason, before the run resumes from its last message.
    """
    now = now or timezone.now()
    claimable = Q(status__in=CLAIMABLE_STATUSES) | Q(
        Q(heartbeat_at__lt=now - TAKEOVER_AFTER) | Q(heartbeat_at__isnull=True),
        status__in=DRIVEN_STATUSES,
    )
    with transaction.atomic():
        found = (
            Conversation.objects.select_for_update()
            .filter(claimable, pk=conversation_id, recorded=False)
            .values_list("status", "worker")
            .first()
        )
        if found is None:
            return False
        previous_status, previous_worker = found
        Conversation.objects.filter(pk=conversation_id).update(
            status=RunStatus.RUNNING, failure="", worker=worker, heartbeat_at=timezone.now()
        )
        if previous_status in DRIVEN_STATUSES:
            mark_interrupted(
                conversation_id,
                f"The worker {previous_worker or '(unknown)'} stopped responding; "
                f"{worker} resumed the run.",
            )
    return True


def _owned(conversation_id: int, worker: str) -> Any:
    """The run, while `worker` drives it: the one ownership rule every lease write follows."""
    return Conversation.objects.filter(
        pk=conversation_id, worker=worker, status__in=ACTIVE_STATUSES
    )


def heartbeat(conversation_id: int, worker: str) -> bool:
    """Refresh the heartbeat of a run this worker still owns; False once it does not."""
    return _owned(conversation_id, worker).update(heartbeat_at=timezone.now()) == 1


def stop_asked(conversation_id: int) -> bool:
    return Conversation.objects.filter(pk=conversation_id, stop_requested=True).exists()


def keep(conversation_id: int, worker: str) -> None:
    """Beat, then raise RunLost when the run is no longer this worker's, or StopRequested.
    One update when neither (the run's every round), a second query only to tell which."""
    beaten = _owned(conversation_id, worker).filter(stop_requested=False)
    if beaten.update(heartbeat_at=timezone.now()) == 1:
        return
    if not heartbeat(conversation_id, worker):
        raise RunLost
    raise StopRequested


def set_status(conversation_id: int, worker: str, status: str, failure: str = "") -> bool:
    """Change the status of a run this worker owns (a beat too); False once it does not."""
    updated = _owned(conversation_id, worker).update(
        status=status, failure=failure, heartbeat_at=timezone.now()
    )
    return updated == 1


def current_status(conversation_id: int) -> str:
    status = Conversation.objects.filter(pk=conversation_id).values_list("status", flat=True)
    return status.first() or RunStatus.FAILED


def finish_run(conversation_id: int, worker: str, status: str, failure: str) -> list[int] | None:
    """End the run with its status, unless it was taken over or reaped meanwhile (then None).
    Calls a stop or a crash interrupted are marked, never left "running"; returns the batches
    that closed (for the pages to redraw)."""
    with transaction.atomic():
        if not _owned(conversation_id, worker).select_for_update().exists():
            return None
        Conversation.objects.filter(pk=conversation_id).update(
            status=status,
            failure=failure,
            stop_requested=False,
            heartbeat_at=timezone.now(),
        )
        return _close_open_calls(conversation_id, failure or status)


class Watch:
    """Watches the run's task while it works (a long model call or tool batch included): a
    person's stop is seen within STOP_POLL and the run beats every HEARTBEAT_EVERY. A stop
    cancels the task (the run ends "stopped"); a run that is no longer this worker's cancels it
    and sets `lost`. A stop thus reaches runs in any process, not only inline ones.

    The runs of one event loop are watched together (`_Watchers`): one query a poll for all
    their stops and one update a beat for all their heartbeats, not one each per run, which at a
    few hundred runs was most of the database's work."""

    def __init__(self, conversation_id: int, worker: str) -> None:
        self.lost = False
        self.conversation_id = conversation_id
        self.worker = worker
        self._run = asyncio.current_task()
        _Watchers.of_this_loop().add(self)

    def end(self, *, lost: bool) -> None:
        """Stop the run's task: asked by a person, or (`lost`) no longer this worker's."""
        self.lost = lost
        if self._run is not None:
            self._run.cancel()

    def stop(self) -> None:
        _Watchers.of_this_loop().discard(self)


def stops_asked(conversation_ids: Iterable[int]) -> set[int]:
    """Which of these runs a person asked to stop."""
    return set(
        Conversation.objects.filter(pk__in=list(conversation_ids), stop_requested=True).values_list(
            "pk", flat=True
        )
    )


def heartbeats(runs: Iterable[tuple[int, str]]) -> set[int]:
    """Refresh the heartbeat of each (run, worker) the worker still owns, in one update per
    worker; returns the runs that are no longer their worker's."""
    by_worker: dict[str, list[int]] = {}
    for conversation_id, worker in runs:
        by_worker.setdefault(worker, []).append(conversation_id)
    lost: set[int] = set()
    now = timezone.now()
    for worker, ids in by_worker.items():
        owned = Conversation.objects.filter(pk__in=ids, worker=worker, status__in=ACTIVE_STATUSES)
        kept = set(owned.values_list("pk", flat=True))
        if kept:
            Conversation.objects.filter(
                pk__in=kept, worker=worker, status__in=ACTIVE_STATUSES
            ).update(heartbeat_at=now)
        lost |= set(ids) - kept
    return lost


class _Watchers:
    """The watches of one event loop and the one task that polls for all of them; the task
    starts with the first watch and ends with the last."""

    _by_loop: ClassVar[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Watchers]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self) -> None:
        self.watches: set[Watch] = set()
        self.task: asyncio.Task[None] | None = None

    @classmethod
    def of_this_loop(cls) -> _Watchers:
        loop = asyncio.get_running_loop()
        watchers = cls._by_loop.get(loop)
        if watchers is None:
            watchers = cls._by_loop[loop] = cls()
        return watchers

    def add(self, watch: Watch) -> None:
        self.watches.add(watch)
        if self.task is None or self.task.done():
            # A fresh context: the poller outlives the run that started it, and must not
            # carry that run's (or a request's) context along.
            self.task = asyncio.get_running_loop().create_task(
                self._poll(), context=contextvars.Context()
            )

    def discard(self, watch: Watch) -> None:
        self.watches.discard(watch)

    async def _poll(self) -> None:
        from .run_database import run_sync  # it reads settings; leases is imported early

        since_beat = 0.0
        while self.watches:
            await asyncio.sleep(STOP_POLL.total_seconds())
            since_beat += STOP_POLL.total_seconds()
            watches = list(self.watches)
            if not watches:
                break
            ended: dict[Watch, bool] = {}
            try:
                stopped = await run_sync(stops_asked, {w.conversation_id for w in watches})
                ended.update((w, False) for w in watches if w.conversation_id in stopped)
                if since_beat >= HEARTBEAT_EVERY.total_seconds():
                    since_beat = 0.0
                    beating = [(w.conversation_id, w.worker) for w in watches if w not in ended]
                    lost = await run_sync(heartbeats, beating)
                    ended.update((w, True) for w in watches if w.conversation_id in lost)
            except DatabaseError:  # the next poll tries again; a missed beat only ages the last
                logger.warning("could not poll the runs' stops and heartbeats", exc_info=True)
                continue
            for watch, lost_run in ended.items():
                if watch in self.watches:
                    self.watches.discard(watch)
                    watch.end(lost=lost_run)


def _close_open_calls(conversation_id: int, reason: str) -> list[int]:
    """Unfinished calls become CANCELLED and running batches failed, with the reason (finished
    calls keep their results, for a resumed run to reuse); returns the batches it closed."""
    return recording.close_batches(Batch.objects.filter(conversation_id=conversation_id), reason)


def mark_interrupted(conversation_id: int, reason: str) -> list[int]:
    """What a dead worker left open is closed with the reason; nothing stays "running".
    Returns the batches it closed."""
    closed = _close_open_calls(conversation_id, reason)
    recording.interrupt_model_calls(conversation_id, reason)
    return closed


def reap_stale_runs(now: Any = None, stale_after: timedelta = STALE_AFTER) -> int:
    """Mark runs whose worker stopped sending heartbeats as failed, with the reason, and tell
    the pages watching them. The one reaper the command, the Celery beat task and the embedded
    reaper (`dispatch.reap_periodically`) all call. It also forgets workers long gone
    (`forget_departed_workers`).

    Each run is marked with a compare-and-set on its status and heartbeat, so a run a worker
    claimed (or finished) in the meantime is left alone.
    """
    now = now or timezone.now()
    forget_departed_workers(now)
    cutoff = now - stale_after
    stale = Q(status__in=ACTIVE_STATUSES) & (
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True)
    )
    mode = settings.FCSTUDIO_DISPATCH
    if mode != "inline" and live_worker_exists(mode, now):
        # A queued run is only waiting its turn while a worker that can take it is alive; the
        # page shows its place in the queue instead.
        stale &= ~Q(status=RunStatus.QUEUED)
    reaped: dict[int, list[int]] = {}
    for pk, status, worker in Conversation.objects.filter(stale).values_list(
        "pk", "status", "worker"
    ):
        if status == RunStatus.QUEUED:
            reason = (
                f"No worker started the run within {stale_after.total_seconds():g} s; "
                "the run was marked failed. Is a worker running? Re-run it to try again."
            )
        else:
            reason = (
                f"The worker {worker or '(unknown)'} stopped responding; "
                "the run was marked failed. Re-run it to continue from the last message."
            )
        with transaction.atomic():
            marked = (
                Conversation.objects.filter(stale, pk=pk).update(
                    status=RunStatus.FAILED,
                    failure=reason,
                    stop_requested=False,
                    heartbeat_at=timezone.now(),
                )
                == 1
            )
            if marked:
                reaped[pk] = mark_interrupted(pk, reason)
    for pk, batch_ids in reaped.items():
        _announce_closed(pk, RunStatus.FAILED, batch_ids)
    return len(reaped) + _reap_replay_jobs(now, stale_after)


def _reap_replay_jobs(now: Any, stale_after: timedelta) -> int:
    """Replay jobs are reaped by the same callers as runs (counted with them); dispatch sends
    those queued again."""
    from .dispatch import reap_stale_replay_jobs  # dispatch imports this module

    return reap_stale_replay_jobs(now, stale_after)


def stop_silent_run(conversation_id: int, now: Any = None) -> bool:
    """Stop at once a run that no worker drives, instead of waiting for one to see the flag,
    and tell the pages watching it.

    That is a queued run no worker has claimed yet, or a running (or waiting) one whose worker
    stopped beating (older than TAKEOVER_AFTER, as `Conversation.is_stale`). What it left open
    is closed with the reason. A compare-and-set under the same lock as `claim_run`: a worker
    that claims the run first keeps it, and the caller falls back to the stop flag (False).
    """
    now = now or timezone.now()
    silent = Q(status=RunStatus.QUEUED) | Q(
        Q(heartbeat_at__lt=now - TAKEOVER_AFTER) | Q(heartbeat_at__isnull=True),
        status__in=DRIVEN_STATUSES,
    )
    with transaction.atomic():
        found = (
            Conversation.objects.select_for_update()
            .filter(silent, pk=conversation_id)
            .values_list("status", "worker")
            .first()
        )
        if found is None:
            return False
        status, worker = found
        if status == RunStatus.QUEUED:
            reason = "Stopped by a person before a worker started the run."
        else:
            reason = (
                f"Stopped by a person; the worker {worker or '(unknown)'} had stopped responding."
            )
        Conversation.objects.filter(pk=conversation_id).update(
            status=RunStatus.STOPPED,
            failure=reason,
            stop_requested=False,
            heartbeat_at=timezone.now(),
        )
        closed = mark_interrupted(conversation_id, reason)
    _announce_closed(conversation_id, RunStatus.STOPPED, closed)
    return True


def _announce_closed(conversation_id: int, status: str, batch_ids: list[int]) -> None:
    """Tell the pages watching a run that was closed outside its worker: its batches' calls
    and its status are redrawn. For sync callers (a view, the reaper in any process)."""

    async def announce() -> None:
        for batch_id in batch_ids:
            await live.publish(conversation_id, live.BatchFinished(batch_id))
        await live.publish(conversation_id, live.StatusChanged(status))

    async_to_sync(announce)()


__all__ = [
    "HEARTBEAT_EVERY",
    "STALE_AFTER",
    "STOP_POLL",
    "TAKEOVER_AFTER",
    "WORKER_ALIVE_FOR",
    "WORKER_BEAT_EVERY",
    "WORKER_FORGOTTEN_AFTER",
    "RunLost",
    "StopRequested",
    "Watch",
    "claim_run",
    "claim_wait",
    "current_status",
    "finish_run",
    "forget_departed_workers",
    "heartbeat",
    "heartbeats",
    "keep",
    "live_worker_exists",
    "mark_interrupted",
    "reap_stale_runs",
    "set_status",
    "stop_asked",
    "stop_silent_run",
    "stops_asked",
    "worker_beat",
    "worker_identity",
]
