"""A recorded agent loop of two exchanges (a tool call asked for, then the answer), and what
recording it must leave: one conversation (tests of the recording join)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections

from conversations.models import BatchSource, Conversation, Provider
from conversations.provider import AssistantTurn, ToolCallDraft
from conversations.providers import set_api_key
from conversations.recording import RecordedExchange, record_exchange
from conversations.tokens import create_token
from fcstudio.models import Team

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
QUESTION = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Weather in Oslo?"},
]
CALL = {
    "id": "call_a",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
}
FIRST_ANSWER = {"role": "assistant", "content": None, "tool_calls": [CALL]}
RESULT = {"role": "tool", "tool_call_id": "call_a", "content": '{"temp_c": 3}'}


def make_token():
    team = Team.objects.create(name="Acme", slug="acme")
    provider = Provider(team=team, name="Upstream", base_url="http://127.0.0.1:9/v1")
    set_api_key(provider, "sk-test-key-123456")
    provider.save()
    record, _ = create_token(team, provider, name="agent")
    return record


def recorded_exchange(token, messages, *, started_at, duration_ms, **outcome) -> RecordedExchange:
    """An exchange made with `token`: the app's messages, and its `turn` or `error`."""
    return RecordedExchange(
        team_id=token.team_id,
        token_id=token.pk,
        provider_id=token.provider_id,
        request={"model": "m", "messages": messages},
        started_at=started_at,
        duration_ms=duration_ms,
        **outcome,
    )


def refused_exchange(token, messages, error: tuple[str, str]) -> RecordedExchange:
    """An exchange the upstream refused: the app's messages, the proxy's (kind, text)."""
    return recorded_exchange(token, messages, started_at=T0, duration_ms=40.0, error=error)


def exchanges(token):
    """The loop's two exchanges: a tool call asked for, then the final answer."""

    def exchange(messages, turn, started_at):
        return recorded_exchange(
            token, messages, started_at=started_at, duration_ms=100.0, turn=turn
        )

    asks = AssistantTurn(
        content=None,
        tool_calls=[ToolCallDraft(0, "call_a", "get_weather", '{"city": "Oslo"}')],
        finish_reason="tool_calls",
    )
    answers = AssistantTurn(content="3°C in Oslo.", finish_reason="stop")
    return (
        exchange(QUESTION, asks, T0),
        exchange([*QUESTION, FIRST_ANSWER, RESULT], answers, T0 + timedelta(seconds=1)),
    )


def assert_one_loop():
    conversation = Conversation.objects.get()
    calls = list(conversation.model_calls.order_by("round"))
    assert [(c.round, c.finish_reason) for c in calls] == [(0, "tool_calls"), (1, "stop")]
    assert [m.role for m in conversation.messages.order_by("position")] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
    batch = conversation.batches.get()
    assert (batch.round, batch.source) == (0, BatchSource.RECORDED)
    execution = batch.executions.get()
    assert (execution.tool_call_id, execution.result) == ("call_a", {"temp_c": 3})
    # What the recording proves of the app's tool call: the gap between the two requests.
    assert batch.wall_ms == pytest.approx(900.0)


def record_at_once(token) -> None:
    """Both exchanges recorded at the same time, each in its own thread and connection."""

    def record(exchange):
        try:
            return record_exchange(exchange)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(record, exchanges(token)))
