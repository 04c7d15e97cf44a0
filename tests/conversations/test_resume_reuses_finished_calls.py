"""A run cut short mid-batch (a dead worker, a stop) resumes by running only the calls that
never finished; those that did answer with their recorded result, in the calls' order."""

from __future__ import annotations

import json

from asgiref.sync import async_to_sync

from conversations import compose, recording
from conversations.leases import mark_interrupted
from conversations.models import Batch, BatchSource, RunStatus
from conversations.runner import run_conversation
from tests.support.openai_server import Reply
from tools_app.engine import ToolCall

EARLIER = json.dumps({"success": True, "result": {"city": "Oslo", "note": "from the first run"}})


def tool_call(call_id: str, city: str) -> dict:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": "get_weather", "arguments": json.dumps({"city": city})},
    }


def cut_short_round(team, people, provider, tool):
    """Round 0 asked for Oslo and Rome; Oslo finished, then its worker died mid-Rome."""
    conversation = compose.create_conversation(
        team,
        people.editor,
        {"provider": provider, "user": "Weather in Oslo and Rome?", "tools": [tool]},
    )
    calls = [tool_call("call_oslo", "Oslo"), tool_call("call_rome", "Rome")]
    recording.append_message(
        conversation.pk, {"role": "assistant", "content": None, "tool_calls": calls}
    )
    batch, _ = recording.open_batch(
        team=team,
        versions=list(conversation.tool_versions.all()),
        calls=compose_calls(calls),
        strategy="asyncio",
        source=BatchSource.CONVERSATION,
        conversation=conversation,
        round_number=0,
    )
    batch.executions.filter(position=0).update(
        status="ok", content=EARLIER, started_ms=1.0, finished_ms=12.0, attempts=1
    )
    batch.executions.filter(position=1).update(status="running", started_ms=1.0, attempts=1)
    mark_interrupted(conversation.pk, "The worker w1 stopped responding; w2 resumed the run.")
    return conversation, batch


def compose_calls(calls):
    return [ToolCall(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in calls]


def test_only_the_unfinished_call_runs_again_and_the_finished_result_is_reused(
    team, people, provider, tool, model_server
):
    conversation, first = cut_short_round(team, people, provider, tool)
    model_server.script(Reply(content="Oslo is cold, Rome is warm."))

    assert async_to_sync(run_conversation)(conversation.pk) == RunStatus.FINISHED

    tools = [m.payload for m in conversation.messages.filter(role="tool")]
    assert [m["tool_call_id"] for m in tools] == ["call_oslo", "call_rome"]
    assert tools[0]["content"] == EARLIER
    assert json.loads(tools[1]["content"])["success"] is True
    sent = [m for m in model_server.requests[0]["body"]["messages"] if m["role"] == "tool"]
    assert [(m["tool_call_id"], m["content"]) for m in sent] == [
        ("call_oslo", EARLIER),
        ("call_rome", tools[1]["content"]),
    ]

    first.refresh_from_db()
    assert [(e.tool_call_id, e.status, e.error_code) for e in first.executions.all()] == [
        ("call_oslo", "ok", ""),
        ("call_rome", "error", "CANCELLED"),
    ]
    rerun = Batch.objects.exclude(pk=first.pk).get(conversation=conversation)
    assert (rerun.round, rerun.status) == (0, "finished")
    assert [(e.tool_call_id, e.status) for e in rerun.executions.all()] == [("call_rome", "ok")]


def test_a_round_whose_calls_all_finished_runs_no_batch_again(
    team, people, provider, tool, model_server
):
    conversation, first = cut_short_round(team, people, provider, tool)
    first.executions.filter(position=1).update(
        status="error",
        error_code="TIMEOUT",
        content='{"success": false}',
        finished_ms=30.0,
    )
    model_server.script(Reply(content="Oslo is cold; Rome did not answer."))

    assert async_to_sync(run_conversation)(conversation.pk) == RunStatus.FINISHED

    tools = [m.payload["content"] for m in conversation.messages.filter(role="tool")]
    assert tools == [EARLIER, '{"success": false}']
    assert Batch.objects.filter(conversation=conversation).count() == 1
