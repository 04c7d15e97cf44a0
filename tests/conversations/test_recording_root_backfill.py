"""Migration 0018 gives the recorded conversations from before 0016 the root the proxy joins by,
so an agent loop recorded across that deploy stays one conversation; its copy of the hashing
agrees with `recording`'s."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from conversations import recording
from conversations.models import Conversation
from conversations.recording import record_exchange
from tests.support.recorded_loop import assert_one_loop, exchanges, make_token

# The migration executor runs outside a test's transaction.
pytestmark = pytest.mark.django_db(transaction=True)

backfill = importlib.import_module("conversations.migrations.0018_backfill_recording_root")

BEFORE = [("conversations", "0017_model_call_timed")]
AFTER = [("conversations", "0018_backfill_recording_root")]

CALL = {
    "id": "call_ü",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Zürich"}'},
}
MESSAGE_LISTS: list[list[Any]] = [
    [],
    [{"role": "user", "content": "Weather in Oslo?"}],
    [
        {"role": "system", "content": "Réponds en français. 日本語も。"},
        {"role": "user", "content": "Météo à Zürich ? 🌧"},
        {"role": "assistant", "content": None, "tool_calls": [CALL], "refusal": None},
        {"role": "tool", "tool_call_id": "call_ü", "content": '{"temp_c": -2}'},
        {"role": "assistant", "content": "\u22122 °C."},
    ],
    [{"role": "assistant", "content": "Hello first."}, {"role": "user", "content": "Hi"}],
    [
        {"role": "user", "content": [{"type": "text", "text": "Zwei Teile"}]},
        {"role": "assistant", "tool_calls": [{"id": "x", "function": "not an object"}, 7]},
        {"role": "tool", "tool_call_id": None, "content": None},
    ],
    ["not a message", 3, None, {"content": "no role"}],
]


@pytest.fixture
def executor() -> Iterator[MigrationExecutor]:
    executor = MigrationExecutor(connection)
    yield executor
    migrate(executor, executor.loader.graph.leaf_nodes())


def migrate(executor: MigrationExecutor, targets: list[tuple[str, str]]) -> Any:
    """Migrate to `targets`; the models as they are there."""
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.parametrize("messages", MESSAGE_LISTS)
def test_the_migration_hashes_as_recording_does(messages):
    chain = recording.message_chain(messages)
    assert backfill.message_chain(messages) == chain
    assert backfill.message_chain(messages, "abc") == recording.message_chain(messages, "abc")
    assert backfill.join_root(messages, chain) == recording.join_root(messages, chain)


def test_a_loop_recorded_across_the_deploy_stays_one_conversation(executor):
    token = make_token()
    first, second = exchanges(token)
    record_exchange(first)
    written = Conversation.objects.get().recording_root
    Conversation.objects.update(recording_root="")  # as recorded before 0016
    migrate(executor, BEFORE)

    migrate(executor, AFTER)

    migrate(executor, executor.loader.graph.leaf_nodes())
    assert written and Conversation.objects.get().recording_root == written
    record_exchange(second)
    assert_one_loop()


def test_the_proxys_conversations_lacking_a_root_get_it_in_batches(executor, monkeypatch):
    monkeypatch.setattr(backfill, "BATCH", 2)
    token = make_token()
    old = migrate(executor, BEFORE)
    Team = old.get_model("fcstudio", "Team")
    Conversation = old.get_model("conversations", "Conversation")
    Message = old.get_model("conversations", "Message")
    team = Team.objects.get(pk=token.team_id)

    def recorded(messages: list[dict[str, Any]], **fields: Any) -> Any:
        fields.setdefault("api_token_id", token.pk)
        conversation = Conversation.objects.create(team=team, recorded=True, **fields)
        for position, payload in enumerate(messages):
            Message.objects.create(
                conversation=conversation, position=position, role=payload["role"], payload=payload
            )
        return conversation.pk

    loop = MESSAGE_LISTS[2]
    root = recording.join_root(loop[:3], recording.message_chain(loop[:3]))
    assert root == recording.join_root(loop, recording.message_chain(loop))  # one loop, one root
    wanted = {
        recorded(loop[:3]): root,
        recorded(loop): root,
        recorded(MESSAGE_LISTS[1]): recording.message_chain(MESSAGE_LISTS[1])[0],
        recorded(MESSAGE_LISTS[3]): recording.message_chain(MESSAGE_LISTS[3])[0],
        recorded([]): "",  # its first exchange failed: nothing to continue
        recorded(loop, api_token_id=None): "",  # imported: never joined to
        recorded(loop, recording_root="kept"): "kept",
        recorded(MESSAGE_LISTS[1]): recording.message_chain(MESSAGE_LISTS[1])[0],
    }
    run = Conversation.objects.create(team=team, recorded=False, title="A run")

    new = migrate(executor, AFTER)

    after = new.get_model("conversations", "Conversation").objects
    assert dict(after.filter(pk__in=wanted).values_list("pk", "recording_root")) == wanted
    assert after.get(pk=run.pk).recording_root == ""


def test_on_an_empty_database_it_reads_once_and_writes_nothing(executor):
    migrate(executor, BEFORE)
    old = executor.loader.project_state(AFTER).apps

    with CaptureQueriesContext(connection) as queries:
        backfill.backfill_recording_roots(old, None)

    assert len(queries) == 1 and queries[0]["sql"].startswith("SELECT")
    migrate(executor, AFTER)  # and the migration itself runs
    assert Conversation.objects.count() == 0
