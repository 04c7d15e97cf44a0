"""A run waiting in a deep queue is not failed while a worker that can take it is alive: the
reaper leaves it alone and its page shows how many queued runs are ahead of it and since when
it waits, not that a worker is not responding (that only once no worker of its mode is alive)."""

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


def page(client, run: Conversation) -> str:
    url = reverse("conversation", kwargs={"team": run.team.slug, "conversation": run.pk})
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_shows_the_queue_position(deep_queue, people, team) -> None:
    worker_beat("channels", name="host:1")
    client = people.client_for("viewer")
    waiting_since = f"waiting since {deep_queue[3].heartbeat_at:%H:%M:%S}"
    assert "Next in the queue, waiting since" in page(client, deep_queue[0])
    assert f"3 queued runs ahead, {waiting_since}" in page(client, deep_queue[3])
    outsider = people.client_for("outsider")
    url = reverse("conversation", kwargs={"team": team.slug, "conversation": deep_queue[3].pk})
    assert outsider.get(url).status_code == 404


def test_a_long_wait_with_a_live_worker_is_no_alarm(deep_queue, people) -> None:
    worker_beat("channels", name="host:1")
    run = deep_queue[0]  # queued longer than TAKEOVER_AFTER ago
    assert not Conversation.objects.get(pk=run.pk).is_stale
    html = page(people.client_for("editor"), run)
    assert 'id="queue-position">Next in the queue' in html
    assert 'id="stale"' not in html
    assert ">Stop</button>" in html
    assert ">Resume</button>" not in html


def test_with_no_live_worker_left_the_page_says_so(deep_queue, people) -> None:
    worker_beat("channels", name="host:1", now=timezone.now() - WORKER_ALIVE_FOR * 2)
    worker_beat("celery", name="host:2")  # alive, but not of this dispatch mode
    run = deep_queue[0]
    assert Conversation.objects.get(pk=run.pk).is_stale
    html = page(people.client_for("editor"), run)
    assert 'id="stale">not responding: no worker is alive to take the run</span>' in html
    assert ">Resume</button>" in html


def test_a_run_queued_moments_ago_is_never_stale(deep_queue, people) -> None:
    Conversation.objects.filter(pk=deep_queue[0].pk).update(heartbeat_at=timezone.now())
    assert not Conversation.objects.get(pk=deep_queue[0].pk).is_stale
    assert 'id="stale"' not in page(people.client_for("viewer"), deep_queue[0])
