"""A run waiting in a deep queue is not failed while a worker that can take it is alive: the
reaper leaves it alone and its page shows how many queued runs are ahead of it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conversations.leases import WORKER_ALIVE_FOR, reap_stale_runs, worker_beat
from conversations.models import Conversation, RunStatus

STALE = timedelta(seconds=30)


@pytest.fixture
def deep_queue(team, settings) -> list[Conversation]:
    """Five runs queued a minute ago, a second apart, for channels workers."""
    settings.FCSTUDIO_DISPATCH = "channels"
    queued_at = timezone.now() - timedelta(minutes=1)
    return [
        Conversation.objects.create(
            team=team,
            title=f"Queued {n}",
            model="m",
            status=RunStatus.QUEUED,
            heartbeat_at=queued_at + timedelta(seconds=n),
        )
        for n in range(5)
    ]


def statuses(queue: list[Conversation]) -> list[str]:
    return [Conversation.objects.get(pk=run.pk).status for run in queue]


def test_a_live_worker_keeps_the_queue_from_being_reaped(deep_queue) -> None:
    worker_beat("channels", name="host:1")
    assert reap_stale_runs(stale_after=STALE) == 0
    assert statuses(deep_queue) == [RunStatus.QUEUED] * 5


def test_without_a_live_worker_the_queue_is_reaped(deep_queue) -> None:
    worker_beat("channels", name="host:1", now=timezone.now() - WORKER_ALIVE_FOR * 2)
    worker_beat("celery", name="host:2")
    assert reap_stale_runs(stale_after=STALE) == 5
    assert statuses(deep_queue) == [RunStatus.FAILED] * 5
    assert (
        "No worker started the run within 30 s"
        in Conversation.objects.get(pk=deep_queue[0].pk).failure
    )


def test_a_running_run_whose_worker_died_is_reaped_even_with_live_workers(deep_queue) -> None:
    dead = deep_queue[0]
    Conversation.objects.filter(pk=dead.pk).update(status=RunStatus.RUNNING, worker="host:9")
    worker_beat("channels", name="host:1")
    assert reap_stale_runs(stale_after=STALE) == 1
    assert statuses(deep_queue) == [RunStatus.FAILED] + [RunStatus.QUEUED] * 4


def test_the_page_shows_the_queue_position(deep_queue, people, team) -> None:
    client = people.client_for("viewer")

    def page(run: Conversation) -> str:
        url = reverse("conversation", kwargs={"team": team.slug, "conversation": run.pk})
        return client.get(url).content.decode()

    assert "Next in the queue" in page(deep_queue[0])
    assert "3 queued runs ahead" in page(deep_queue[3])
    outsider = people.client_for("outsider")
    url = reverse("conversation", kwargs={"team": team.slug, "conversation": deep_queue[3].pk})
    assert outsider.get(url).status_code == 404
