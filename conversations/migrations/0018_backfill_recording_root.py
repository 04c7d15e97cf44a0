"""Recorded conversations from before 0016 get the `recording_root` the proxy joins by.

Without it, an agent loop recorded across the deploy that added the column splits in two: its
next exchange looks for a conversation with its root, finds none, and opens another.

The root is computed as `recording.join_root` computes it, from the conversation's stored
messages (those of the request that opened it, then its answer): the functions below are a
copy of `recording.message_chain` and `recording.join_root` as they were when this migration
was written, since app code may change later and a migration must not. A test checks that
they still agree. Only the proxy's conversations are backfilled (those of an API token): an
imported one is never joined to. One with no message (its first exchange failed) holds nothing
a later exchange could continue, and is left as it is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from django.db import migrations
from django.db.models import F, OuterRef, Q, Subquery

BATCH = 500


def message_chain(messages: Sequence[Any], previous: str = "") -> list[str]:
    chain = []
    for message in messages:
        previous = hashlib.sha256((previous + _message_key(message)).encode()).hexdigest()
        chain.append(previous)
    return chain


def _message_key(message: Any) -> str:
    if not isinstance(message, dict):
        return json.dumps(message, sort_keys=True, default=str)
    calls = message.get("tool_calls")
    shape = [
        message.get("role"),
        message.get("content") or "",
        [_call_key(call) for call in calls] if isinstance(calls, list) else [],
        message.get("tool_call_id") or "",
    ]
    return json.dumps(shape, sort_keys=True, default=str)


def _call_key(call: Any) -> Any:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict):
        return call
    return [call.get("id"), function.get("name"), function.get("arguments")]


def join_root(messages: Sequence[Any], chain: Sequence[str]) -> str:
    first_answer = next(
        (i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "assistant"),
        len(messages),
    )
    if not chain:
        return ""
    return chain[max(first_answer, 1) - 1]


def backfill_recording_roots(apps: Any, schema_editor: Any) -> None:
    Conversation = apps.get_model("conversations", "Conversation")
    Message = apps.get_model("conversations", "Message")
    lacking = Conversation.objects.filter(
        recorded=True, recording_root="", api_token__isnull=False
    ).order_by("pk")
    # Of each conversation, only its messages up to its first answer: all the root covers.
    first_answer = (
        Message.objects.filter(conversation_id=OuterRef("conversation_id"), role="assistant")
        .order_by("position")
        .values("position")[:1]
    )
    last = 0
    while True:
        pks = list(lacking.filter(pk__gt=last).values_list("pk", flat=True)[:BATCH])
        if not pks:
            return
        last = pks[-1]
        leading: dict[int, list[Any]] = {}
        rows = (
            Message.objects.filter(conversation_id__in=pks)
            .alias(first_answer=Subquery(first_answer))
            .filter(Q(first_answer__isnull=True) | Q(position__lte=F("first_answer")))
            .order_by("conversation_id", "position")
            .values_list("conversation_id", "payload")
        )
        for conversation_id, payload in rows:
            leading.setdefault(conversation_id, []).append(payload)
        found = [
            Conversation(pk=pk, recording_root=join_root(messages, message_chain(messages)))
            for pk, messages in leading.items()
        ]
        Conversation.objects.bulk_update(found, ["recording_root"], batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0017_model_call_timed"),
    ]

    operations = [
        # Backwards, the roots stay: they are what the proxy would have written.
        migrations.RunPython(backfill_recording_roots, migrations.RunPython.noop, elidable=True),
    ]
