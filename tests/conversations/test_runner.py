"""The model loop against a real OpenAI-compatible server: rounds, parallel calls, records."""

from __future__ import annotations

import json

from asgiref.sync import async_to_sync

from conversations import compose
from conversations.leases import reap_stale_runs
from conversations.models import Batch, ModelCall, RunStatus
from conversations.runner import run_conversation
from tests.support.openai_server import Reply


def start(team, people, provider, tools, **options):
    data = {
        "provider": provider,
        "model": "",
        "system": "You are a travel assistant.",
        "user": "Weather in Oslo, Rome and Lima?",
        "tools": tools,
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "strategy": "asyncio",
        "max_rounds": 4,
        **options,
    }
    return compose.create_conversation(team, people.editor, data)


def run(conversation) -> str:
    status = async_to_sync(run_conversation)(conversation.pk)
    conversation.refresh_from_db()
    return status


THREE_CITIES = [
    {"id": "call_a", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
    {"id": "call_b", "name": "get_weather", "arguments": '{"city": "Rome"}'},
    {"id": "call_c", "name": "get_weather", "arguments": '{"city": "Lima"}'},
]


def test_parallel_calls_run_in_one_batch_and_all_results_go_back_together(
    team, people, provider, tool, model_server
):
    model_server.script(Reply(tool_calls=THREE_CITIES), Reply(content="Sunny everywhere."))
    conversation = start(team, people, provider, [tool])
    assert run(conversation) == RunStatus.FINISHED

    roles = [m.role for m in conversation.messages.all()]
    assert roles == ["system", "user", "assistant", "tool", "tool", "tool", "assistant"]
    second_request = model_server.requests[1]["body"]
    tool_messages = [m for m in second_request["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_messages] == ["call_a", "call_b", "call_c"]
    assert all(json.loads(m["content"])["success"] for m in tool_messages)
    assert second_request["messages"][2]["tool_calls"][0]["function"]["name"] == "get_weather"

    batch = Batch.objects.get(conversation=conversation)
    assert (batch.round, batch.source, batch.executions.count()) == (0, "conversation", 3)
    assert conversation.messages.last().payload == {
        "role": "assistant",
        "content": "Sunny everywhere.",
    }


def test_every_request_carries_tools_tool_choice_and_parallel_flag(
    team, people, provider, tool, model_server
):
    model_server.script(Reply(content="Hello."))
    conversation = start(
        team,
        people,
        provider,
        [tool],
        tool_choice="function:get_weather",
        parallel_tool_calls=False,
        temperature=0.2,
    )
    run(conversation)
    body = model_server.requests[0]["body"]
    assert body["model"] == "test-model"
    assert body["stream"] is True
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert body["parallel_tool_calls"] is False
    assert body["temperature"] == 0.2
    assert [t["function"]["name"] for t in body["tools"]] == ["get_weather"]
    assert model_server.requests[0]["headers"]["authorization"] == "Bearer sk-test-key-123456"


def test_a_conversation_without_tools_sends_no_tool_fields(team, people, provider, model_server):
    model_server.script(Reply(content="Hi."))
    run(start(team, people, provider, []))
    body = model_server.requests[0]["body"]
    assert "tools" not in body and "tool_choice" not in body and "parallel_tool_calls" not in body


def test_model_calls_are_recorded_with_usage_and_finish_reason(
    team, people, provider, tool, model_server
):
    model_server.script(Reply(tool_calls=THREE_CITIES[:1]), Reply(content="Done."))
    conversation = start(team, people, provider, [tool])
    run(conversation)
    first, second = ModelCall.objects.filter(conversation=conversation)
    assert (first.round, first.ok, first.finish_reason) == (0, True, "tool_calls")
    assert (second.round, second.finish_reason, second.total_tokens) == (1, "stop", 18)
    assert first.request["messages"][1] == {
        "role": "user",
        "content": "Weather in Oslo, Rome and Lima?",
    }
    assert first.duration_ms > 0


def test_malformed_arguments_become_an_error_result_the_model_reads(
    team, people, provider, tool, model_server
):
    broken = [{"id": "call_x", "name": "get_weather", "arguments": '{"city": "Os'}]
    model_server.script(Reply(tool_calls=broken), Reply(content="Sorry."))
    conversation = start(team, people, provider, [tool])
    assert run(conversation) == RunStatus.FINISHED
    tool_message = conversation.messages.get(role="tool").payload
    assert json.loads(tool_message["content"])["error"]["code"] == "INVALID_JSON"


def test_a_provider_failure_is_recorded_and_keeps_the_conversation(
    team, people, provider, tool, model_server
):
    model_server.script(
        Reply(tool_calls=THREE_CITIES[:1]),
        Reply(status=429, headers={"retry-after": "3"}),
    )
    conversation = start(team, people, provider, [tool])
    assert run(conversation) == RunStatus.FAILED
    assert conversation.failure.startswith("Provider error (rate_limited)")
    assert "retry after 3 s" in conversation.failure
    assert conversation.messages.count() == 4
    failed = ModelCall.objects.filter(conversation=conversation).last()
    assert (failed.ok, failed.error_kind) == (False, "rate_limited")


def test_a_dead_provider_fails_clearly(team, people, provider, tool, model_server):
    model_server.stop()
    conversation = start(team, people, provider, [tool])
    assert run(conversation) == RunStatus.FAILED
    assert "Provider error (connection)" in conversation.failure
    assert conversation.messages.count() == 2


def test_finish_reason_length_is_a_failure_with_the_reason(team, people, provider, model_server):
    model_server.script(Reply(content="Truncat", finish_reason="length"))
    conversation = start(team, people, provider, [])
    assert run(conversation) == RunStatus.FAILED
    assert "finish_reason: length" in conversation.failure


def test_the_round_limit_stops_the_loop(team, people, provider, tool, model_server):
    model_server.script(*[Reply(tool_calls=[dict(THREE_CITIES[0], id=f"c{i}")]) for i in range(2)])
    conversation = start(team, people, provider, [tool], max_rounds=2)
    assert run(conversation) == RunStatus.STOPPED
    assert conversation.failure == "Reached the limit of 2 rounds."
    assert len(model_server.requests) == 2


def test_the_pinned_tool_version_is_what_the_model_sees(team, people, provider, tool, model_server):
    from tools_app import catalog as catalog_ops

    conversation = start(team, people, provider, [tool])
    tool.description = "Changed after the conversation was created."
    catalog_ops.save_tool(tool)
    model_server.script(Reply(content="ok"))
    run(conversation)
    sent = model_server.requests[0]["body"]["tools"][0]["function"]["description"]
    assert sent == "Current weather for a city."


def test_a_stop_request_ends_the_run_between_rounds(team, people, provider, tool, model_server):
    conversation = start(team, people, provider, [tool])
    conversation.stop_requested = True
    conversation.save()
    assert run(conversation) == RunStatus.STOPPED
    assert conversation.failure == "Stopped by a person."
    assert model_server.requests == []
    assert conversation.stop_requested is False


def test_tool_calls_written_by_hand_run_before_the_model_is_asked(
    team, people, provider, tool, model_server
):
    conversation = start(team, people, provider, [tool])
    from conversations.runner import _append

    _append(
        conversation.pk,
        0,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "hand_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Bern"}'},
                }
            ],
        },
    )
    model_server.script(Reply(content="Bern is mild."))
    assert run(conversation) == RunStatus.FINISHED
    sent = model_server.requests[0]["body"]["messages"]
    assert sent[-1]["role"] == "tool" and sent[-1]["tool_call_id"] == "hand_1"


def test_a_run_whose_worker_died_is_marked_with_a_reason(team, people, provider, tool):
    from datetime import timedelta

    from django.utils import timezone

    conversation = start(team, people, provider, [tool])
    conversation.status = RunStatus.RUNNING
    conversation.worker = "host:123"
    conversation.heartbeat_at = timezone.now() - timedelta(minutes=10)
    conversation.save()
    assert reap_stale_runs() == 1
    conversation.refresh_from_db()
    assert conversation.status == RunStatus.FAILED
    assert "host:123 stopped responding" in conversation.failure
    assert reap_stale_runs() == 0
