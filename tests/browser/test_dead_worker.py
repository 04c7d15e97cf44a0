"""A conversation whose worker died says so, and a person stops it from the page at once."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from conversations import compose
from conversations.models import Batch, BatchSource, Conversation, RunStatus


def run_left_by_a_dead_worker(team, people, provider) -> Conversation:
    """What a worker killed mid-batch leaves: a running run, a running batch, a running call,
    and a heartbeat that stopped five minutes ago."""
    data = {"provider": provider, "user": "Weather in Oslo?"}
    conversation = compose.create_conversation(team, people.editor, data)
    batch = Batch.objects.create(
        team=team, conversation=conversation, round=0, source=BatchSource.CONVERSATION
    )
    batch.executions.create(
        position=0, tool_call_id="call_a", tool_name="get_weather", status="running"
    )
    Conversation.objects.filter(pk=conversation.pk).update(
        status=RunStatus.RUNNING,
        worker="gone-host:42",
        heartbeat_at=timezone.now() - timedelta(minutes=5),
    )
    return conversation


def test_a_person_stops_a_run_whose_worker_died(log_in, people, team, provider):
    conversation = run_left_by_a_dead_worker(team, people, provider)
    page = log_in(people.editor)
    page.goto(f"/t/acme/conversations/{conversation.pk}/")

    expect(page.locator("#status-badge")).to_have_text("Running")
    expect(page.locator("#stale")).to_contain_text("worker gone-host:42 not responding since")
    expect(page.locator("#round-0-calls")).to_contain_text("RUNNING")

    page.get_by_role("button", name="Stop").click()

    expect(page.locator("#status-badge")).to_have_text("Stopped")
    expect(page.locator("#status-reason")).to_have_text(
        "Stopped by a person; the worker gone-host:42 had stopped responding."
    )
    expect(page.locator("#stale")).to_have_count(0)
    expect(page.locator("#round-0-calls")).to_contain_text("CANCELLED")
    expect(page.get_by_role("button", name="Stop")).to_have_count(0)
    expect(page.get_by_role("button", name="Continue")).to_be_visible()


def test_a_queued_run_shows_its_wait_and_says_when_no_worker_can_take_it(
    log_in, people, team, provider
):
    """The studio serves these tests inline, where no worker process beats: a run queued a
    moment ago shows its place in the queue; one queued minutes ago has nobody to take it."""
    data = {"provider": provider, "user": "Weather in Oslo?"}
    waiting = compose.create_conversation(team, people.editor, data)
    forgotten = compose.create_conversation(team, people.editor, data)
    queued_at = timezone.now()
    Conversation.objects.filter(pk=forgotten.pk).update(
        status=RunStatus.QUEUED, heartbeat_at=queued_at - timedelta(minutes=5)
    )
    Conversation.objects.filter(pk=waiting.pk).update(
        status=RunStatus.QUEUED, heartbeat_at=queued_at
    )
    page = log_in(people.editor)

    page.goto(f"/t/acme/conversations/{waiting.pk}/")
    expect(page.locator("#status-badge")).to_have_text("Queued")
    expect(page.locator("#queue-position")).to_have_text(
        f"1 queued run ahead, waiting since {queued_at:%H:%M:%S}"
    )
    expect(page.locator("#stale")).to_have_count(0)

    page.goto(f"/t/acme/conversations/{forgotten.pk}/")
    expect(page.locator("#queue-position")).to_contain_text("Next in the queue, waiting since")
    expect(page.locator("#stale")).to_have_text(
        "not responding: no worker is alive to take the run"
    )
    page.get_by_role("button", name="Stop").click()

    expect(page.locator("#status-badge")).to_have_text("Stopped")
    expect(page.locator("#status-reason")).to_have_text(
        "Stopped by a person before a worker started the run."
    )
    expect(page.locator("#stale")).to_have_count(0)
    expect(page.locator("#queue-position")).to_have_count(0)
