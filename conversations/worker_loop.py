"""The event loop a Celery worker process drives its runs on, many at once.

A run spends nearly all its life waiting: on the model, on tools, on the database. So a worker
process does not give a run a process (or an event loop) of its own: Celery runs its tasks in a
pool of threads (`CELERY_WORKER_POOL = "threads"`, see tasks.py for why), and each task hands its
run to this one loop per process and waits for it to end (`run`). What this module owns:

- the loop: a daemon thread started on the first run of the process (and again in a child
  after a fork, which has no threads of its parent's); it runs until the process ends;
- the per-process run limit, FCSTUDIO_WORKER_MAX_RUNS: a semaphore a run takes before it
  starts and gives back when it ends. A task over the limit waits for a slot with its message
  unacknowledged and its run still queued, so nothing is lost, and the reaper leaves the run
  alone because the worker beats (leases.reap_stale_runs);
- giving back the connection of the thread-sensitive thread when a run ends. The runner does
  its database work on `run_database`'s few threads (PostgreSQL), each piece giving its pooled
  connection back when it ends; without such threads (SQLite, FCSTUDIO_RUN_DB_THREADS=0) it
  goes to asgiref's one thread-sensitive thread, shared by the runs of the process, and each
  run gives that connection back to the pool when it ends (`close_old_connections` on that
  thread, between two queries), so a broken connection is replaced and an idle worker holds
  none.

It must not decide anything about a run: the claim, the heartbeat and what a second delivery
does are the lease's (leases.py) and the task's.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None
# (pid, FCSTUDIO_WORKER_MAX_RUNS) -> the slots of that process at that limit.
_slots: dict[tuple[int, int], threading.BoundedSemaphore] = {}


def loop() -> asyncio.AbstractEventLoop:
    """This process's run loop, started on its first use (and again in a child after a fork: a
    child inherits its parent's globals but none of its threads)."""
    global _loop, _loop_pid
    with _lock:
        if _loop is None or _loop_pid != os.getpid():
            _loop = asyncio.new_event_loop()
            _loop_pid = os.getpid()
            threading.Thread(
                target=_loop.run_forever, name="fcstudio-worker-loop", daemon=True
            ).start()
        return _loop


@contextmanager
def run_slot() -> Iterator[None]:
    """One of this process's FCSTUDIO_WORKER_MAX_RUNS run slots, waited for when all are taken."""
    limit = max(1, int(settings.FCSTUDIO_WORKER_MAX_RUNS))
    with _lock:
        slots = _slots.setdefault((os.getpid(), limit), threading.BoundedSemaphore(limit))
    slots.acquire()
    try:
        yield
    finally:
        slots.release()


async def _then_give_back_the_connection(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        return await coroutine
    finally:
        await sync_to_async(close_old_connections)()


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` (a run) on this process's loop within a run slot, and wait for its end.

    Called from a worker thread, never from the loop itself. The run starts in a fresh context:
    nothing of the calling thread's (asgiref's executors, a request's locals) leaks into it.
    """
    with run_slot():
        future = contextvars.Context().run(
            asyncio.run_coroutine_threadsafe, _then_give_back_the_connection(coroutine), loop()
        )
        return future.result()


__all__ = ["loop", "run", "run_slot"]
