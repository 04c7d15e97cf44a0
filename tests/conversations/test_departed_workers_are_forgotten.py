"""Worker rows (one per worker process that ever beat) do not pile up: the reaper deletes those
not seen for WORKER_FORGOTTEN_AFTER, and keeps the rest, live or only recently silent."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from conversations.leases import (
    WORKER_ALIVE_FOR,
    WORKER_FORGOTTEN_AFTER,
    reap_stale_runs,
    worker_beat,
)
from conversations.models import Worker


def test_the_reaper_forgets_workers_gone_for_a_long_time(db) -> None:
    now = timezone.now()
    worker_beat("celery", name="host-a:1", now=now)  # alive
    worker_beat("celery", name="host-a:2", now=now - WORKER_ALIVE_FOR * 2)  # silent, not long
    worker_beat(
        "channels", name="host-b:3", now=now - WORKER_FORGOTTEN_AFTER + timedelta(minutes=1)
    )
    worker_beat("celery", name="host-b:4", now=now - WORKER_FORGOTTEN_AFTER - timedelta(seconds=1))
    worker_beat("channels", name="host-c:5", now=now - timedelta(days=30))

    assert reap_stale_runs(now=now) == 0  # no run was stale; the rows are another matter
    assert sorted(Worker.objects.values_list("name", flat=True)) == [
        "host-a:1",
        "host-a:2",
        "host-b:3",
    ]


def test_a_forgotten_worker_that_beats_again_is_remembered(db) -> None:
    now = timezone.now()
    worker_beat("celery", name="host-a:1", now=now - timedelta(days=2))
    reap_stale_runs(now=now)
    assert not Worker.objects.exists()
    worker_beat("celery", name="host-a:1", now=now)
    assert list(Worker.objects.values_list("name", "mode")) == [("host-a:1", "celery")]
