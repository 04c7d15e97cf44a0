"""A run's database work stays small: a few hundred runs at once share one database and, per
process, a few threads (conversations/run_database.py), so every query of a run counts."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations import compose
from conversations.models import Message, RunStatus, ToolExecution
from conversations.runner import run_conversation
from fcstudio.models import AuditEvent
from tests.support.openai_server import Reply

THREE_CITIES = [
    {"id": "call_a", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
    {"id": "call_b", "name": "get_weather", "arguments": '{"city": "Rome"}'},
    {"id": "call_c", "name": "get_weather", "arguments": '{"city": "Lima"}'},
]
# 2 model calls and 3 tool calls took 70 statements (savepoints included) before the runner's
# trips were merged, the tool messages inserted together, the executions' states written one
# UPDATE per write and the heartbeat folded into the stop check; 52 after.
QUERY_BUDGET = 55


def test_a_run_of_two_model_calls_and_three_tool_calls_stays_within_its_query_budget(
    team, people, provider, tool, model_server
):
    model_server.script(Reply(tool_calls=THREE_CITIES), Reply(content="Sunny everywhere."))
    data = {
        "provider": provider,
        "model": "",
        "user": "Weather in Oslo, Rome and Lima?",
        "tools": [tool],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "strategy": "asyncio",
        "max_rounds": 4,
    }
    conversation = compose.create_conversation(team, people.editor, data)

    with CaptureQueriesContext(connection) as queries:
        assert async_to_sync(run_conversation)(conversation.pk) == RunStatus.FINISHED

    assert len(queries.captured_queries) <= QUERY_BUDGET, "\n".join(
        query["sql"][:120] for query in queries.captured_queries
    )
    # Fewer writes, the same record: every message in order, every call's result and audit.
    messages = list(Message.objects.filter(conversation=conversation))
    assert [(m.position, m.round, m.role) for m in messages] == [
        (0, 0, "user"),
        (1, 0, "assistant"),
        (2, 0, "tool"),
        (3, 0, "tool"),
        (4, 0, "tool"),
        (5, 1, "assistant"),
    ]
    assert [m.payload["tool_call_id"] for m in messages[2:5]] == ["call_a", "call_b", "call_c"]
    executions = ToolExecution.objects.filter(batch__conversation=conversation)
    assert [(e.tool_call_id, e.status, e.parsed_arguments) for e in executions] == [
        ("call_a", "ok", {"city": "Oslo"}),
        ("call_b", "ok", {"city": "Rome"}),
        ("call_c", "ok", {"city": "Lima"}),
    ]
    assert all(e.started_ms is not None and e.finished_ms >= e.started_ms for e in executions)
    assert AuditEvent.objects.filter(kind="tool.execute").count() == 3
