"""Transcripts in and out: an import becomes recorded conversations; any conversation leaves as
JSON Lines of its requests and responses.

The parsing and the judging live in `transcripts` (Django-free); this module writes what it
found through `recording`, the one write path for recorded traffic, all in one transaction, and
creates the tools a person picks through `tools_app.catalog.save_tool`.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tools_app import catalog as catalog_ops
from tools_app.catalog import DEFAULT_MOCK_CONFIG
from tools_app.models import Catalog, ImplementationKind, Tool
from tools_app.schema import legal_name
from tools_app.wire import wire_tools

from . import compose, recording, transcripts
from .models import Conversation, ModelCall

IMPORT_SOURCE = "transcript"


def import_transcript(team: Any, text: str, *, user: Any = None) -> list[Conversation]:
    """Every conversation of `text`, recorded; raises TranscriptError and writes nothing when
    the input is unusable."""
    parsed = transcripts.parse_transcript(text, max_bytes=settings.FCSTUDIO_MAX_IMPORT_BYTES)
    with transaction.atomic():
        return [_record(team, conversation, user) for conversation in parsed.conversations]


def _record(team: Any, parsed: transcripts.ParsedConversation, user: Any) -> Conversation:
    conversation = recording.open_recorded_conversation(
        team, title=parsed.title, model=parsed.model
    )
    Conversation.objects.filter(pk=conversation.pk).update(
        recording_key=IMPORT_SOURCE,
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    results = {
        m.get("tool_call_id"): m.get("content") for m in parsed.messages if m.get("role") == "tool"
    }
    exchanges = {e.position: e for e in parsed.exchanges if e.answer is not None}
    failed = [e for e in parsed.exchanges if e.answer is None]
    now = timezone.now()
    round_number = 0
    for position, message in enumerate(parsed.messages):
        for exchange in [e for e in failed if e.position == position]:
            _record_unanswered(conversation, round_number, exchange, now)
        if message.get("role") == "assistant":
            round_number = _record_turn(conversation, exchanges[position], results, now)
        recording.append_message(conversation.pk, message)
    for exchange in [e for e in failed if e.position >= len(parsed.messages)]:
        _record_unanswered(conversation, round_number, exchange, now)
    conversation.refresh_from_db()
    return conversation


def _record_turn(
    conversation: Conversation,
    exchange: transcripts.Exchange,
    results: dict[Any, Any],
    now: Any,
) -> int:
    round_number = conversation.messages.filter(role="assistant").count()
    timing = exchange.timing
    started_at = timing.started_at if timing is not None and timing.started_at else now
    call = recording.start_model_call(conversation.pk, round_number, exchange.request, started_at)
    usage = exchange.usage
    duration = timing.duration_ms if timing is not None else None
    ModelCall.objects.filter(pk=call.pk).update(
        ok=True,
        response=exchange.answer,
        finish_reason=exchange.finish_reason,
        problems=["request inferred from the messages"] if exchange.inferred else [],
        prompt_tokens=_count(usage.get("prompt_tokens")),
        completion_tokens=_count(usage.get("completion_tokens")),
        total_tokens=_count(usage.get("total_tokens")),
        duration_ms=duration,
        first_token_ms=timing.first_token_ms if timing is not None else None,
        timed=duration is not None,  # untimed: shown as unknown, off the time axis
    )
    answer = exchange.answer or {}
    calls = [c for c in answer.get("tool_calls") or [] if isinstance(c, dict)]
    if calls:
        recording.record_transcript_calls(conversation, round_number, calls, results)
    return round_number


def _record_unanswered(
    conversation: Conversation, round_number: int, exchange: transcripts.Exchange, now: Any
) -> None:
    timing = exchange.timing
    started_at = timing.started_at if timing is not None and timing.started_at else now
    call = recording.start_model_call(conversation.pk, round_number, exchange.request, started_at)
    duration = timing.duration_ms if timing is not None else None
    recording.record_model_error(call.pk, "none", "The transcript holds no answer.", duration)
    ModelCall.objects.filter(pk=call.pk).update(timed=duration is not None)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


# -- reading a conversation back -----------------------------------------------------------------


def conversation_tools(conversation: Conversation) -> list[dict[str, Any]]:
    """The tools the conversation offers: its picked tools, or a recorded one's latest."""
    versions = list(conversation.tool_versions.all())
    if versions:
        return wire_tools(compose.tools_for(versions))
    return compose.recorded_tools(conversation)


def _payloads(conversation: Conversation) -> list[dict[str, Any]]:
    return list(conversation.messages.values_list("payload", flat=True))


def problems_for(conversation: Conversation) -> list[transcripts.Problem]:
    return transcripts.find_problems(_payloads(conversation), conversation_tools(conversation))


def unknown_tools(conversation: Conversation) -> list[transcripts.ToolCandidate]:
    """The conversation's tools that no catalog of its team has (by name)."""
    candidates = transcripts.tool_candidates(
        _payloads(conversation), conversation_tools(conversation)
    )
    known = set(
        Tool.objects.filter(
            catalog__team_id=conversation.team_id, name__in=[c.name for c in candidates]
        ).values_list("name", flat=True)
    )
    return [c for c in candidates if c.name not in known]


def create_tools(
    conversation: Conversation, catalog: Catalog, names: Collection[str], *, user: Any = None
) -> list[Tool]:
    """The picked unknown tools, created as mock tools in `catalog` with their schemas."""
    picked = [c for c in unknown_tools(conversation) if c.name in names]
    taken = set(catalog.tools.values_list("name", flat=True))
    next_suffix: dict[str, int] = {}
    created = []
    with transaction.atomic():
        for candidate in picked:
            name = legal_name(candidate.name, taken, next_suffix)
            taken.add(name)
            tool = Tool(
                catalog=catalog,
                name=name,
                original_name=candidate.name[:255] if name != candidate.name else "",
                description=candidate.description,
                parameters=candidate.parameters,
                implementation_kind=ImplementationKind.MOCK,
                implementation_config=dict(DEFAULT_MOCK_CONFIG),
            )
            catalog_ops.save_tool(
                tool, author=user, message=f"Created from conversation {conversation.pk}"
            )
            created.append(tool)
    return created


def export_jsonl(conversation: Conversation) -> str:
    """One line per model call: {"request": …, "response": …}, as `import_transcript` reads."""
    lines = []
    for call in conversation.model_calls.order_by("round", "pk"):
        record: dict[str, Any] = {"request": call.request}
        if call.timed and call.duration_ms is not None:
            record["started_at"] = call.started_at.isoformat()
            record["duration_ms"] = call.duration_ms
        if call.ok and isinstance(call.response, dict):
            usage = {
                key: value
                for key, value in (
                    ("prompt_tokens", call.prompt_tokens),
                    ("completion_tokens", call.completion_tokens),
                    ("total_tokens", call.total_tokens),
                )
                if value is not None
            }
            choice = {"index": 0, "message": call.response, "finish_reason": call.finish_reason}
            record["response"] = {"choices": [choice], **({"usage": usage} if usage else {})}
        lines.append(json.dumps(record, ensure_ascii=False))
    return "".join(line + "\n" for line in lines)
