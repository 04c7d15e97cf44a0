"""The runs of a process do their database work on a few threads at once, not one after the
other on asgiref's single thread-sensitive thread, and each piece gives its pooled connection
back when it ends (conversations/run_database.py)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.db import connection

from conversations import run_database
from conversations.models import Conversation
from tests.conftest import service_unavailable

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

THREADS = 3


@pytest.fixture
def database_threads(settings) -> None:
    if connection.vendor != "postgresql":
        service_unavailable(
            "DATABASE_URL is not PostgreSQL; set DATABASE_URL=postgres://postgres@127.0.0.1:5432/fcstudio"
        )
    settings.FCSTUDIO_RUN_DB_THREADS = THREADS
    settings.FCSTUDIO_DB_POOL_MAX = max(settings.FCSTUDIO_DB_POOL_MAX, 2 * THREADS)


def test_runs_query_on_several_threads_at_once_and_hold_no_connection_after(database_threads):
    assert run_database.threads() == THREADS
    # Each piece waits at the barrier until THREADS pieces are in flight: on one thread the
    # first would wait alone and the barrier would break.
    together = threading.Barrier(THREADS, timeout=30)
    seen: list[tuple[str, bool]] = []

    def piece() -> int:
        held_before = connection.connection is not None
        count = Conversation.objects.count()
        together.wait()
        seen.append((threading.current_thread().name, held_before))
        return count

    async def burst() -> list[int]:
        return await asyncio.gather(*(run_database.run_sync(piece) for _ in range(4 * THREADS)))

    assert asyncio.run(burst()) == [0] * (4 * THREADS)
    names = {name for name, _ in seen}
    assert len(names) == THREADS
    assert all(name.startswith("fcstudio-run-db") for name in names)
    # A thread that worked before gave its connection back to the pool when it ended.
    assert not any(held for _, held in seen)


def test_with_no_threads_the_work_stays_on_the_thread_sensitive_thread(settings):
    settings.FCSTUDIO_RUN_DB_THREADS = 0
    assert run_database.threads() == 0

    async def where() -> str:
        return await run_database.run_sync(lambda: threading.current_thread().name)

    assert not asyncio.run(where()).startswith("fcstudio-run-db")
