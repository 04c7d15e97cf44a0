"""Where a run's database work is done: a few threads of the process, shared by all its runs.

A run awaits each piece of its database work (claim, a message, a model call's record, a batch's
rows) before the next, so the pieces need no thread of their own, only a thread. Sent through
`sync_to_async` as they were, they all went to asgiref's one thread-sensitive thread: the runs of
a Daphne or Celery worker process queued there one query at a time, and a burst of runs spent
more time in that queue than waiting on the model or the tools.

With PostgreSQL (a pooled connection per thread), `run_sync` sends the work to a pool of
FCSTUDIO_RUN_DB_THREADS threads of its own, bounded by the database pool (at most half of
FCSTUDIO_DB_POOL_MAX, so requests always find a connection): each piece takes a pooled
connection and gives it back when it ends, so no transaction spans two pieces and an idle process
holds no connection. Any thread will do, since every piece commits before the next starts. Even
one such thread (the inline default) keeps the runs' queue of work away from the
thread-sensitive thread, where the websocket consumers render the frames of the watched pages.
Inline, Daphne's loop drives the runs and serves the pages: in bench_scale more database threads
took its share of the GIL (runs/s and live frames both suffered), while two Celery worker
processes gained from 4 threads each.

With SQLite, or FCSTUDIO_RUN_DB_THREADS=0, the work stays on the thread-sensitive thread (one
writer at a time suits SQLite, and tests see their own transaction there).

It must not decide what the work is: the runner, the lease and the recorder own that.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

P = ParamSpec("P")
T = TypeVar("T")

_lock = threading.Lock()
# (pid, size) -> the pool of that process at that size (a forked child starts its own).
_pools: dict[tuple[int, int], ThreadPoolExecutor] = {}


def threads() -> int:
    """How many threads of their own do runs' database work in this process (0: none, the work
    goes to the thread-sensitive thread)."""
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        return 0
    bound = max(1, int(settings.FCSTUDIO_DB_POOL_MAX) // 2)
    return max(0, min(int(settings.FCSTUDIO_RUN_DB_THREADS), bound))


def _pool(size: int) -> ThreadPoolExecutor:
    with _lock:
        key = (os.getpid(), size)
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = ThreadPoolExecutor(size, thread_name_prefix="fcstudio-run-db")
        return pool


def _giving_back(function: Callable[P, T]) -> Callable[P, T]:
    def work(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return function(*args, **kwargs)
        finally:
            # CONN_MAX_AGE is 0 with the pool: the connection goes back to it (or, broken, away).
            close_old_connections()

    return work


async def run_sync(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`function(*args, **kwargs)` off the event loop, on a database thread of this process."""
    size = threads()
    if size < 1:
        return await sync_to_async(function)(*args, **kwargs)
    pooled = sync_to_async(_giving_back(function), thread_sensitive=False, executor=_pool(size))
    return await pooled(*args, **kwargs)


__all__ = ["run_sync", "threads"]
