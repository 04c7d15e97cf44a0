"""On PostgreSQL, where a run may start in another process at the same moment: a hand edit
checks that the conversation is idle with its row locked, so a run that is being started (its
row locked by the start's update) is waited for, never slipped past."""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError, connection, connections, transaction

from conversations import compose
from conversations.models import Conversation
from tests.conftest import service_unavailable

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def postgres() -> None:
    if connection.vendor != "postgresql":
        service_unavailable(f"DATABASE_URL is not PostgreSQL (the database is {connection.vendor})")


def test_an_edit_waits_while_a_run_is_being_started(team, people, provider, tool):
    data = {"provider": provider, "user": "Weather in Oslo?", "tools": [tool]}
    conversation = compose.create_conversation(team, people.editor, data)
    message = conversation.messages.get(position=0)
    locked, release = threading.Event(), threading.Event()

    def start_a_run() -> None:  # as dispatch.start_run's compare-and-set holds the row
        try:
            with transaction.atomic():
                Conversation.objects.filter(pk=conversation.pk).update(status="queued")
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    starter = threading.Thread(target=start_a_run)
    starter.start()
    assert locked.wait(timeout=10)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        with pytest.raises(OperationalError, match="lock timeout"):
            compose.edit_message(message, {"role": "user", "content": "Edited"}, people.editor)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")
        release.set()
        starter.join(timeout=30)
    message.refresh_from_db()
    assert message.content == "Weather in Oslo?"
    # Once the run has started, the edit is refused with the reason.
    with pytest.raises(compose.ConversationBusy):
        compose.edit_message(message, {"role": "user", "content": "Edited"}, people.editor)
