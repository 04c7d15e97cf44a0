"""A channels worker keeps beating while it replays a job: the replay runs on a thread of its
own, not on the one thread the worker's database work shares, so its heartbeat (and reaper)
never queue behind a replay minutes long and the reaper does not take it for dead."""

from __future__ import annotations

import asyncio
import threading

import pytest
from channels.db import database_sync_to_async

from conversations import dispatch, replay
from conversations.leases import worker_identity
from conversations.models import Worker

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def test_the_heartbeat_is_recorded_while_a_replay_is_under_way(monkeypatch, settings):
    settings.FCSTUDIO_REAP_INTERVAL_SECONDS = 0
    replaying, release, beaten = threading.Event(), threading.Event(), threading.Event()
    real_beat = dispatch.worker_beat

    def long_replay(job_id: int, worker: str | None = None) -> str:
        replaying.set()
        release.wait(timeout=30)  # a replay that takes until the test lets it finish
        return "finished"

    def beat(mode: str) -> None:
        real_beat(mode)
        beaten.set()

    monkeypatch.setattr(replay, "run_replay_job", long_replay)
    monkeypatch.setattr(dispatch, "worker_beat", beat)
    handler = asyncio.create_task(dispatch.RunWorker().replay_job({"job_id": 1}))
    try:
        assert await asyncio.to_thread(replaying.wait, 30)
        assert await asyncio.to_thread(beaten.wait, 30)
        assert not release.is_set()  # the beat ran while the replay was still under way
        seen = await asyncio.to_thread(
            lambda: Worker.objects.filter(name=worker_identity(), mode="channels").exists()
        )
        assert seen
    finally:
        release.set()
        await handler
        dispatch._worker_beat.cancel()
        await database_sync_to_async(lambda: None)()
