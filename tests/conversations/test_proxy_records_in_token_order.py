"""A batch of proxied exchanges is recorded token by token (each token's exchanges in the order
they came): every recorder locks tokens' rows in the same order, so two proxy processes never
wait on each other's locks in a cycle (a deadlock that would drop an exchange)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from conversations.models import Conversation, Provider
from conversations.providers import set_api_key
from conversations.proxy import Exchange, _grant_for, record_all
from conversations.tokens import create_token

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def answer(text: str) -> bytes:
    message = {"role": "assistant", "content": text}
    choice = {"index": 0, "message": message, "finish_reason": "stop"}
    return json.dumps({"id": "x", "object": "chat.completion", "choices": [choice]}).encode()


def test_exchanges_are_recorded_token_by_token_each_in_its_order(team):
    provider = Provider(team=team, name="Upstream", base_url="http://127.0.0.1:9/v1")
    set_api_key(provider, "sk-test-key-123456")
    provider.save()
    grants = {}
    for name in ("first", "second"):
        _, plain = create_token(team, provider, name=name)
        grants[name] = _grant_for(plain)
    assert grants["first"].token_id < grants["second"].token_id

    def exchange(name: str, question: str) -> Exchange:
        messages = [{"role": "user", "content": question}]
        return Exchange(
            grant=grants[name],
            request={"model": "m", "messages": messages},
            stream=False,
            status=200,
            started_at=T0,
            duration_ms=10.0,
            first_chunk_ms=None,
            body=answer(f"Answer to {question}"),
            conversation_key="",
        )

    record_all(
        [
            exchange("second", "B1?"),
            exchange("first", "A1?"),
            exchange("second", "B2?"),
            exchange("first", "A2?"),
        ]
    )
    recorded = [
        (c.api_token.name, c.messages.get(position=0).payload["content"])
        for c in Conversation.objects.order_by("pk")
    ]
    assert recorded == [("first", "A1?"), ("first", "A2?"), ("second", "B1?"), ("second", "B2?")]
