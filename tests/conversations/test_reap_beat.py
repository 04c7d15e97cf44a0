"""With Celery, beat reaps runs whose worker died: the schedule names the task, the task reaps."""

from __future__ import annotations

import pytest
from django.utils import timezone

from conversations import compose
from conversations.leases import STALE_AFTER
from conversations.models import Conversation, RunStatus
from conversations.tasks import reap_runs_task
from fcstudio.celery import app


def test_beat_runs_the_reaper_task_every_interval():
    entry = app.conf.beat_schedule["reap-stale-runs"]
    assert entry == {"task": "conversations.reap_runs", "schedule": 30.0}
    assert app.tasks["conversations.reap_runs"].name == reap_runs_task.name


@pytest.mark.django_db
def test_the_task_marks_a_dead_run_failed(team, people, provider):
    data = {"provider": provider, "user": "Weather in Oslo?"}
    conversation = compose.create_conversation(team, people.editor, data)
    Conversation.objects.filter(pk=conversation.pk).update(
        status=RunStatus.RUNNING, heartbeat_at=timezone.now() - STALE_AFTER * 2
    )
    scheduled = app.tasks[app.conf.beat_schedule["reap-stale-runs"]["task"]]
    assert scheduled.apply().get() == 1
    conversation.refresh_from_db()
    assert conversation.status == RunStatus.FAILED
