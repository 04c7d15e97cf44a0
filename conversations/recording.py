"""The one write path for what runs leave behind: messages, model calls, batches and each tool
call's execution.

The model loop, the Batch lab, Try it and the recording proxy all write through here, so a
record looks the same whoever made it. Each call's state is written as it happens, from the
engine's events (`ExecutionRecorder`): a worker killed mid-batch leaves every finished call
recorded, and a resumed run reuses those results (`finished_results`) instead of calling the
tool again. Nothing here runs tools, calls providers or talks to pages.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.db import connection, transaction
from django.db.models import Case, Field, QuerySet, Value, When
from django.db.models.functions import Cast
from django.utils import timezone

from fcstudio import audit
from tools_app.engine import BatchResult, CallResult, Event, EventKind, ToolCall, ToolSpec
from tools_app.engine.untrusted import clean_text
from tools_app.models import ToolVersion
from tools_app.runtime import spec_for

from .models import (
    ApiToken,
    Batch,
    BatchSource,
    BatchStatus,
    Conversation,
    ExecutionStatus,
    Message,
    ModelCall,
    RunStatus,
    ToolExecution,
)
from .timeline import waiting_only_ms

if TYPE_CHECKING:
    from .provider import AssistantTurn

MAX_RESULT_CHARS = 64 * 1024
OPEN_CALL_STATUSES = (ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)


# -- conversations recorded elsewhere ------------------------------------------------------


def _stored(value: object, limit: int | None = None) -> str:
    """Text another app sent, as a text column can hold it on every database: lone surrogates
    and NUL escaped (`tools_app.engine.untrusted`), then cut to the column's length."""
    text = clean_text(str(value))
    return text if limit is None else text[:limit]


def open_recorded_conversation(
    team: Any,
    *,
    title: str,
    model: str,
    provider: Any = None,
    api_token_id: int | None = None,
    recording_key: str = "",
    recording_root: str = "",
    failure: str = "",
) -> Conversation:
    """A conversation another app had (seen through the recording proxy, or imported): its
    messages and model calls are written here like a run's, but no worker ever drives it.
    `team` and `provider` may be given as ids (the proxy's recorder knows only those).
    `failure`: why its latest request failed (then it is failed, else finished)."""
    owner = {"team_id": team} if isinstance(team, int) else {"team": team}
    upstream = {"provider_id": provider} if isinstance(provider, int) else {"provider": provider}
    return Conversation.objects.create(
        **owner,
        **upstream,
        title=_stored(title, 200),
        model=_stored(model, 200),
        recorded=True,
        status=RunStatus.FAILED if failure else RunStatus.FINISHED,
        failure=failure,
        api_token_id=api_token_id,
        recording_key=recording_key[:200],
        recording_root=recording_root,
    )


# -- exchanges seen through the recording proxy -------------------------------------------------


@dataclass(frozen=True)
class RecordedExchange:
    """One request an app made through the proxy, and how it ended: `turn` when the upstream
    answered, else `error` as (kind, message)."""

    team_id: int
    token_id: int
    provider_id: int
    request: dict[str, Any]
    started_at: datetime
    duration_ms: float
    first_token_ms: float | None = None
    turn: AssistantTurn | None = None
    error: tuple[str, str] | None = None
    conversation_key: str = ""


def message_chain(messages: Sequence[Any], previous: str = "") -> list[str]:
    """Hashes of every prefix of `messages` (the i-th covers messages[: i + 1]), continuing
    the chain whose last hash is `previous` when one is given.

    Each message counts by what the model reads of it: role, text, tool calls and the call it
    answers. SDKs echo an assistant message back with extra null fields (refusal, audio), and
    those must not break the chain."""
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
    """What every request of one agent loop begins with: the hash of its messages before the
    first assistant message (all of them when there is none yet). Recorded conversations are
    found by it, whichever of the loop's exchanges was recorded first."""
    first_answer = next(
        (i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "assistant"),
        len(messages),
    )
    if not chain:
        return ""
    return chain[max(first_answer, 1) - 1]


@dataclass(frozen=True)
class _Place:
    """Where an exchange goes (`_placed`)."""

    conversation_id: int | None = None  # None: a new conversation
    continues: ModelCall | None = None  # the call whose answer its request continues
    known: int = 0  # how many of its request's messages the conversation holds
    held_at: int | None = None  # its answer's position, when the conversation holds it already


def record_exchange(exchange: RecordedExchange) -> ModelCall:
    """Write one proxied exchange as a model call of the conversation it belongs to.

    A request whose messages begin with exactly a recorded conversation's messages (its last
    answer included) continues that conversation, so an agent loop is one conversation; its tool
    messages answer the earlier answer's tool calls, recorded as a batch timed by the gap between
    the two requests. An exchange whose request and answer a conversation already holds (its
    successor was recorded first: another proxy process, or a queue that lagged) takes its place
    in it, at its round, unless a call with that answer is recorded there already (then the app
    asked the same again, and that is a new conversation). `conversation_key` (the app's
    X-FCStudio-Conversation) names the conversation instead. An exchange that failed keeps its
    request and error; it adds no message to a conversation it continues (the app's retry must
    still continue it), but one that opens a conversation stores the messages the app sent, so
    the conversation shows what was refused rather than nothing.

    The join is decided in the database, not in a process's memory: all of it runs in one
    transaction that first locks the token's row (serialising the token's recordings across
    processes on PostgreSQL; SQLite serialises writers anyway), so two exchanges of one loop
    recorded at once never open two conversations, and an exchange is recorded whole or not at
    all. Inside a caller's transaction it takes no savepoint of its own: a failure undoes the
    caller's (the proxy's recorder gives each exchange a savepoint).

    It is on the way of every proxied request, so it costs a few queries whatever the
    conversation holds: rows are written in bulk, each once with its final values, and nothing
    is read back (the call returned is the one written, not reloaded)."""
    raw_messages = exchange.request.get("messages")
    messages = [m for m in raw_messages if _storable(m)] if isinstance(raw_messages, list) else []
    chain = message_chain(messages)
    answer = exchange.turn.to_message() if exchange.turn is not None else None
    whole = message_chain([answer], chain[-1] if chain else "")[0] if answer is not None else ""
    with transaction.atomic(savepoint=False):
        if connection.features.has_select_for_update:
            list(ApiToken.objects.select_for_update().filter(pk=exchange.token_id).values("pk"))
        place = _placed(exchange, messages, chain, whole)
        if place.conversation_id is not None and place.held_at is not None:
            return _record_late(exchange, place.conversation_id, place.held_at)
        opens = place.conversation_id is None
        new = messages[place.known :] if exchange.turn is not None or opens else []
        if place.conversation_id is None:
            conversation_id = _open_for(exchange, messages, join_root(messages, chain)).pk
            roles: list[str] = []
        else:
            conversation_id = place.conversation_id
            # The conversation's messages are locked while positions are chosen (as
            # `append_message` does): a person may be adding one by hand.
            roles = list(
                Message.objects.select_for_update()
                .filter(conversation_id=conversation_id)
                .values_list("role", flat=True)
            )
        if place.continues is not None and exchange.turn is not None:
            _record_app_tool_calls(
                conversation_id, exchange.team_id, place.continues, new, exchange.started_at
            )
        rows = _message_rows(conversation_id, roles, new)
        round_number = sum(
            1 for role in [*roles, *(row.role for row in rows)] if role == "assistant"
        )
        call = _write_call(exchange, conversation_id, round_number, whole)
        if answer is not None:
            rows += _message_rows(conversation_id, [*roles, *(row.role for row in rows)], [answer])
        Message.objects.bulk_create(rows)
        if place.conversation_id is not None:
            failure = exchange_failure(exchange)
            Conversation.objects.filter(pk=conversation_id).update(
                updated_at=timezone.now(),
                status=RunStatus.FAILED if failure else RunStatus.FINISHED,
                failure=failure,
            )
    return call


def exchange_failure(exchange: RecordedExchange) -> str:
    """What the conversation says when this, its latest exchange, failed; "" when answered."""
    if exchange.turn is not None:
        return ""
    kind = (exchange.error or ("server", ""))[0]
    return f"The latest request failed (provider {kind[:20]})."


def _message_rows(
    conversation_id: int, roles: Sequence[str], payloads: Sequence[dict[str, Any]]
) -> list[Message]:
    """`payloads` as the messages after those whose roles are `roles`, numbered and given
    rounds as `append_message` does: an assistant turn opens the next round, and any other
    message joins the current one."""
    assistants = sum(1 for role in roles if role == "assistant")
    rows = []
    for position, payload in enumerate(payloads, start=len(roles)):
        if payload["role"] == "assistant":
            round_number = assistants
            assistants += 1
        else:
            round_number = max(assistants - 1, 0)
        rows.append(
            Message(
                conversation_id=conversation_id,
                position=position,
                round=round_number,
                role=payload["role"],
                payload=payload,
            )
        )
    return rows


def _write_call(
    exchange: RecordedExchange, conversation_id: int, round_number: int, whole: str
) -> ModelCall:
    """The exchange's model call, written once with its outcome (what `start_model_call` and
    then `record_model_turn` or `record_model_error` write for a run's call)."""
    outcome: dict[str, Any]
    if exchange.turn is None:
        kind, text = exchange.error or ("server", "no answer")
        outcome = {"ok": False, "error_kind": kind[:20], "error_message": text}
    else:
        outcome = {
            **answered(exchange.turn),
            "first_token_ms": exchange.first_token_ms,
            "continued_by_hash": whole,
        }
    return ModelCall.objects.create(
        conversation_id=conversation_id,
        round=round_number,
        request=exchange.request,
        started_at=exchange.started_at,
        duration_ms=exchange.duration_ms,
        **outcome,
    )


def _storable(message: Any) -> bool:
    return (
        isinstance(message, dict)
        and isinstance(message.get("role"), str)
        and (0 < len(message["role"]) <= 10)
    )


# A request is matched against at most this many of its longest prefixes.
JOIN_PREFIXES = 256
# Of the conversations that may hold an exchange recorded late, this many are read.
JOIN_CANDIDATES = 20


def _placed(
    exchange: RecordedExchange, messages: list[dict[str, Any]], chain: list[str], whole: str
) -> _Place:
    """Where the exchange goes. Found by hashes and indexes: what is read is bounded whatever
    the token has recorded (an app sending the same prompt a million times included).

    Its two lookups are written in SQL: they run for every proxied request, and building them
    with the ORM cost several times what running them does."""
    keyed: int | None = None
    if exchange.conversation_key:
        keyed = (
            Conversation.objects.filter(
                team_id=exchange.team_id,
                api_token_id=exchange.token_id,
                recorded=True,
                recording_key=exchange.conversation_key,
            )
            .values_list("pk", flat=True)
            .first()
        )
        if keyed is None:
            return _Place()
        scope: tuple[str, int | str] = ("c.id = %s", keyed)
    else:
        scope = ("c.recording_root = %s", join_root(messages, chain))
    params: list[Any] = [exchange.team_id, exchange.token_id, True, scope[1]]
    # It continues a conversation whose last message is an answer this request begins with
    # (so only its assistant messages can end such a prefix): the calls with such an answer,
    # each with how many messages its conversation holds.
    lengths = {
        chain[i]: i + 1
        for i in range(max(len(chain) - JOIN_PREFIXES, 0), len(chain))
        if messages[i]["role"] == "assistant"
    }
    if lengths:
        # Of those still holding nothing after that answer, the longest prefix, then the
        # newest: one row, however many identical conversations one root holds.
        wanted = " ".join(["WHEN %s THEN %s"] * len(lengths))
        answers = ModelCall.objects.raw(
            f"SELECT * FROM (SELECT m.*, (SELECT COUNT(*) FROM {_MESSAGES} h WHERE"
            f" h.conversation_id = m.conversation_id) AS held, CASE m.continued_by_hash {wanted}"
            f" END AS wanted FROM {_CALLS} m JOIN {_CONVERSATIONS} c ON c.id = m.conversation_id"
            f" WHERE {_RECORDED} AND {scope[0]} AND m.ok = %s AND m.continued_by_hash IN"
            f" ({', '.join(['%s'] * len(lengths))})) x WHERE x.held = x.wanted"
            " ORDER BY x.wanted DESC, x.round DESC, x.id DESC LIMIT 1",
            [*(v for item in lengths.items() for v in item), *params, True, *lengths],
        )
        for call in answers:
            return _Place(call.conversation_id, call, lengths[call.continued_by_hash])
    # It was recorded after its successor, whose conversation holds its answer but not its call:
    # such a conversation was opened after this exchange began.
    if whole:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT c.id FROM {_CONVERSATIONS} c WHERE {_RECORDED} AND {scope[0]}"
                " AND c.created_at >= %s AND NOT EXISTS (SELECT 1 FROM"
                f" {_CALLS} m WHERE m.conversation_id = c.id AND m.continued_by_hash = %s)"
                " ORDER BY c.id DESC LIMIT %s",
                [
                    *params,
                    connection.ops.adapt_datetimefield_value(exchange.started_at),
                    whole,
                    JOIN_CANDIDATES,
                ],
            )
            late = [row[0] for row in cursor.fetchall()]
        if late:
            stored: dict[int, list[Any]] = {pk: [] for pk in late}
            rows = Message.objects.filter(conversation_id__in=late, position__lte=len(chain))
            for conversation_id, payload in rows.order_by("position").values_list(
                "conversation_id", "payload"
            ):
                stored[conversation_id].append(payload)
            for conversation_id, payloads in stored.items():
                if len(payloads) > len(chain) and message_chain(payloads)[len(chain)] == whole:
                    return _Place(conversation_id, held_at=len(chain))
    if keyed is not None:  # named, but not a continuation: the app started over in it
        return _Place(keyed)
    return _Place()


_CONVERSATIONS = Conversation._meta.db_table
_CALLS = ModelCall._meta.db_table
_MESSAGES = Message._meta.db_table
# The conversations the exchange's token recorded.
_RECORDED = "c.team_id = %s AND c.api_token_id = %s AND c.recorded = %s"


def _record_late(exchange: RecordedExchange, conversation_id: int, at: int) -> ModelCall:
    """An exchange recorded after its successor: its messages and answer are in the conversation
    already (the successor's request brought them), so only its call is written, at the round of
    its answer, and its answer's tool calls get the results and the gap the successor proves."""
    stored = list(Message.objects.filter(conversation_id=conversation_id).order_by("position"))
    round_number = sum(1 for m in stored[:at] if m.role == "assistant")
    whole = message_chain([m.payload for m in stored[: at + 1]])[-1]
    call = _write_call(exchange, conversation_id, round_number, whole)
    already = Batch.objects.filter(
        conversation_id=conversation_id, round=round_number, source=BatchSource.RECORDED
    ).exists()
    if not already:
        following = []
        for message in stored[at + 1 :]:
            if message.role == "assistant":
                break
            following.append(message.payload)
        successor = (
            ModelCall.objects.filter(conversation_id=conversation_id, round__gt=round_number)
            .order_by("started_at")
            .values_list("started_at", flat=True)
            .first()
        )
        if successor is not None and following:
            _record_app_tool_calls(conversation_id, exchange.team_id, call, following, successor)
    Conversation.objects.filter(pk=conversation_id).update(updated_at=timezone.now())
    return call


def _open_for(
    exchange: RecordedExchange, messages: list[dict[str, Any]], root: str
) -> Conversation:
    first_user = next((m.get("content") for m in messages if m.get("role") == "user"), None)
    title = first_user if isinstance(first_user, str) and first_user.strip() else ""
    return open_recorded_conversation(
        exchange.team_id,
        title=exchange.conversation_key or " ".join(title.split())[:80] or "Recorded conversation",
        model=str(exchange.request.get("model") or ""),
        provider=exchange.provider_id,
        api_token_id=exchange.token_id,
        recording_key=exchange.conversation_key,
        recording_root=root,
        failure=exchange_failure(exchange),
    )


def _record_app_tool_calls(
    conversation_id: int,
    team_id: int,
    previous: ModelCall,
    new_messages: list[dict[str, Any]],
    started_at: datetime,
) -> None:
    """The calls of `previous`'s answer, which the app ran itself, with the results its next
    request brought. All that is known of their timing is the gap between the two requests."""
    answer = previous.response if isinstance(previous.response, dict) else {}
    calls = [c for c in answer.get("tool_calls") or [] if isinstance(c, dict)]
    if not calls:
        return
    results = {
        m.get("tool_call_id"): m.get("content") for m in new_messages if m.get("role") == "tool"
    }
    answered_at = previous.started_at + timedelta(milliseconds=previous.duration_ms or 0)
    gap_ms = max((started_at - answered_at).total_seconds() * 1000, 0.0)
    batch = Batch.objects.create(
        team_id=team_id,
        conversation_id=conversation_id,
        round=previous.round,
        source=BatchSource.RECORDED,
        status=BatchStatus.FINISHED,
        strategy="app",
        started_at=answered_at,
        finished_at=started_at,
        wall_ms=gap_ms,  # how the app split it among its calls is not known: no sum
    )
    ToolExecution.objects.bulk_create(app_executions(batch, calls, results, gap_ms))


def record_transcript_calls(
    conversation: Conversation,
    round_number: int,
    calls: list[dict[str, Any]],
    results: dict[Any, Any],
) -> Batch:
    """An imported assistant turn's calls, with the results the transcript holds: a finished
    "recorded" batch, untimed (a transcript says nothing of when the calls ran)."""
    batch = Batch.objects.create(
        team_id=conversation.team_id,
        conversation=conversation,
        round=round_number,
        source=BatchSource.RECORDED,
        status=BatchStatus.FINISHED,
        strategy="app",
        wall_ms=0,
    )
    ToolExecution.objects.bulk_create(
        app_executions(
            batch,
            calls,
            results,
            0.0,
            worker="the app (imported)",
            missing="The transcript holds no result for it.",
        )
    )
    return batch


def app_executions(
    batch: Batch,
    calls: list[dict[str, Any]],
    results: dict[Any, Any],
    finished_ms: float,
    worker: str = "the app (timed by the recording)",
    missing: str = "The app sent no result for it.",
) -> list[ToolExecution]:
    """Executions of calls another app ran, with the result it sent back for each (by
    tool_call_id); a call without one is an error saying so."""
    executions = []
    for position, call in enumerate(calls):
        found = call.get("function")
        function: dict[str, Any] = found if isinstance(found, dict) else {}
        content = results.get(call.get("id"))
        text = content if isinstance(content, str) else json.dumps(content, default=str)
        result, truncated = _capped(_result_of(text, raw=True))
        executions.append(
            ToolExecution(
                batch=batch,
                position=position,
                tool_call_id=_stored(call.get("id") or "", 100),
                tool_name=_stored(function.get("name") or "", 255),
                raw_arguments=_stored(function.get("arguments") or ""),
                status=ExecutionStatus.OK if content is not None else ExecutionStatus.ERROR,
                error_code="" if content is not None else "NO_RESULT",
                error_message="" if content is not None else missing,
                result=result if content is not None else None,
                result_truncated=truncated,
                content=_stored(text) if content is not None else "",
                attempts=1,
                queued_ms=0,
                started_ms=0,
                finished_ms=finished_ms,
                worker=worker,
            )
        )
    return executions


# -- messages ---------------------------------------------------------------------------------


def append_message(
    conversation_id: int,
    payload: dict[str, Any],
    *,
    round_number: int | None = None,
    by_hand: bool = False,
    user: Any = None,
) -> Message:
    """Store `payload` as the conversation's next message.

    The conversation's messages are locked while the position is chosen, so two writers never
    take the same one (a COUNT cannot be locked; the rows it counts can). Without a round, an
    assistant turn opens the next round and any other message joins the current one. A message
    written `by_hand` is stamped as edited (by `user`, when signed in).
    """
    with transaction.atomic():
        roles = list(
            Message.objects.select_for_update()
            .filter(conversation_id=conversation_id)
            .values_list("role", flat=True)
        )
        if round_number is None:
            assistants = roles.count("assistant")
            round_number = assistants if payload["role"] == "assistant" else max(assistants - 1, 0)
        person = user if by_hand and getattr(user, "is_authenticated", False) else None
        return Message.objects.create(
            conversation_id=conversation_id,
            position=len(roles),
            round=round_number,
            role=payload["role"],
            payload=payload,
            edited_by=person,
            edited_at=timezone.now() if by_hand else None,
        )


def append_messages(
    conversation_id: int, payloads: Sequence[dict[str, Any]], round_number: int
) -> list[Message]:
    """Store `payloads` as the conversation's next messages, in order, in one round (a round's
    tool results): one lock of the messages and one insert, however many."""
    if not payloads:
        return []
    with transaction.atomic():
        taken = (
            Message.objects.select_for_update()
            .filter(conversation_id=conversation_id)
            .values_list("pk", flat=True)
        )
        first = len(list(taken))
        return Message.objects.bulk_create(
            Message(
                conversation_id=conversation_id,
                position=first + offset,
                round=round_number,
                role=payload["role"],
                payload=payload,
            )
            for offset, payload in enumerate(payloads)
        )


# -- model calls ------------------------------------------------------------------------------


def start_model_call(
    conversation_id: int, round_number: int, request: dict[str, Any], started_at: Any = None
) -> ModelCall:
    """The request, stored before it is sent: a crash leaves it open, and takeover marks it."""
    return ModelCall.objects.create(
        conversation_id=conversation_id,
        round=round_number,
        request=request,
        started_at=started_at or timezone.now(),
    )


def record_model_error(pk: int, kind: str, message: str, duration_ms: float | None) -> None:
    ModelCall.objects.filter(pk=pk).update(
        ok=False, error_kind=kind, error_message=message, duration_ms=duration_ms
    )


def answered(turn: AssistantTurn) -> dict[str, Any]:
    """A model call's columns for the turn it answered (a run's call or a recorded exchange)."""
    usage = turn.usage or {}
    return {
        "ok": True,
        "response": turn.to_message(),
        "finish_reason": turn.finish_reason or "",
        "problems": list(turn.problems),
        "prompt_tokens": usage.get("prompt_tokens"),
        "completion_tokens": usage.get("completion_tokens"),
        "total_tokens": usage.get("total_tokens"),
    }


def record_model_turn(pk: int, turn: AssistantTurn) -> None:
    ModelCall.objects.filter(pk=pk).update(
        **answered(turn),
        duration_ms=turn.duration_s * 1000,
        first_token_ms=None if turn.first_token_s is None else turn.first_token_s * 1000,
    )


CUT_OFF = "Stopped by a person while the model was writing; its answer was cut off here."


def record_cut_off(
    pk: int, text: str, calls: Sequence[tuple[str, str]], duration_ms: float | None
) -> None:
    """A model call stopped mid-stream keeps what the model had written so far (text, and each
    call's name and arguments), marked as cut off; one already closed stays as it is."""
    response: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        response["tool_calls"] = [
            {"type": "function", "function": {"name": name, "arguments": arguments}}
            for name, arguments in calls
        ]
    ModelCall.objects.filter(pk=pk, ok=False, error_kind="").update(
        error_kind="stopped", error_message=CUT_OFF, response=response, duration_ms=duration_ms
    )


def interrupt_model_calls(conversation_id: int, reason: str) -> None:
    """Model calls that never got an answer or an error (their worker died) say why."""
    ModelCall.objects.filter(conversation_id=conversation_id, ok=False, error_kind="").update(
        error_kind="interrupted", error_message=reason
    )


# -- batches and executions -------------------------------------------------------------------


def open_batch(
    *,
    team: Any,
    versions: Sequence[ToolVersion],
    calls: Sequence[ToolCall],
    strategy: str,
    max_concurrency: int | None = None,
    fail_fast: bool = False,
    source: str = BatchSource.LAB,
    user: Any = None,
    compare_group: uuid.UUID | None = None,
    conversation: Any = None,
    round_number: int | None = None,
    replay_of: Batch | None = None,
) -> tuple[Batch, dict[str, ToolSpec]]:
    """Create the Batch and its queued executions; return them with the pinned specs."""
    by_name = {version.snapshot["name"]: version for version in versions}
    specs = {name: spec_for(version) for name, version in by_name.items()}
    with transaction.atomic():
        batch = Batch.objects.create(
            team=team,
            conversation=conversation,
            round=round_number,
            source=source,
            strategy=strategy,
            max_concurrency=max_concurrency,
            fail_fast=fail_fast,
            compare_group=compare_group,
            replay_of=replay_of,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        ToolExecution.objects.bulk_create(
            ToolExecution(
                batch=batch,
                position=position,
                tool_call_id=call.id,
                tool_name=call.name,
                tool_id=by_name[call.name].tool_id if call.name in by_name else None,
                tool_version=by_name.get(call.name),
                raw_arguments=call.arguments,
            )
            for position, call in enumerate(calls)
        )
    return batch, specs


def close_batches(batches: QuerySet[Batch], reason: str) -> list[int]:
    """The one way open records are closed (a failed batch, a stopped run, a dead worker's):
    their unfinished calls become CANCELLED and their running batches failed, with the reason;
    a call that waited for a person's decision waits no more (nobody can decide a closed call).
    Finished calls keep their results. Returns the batches it closed."""
    closed = list(batches.filter(status=BatchStatus.RUNNING).values_list("pk", flat=True))
    executions = ToolExecution.objects.filter(batch__in=batches.values("pk"))
    executions.filter(status__in=OPEN_CALL_STATUSES).update(
        status=ExecutionStatus.ERROR, error_code="CANCELLED", error_message=reason
    )
    executions.filter(approval="pending").update(approval="")
    Batch.objects.filter(pk__in=closed).update(status=BatchStatus.FAILED, failure=reason)
    for batch_id in closed:
        _close_totals(batch_id)
    return closed


def _close_totals(batch_id: int) -> None:
    """A closed batch's wall and summed tool time, from its calls' recorded times: up to the
    last moment one finished (or was cancelled, when the worker saw the stop), waits for a
    person left out, as `ExecutionRecorder.finish` counts them."""
    rows = list(ToolExecution.objects.filter(batch_id=batch_id))
    ends = [row.finished_ms for row in rows if row.finished_ms is not None]
    if not ends:
        return
    wall_ms = max(max(ends) - waiting_only_ms(rows), 0.0)
    sum_ms = sum(
        row.finished_ms - row.started_ms
        for row in rows
        if row.started_ms is not None and row.finished_ms is not None
    )
    Batch.objects.filter(pk=batch_id).update(
        wall_ms=wall_ms, sum_call_ms=sum_ms, speedup=sum_ms / wall_ms if wall_ms > 0 else 0.0
    )


def decide_call(
    conversation: Conversation, execution_id: int, decision: str, *, actor: Any
) -> bool:
    """A person's approval or denial of a call that waits for one; False when it no longer
    waits (decided already, or gone)."""
    updated = ToolExecution.objects.filter(
        pk=execution_id, batch__conversation=conversation, approval="pending"
    ).update(approval=decision)
    if updated:
        execution = ToolExecution.objects.get(pk=execution_id)
        kind = audit.Kind.CALL_APPROVE if decision == "approved" else audit.Kind.CALL_DENY
        details = {"conversation": conversation.pk, "tool": execution.tool_name}
        audit.record(conversation.team_id, kind, actor, execution, details)
    return bool(updated)


def finished_results(conversation_id: int, round_number: int, call_ids: Iterable[str]) -> dict:
    """Tool message contents of calls of this round that finished in an earlier batch (one a
    dead worker or a stop cut short), by tool_call_id; the latest wins. Calls closed as
    CANCELLED (by a stop or a dead worker) never gave a tool message, whether or not their
    time until the cancellation was recorded, and are not among them."""
    rows = (
        ToolExecution.objects.filter(
            batch__conversation_id=conversation_id,
            batch__round=round_number,
            tool_call_id__in=list(call_ids),
            status__in=[ExecutionStatus.OK, ExecutionStatus.ERROR],
            finished_ms__isnull=False,
        )
        .exclude(error_code="CANCELLED", content="")
        .order_by("batch_id", "position")
        .values_list("tool_call_id", "content")
    )
    return dict(rows)


class ExecutionRecorder:
    """Subscribes to one batch's engine events and writes each call's state as it happens.

    `on_event` runs inside the engine's event loop and only notes the change; a writer task
    stores what was noted, in one transaction, off the loop. Changes noted while a write is
    under way go together in the next one, so a busy batch costs few writes and a finished
    call is on disk within one write of finishing. `settle()` waits for the last write;
    `finish()` then stores the batch's totals and each call's exact result (the events carry
    the tool message, not the parsed arguments or the result before it was rendered).
    """

    def __init__(
        self,
        batch: Batch,
        calls: Sequence[ToolCall],
        specs: dict[str, ToolSpec],
        *,
        offload: Callable[..., Awaitable[Any]] | None = None,
    ):
        self.batch = batch
        # How a write leaves the loop (the runner's database threads; else the thread-sensitive
        # thread, where a lab batch's caller sees it).
        self._offload = offload
        self._positions: dict[str, list[int]] = {}
        for position, call in enumerate(calls):
            self._positions.setdefault(call.id, []).append(position)
        self._raw = {
            position: bool(specs.get(call.name) and specs[call.name].raw_result)
            for position, call in enumerate(calls)
        }
        self._started: dict[int, float] = {}
        self._finished: set[int] = set()
        self._retries: dict[int, list[float]] = {}
        self._queued_ms: float = 0.0
        self._pending: dict[int, dict[str, Any]] = {}
        self._writer: asyncio.Task[None] | None = None

    # Inside the event loop: quick, no database.

    def on_event(self, event: Event) -> None:
        if event.call_id is None:
            return
        ms = round(event.t * 1000, 3)
        if event.kind == EventKind.CALL_QUEUED:
            position = event.data.get("index")
            if isinstance(position, int):
                self._queued_ms = ms
                self._note(position, {"queued_ms": ms})
            return
        position = self._position(event)
        if position is None:
            return
        if event.kind == EventKind.CALL_STARTED:
            self._started.setdefault(position, ms)
            self._note(
                position,
                {
                    "status": ExecutionStatus.RUNNING,
                    "started_ms": self._started[position],
                    "attempts": int(event.data.get("attempt", 1)),
                },
            )
        elif event.kind == EventKind.CALL_RETRYING:
            marks = self._retries.setdefault(position, [])
            marks.append(ms)
            attempts = int(event.data.get("attempt", 2)) - 1
            self._note(position, {"retry_marks_ms": list(marks), "attempts": attempts})
        elif event.kind == EventKind.CALL_AWAITING_APPROVAL:
            self._note(position, {"approval_asked_ms": ms})
        elif event.kind == EventKind.CALL_APPROVAL_DECIDED:
            self._note(position, {"approval_decided_ms": ms})
        elif event.kind == EventKind.CALL_FINISHED:
            self._finished.add(position)
            self._note(position, self._finished_fields(position, event, ms))

    def cancelled(self, ms: float) -> None:
        """The batch was cancelled from outside (a stop) `ms` after it started: the engine
        gives its unfinished calls no result, so each is recorded as having lasted until then
        (the run closes them as CANCELLED; `close_batches` then counts their time)."""
        for position in self._raw:
            if position not in self._finished:
                started = self._started.get(position)
                self._note(position, {"finished_ms": ms if started is None else max(ms, started)})

    def _position(self, event: Event) -> int | None:
        """The row an event is about. A model may repeat an id within one turn: its calls
        are matched in order, the first still open first."""
        positions = self._positions.get(event.call_id or "", [])
        if len(positions) == 1:
            return positions[0]
        for position in positions:
            if position in self._finished:
                continue
            if event.kind == EventKind.CALL_STARTED and position in self._started:
                continue
            return position
        return positions[0] if positions else None

    def _finished_fields(self, position: int, event: Event, ms: float) -> dict[str, Any]:
        data = event.data
        error = data.get("error") or None
        content = str(data.get("content") or "")
        result, truncated = _capped(None if error else _result_of(content, self._raw[position]))
        return {
            "status": ExecutionStatus.OK if data.get("status") == "ok" else ExecutionStatus.ERROR,
            "error_code": error.get("code", "") if error else "",
            "error_message": error.get("message", "") if error else "",
            "error_details": error.get("details") if error else None,
            "result": result,
            "result_truncated": truncated,
            "content": content,
            "attempts": int(data.get("attempts") or 0),
            "queued_ms": self._queued_ms,
            "started_ms": self._started.get(position),
            "finished_ms": ms,
            "worker": data.get("worker") or "",
        }

    def _note(self, position: int, fields: dict[str, Any]) -> None:
        self._pending.setdefault(position, {}).update(fields)
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_pending())

    async def _write_pending(self) -> None:
        try:
            while self._pending:
                await asyncio.sleep(0)  # what else this tick brings goes in the same write
                pending, self._pending = self._pending, {}
                if self._offload is not None:
                    await self._offload(self._write, pending)
                else:
                    await sync_to_async(self._write)(pending)
        finally:
            self._writer = None

    async def settle(self) -> None:
        """Wait until every noted change is written (raises what a failed write raised)."""
        while self._writer is not None:
            await asyncio.shield(self._writer)

    # Outside the event loop: the database.

    def _write(self, pending: dict[int, dict[str, Any]]) -> None:
        with transaction.atomic():
            _update_positions(self.batch.pk, pending)

    def finish(self, outcome: BatchResult, *, refresh: bool = True) -> None:
        with transaction.atomic():
            _update_positions(
                self.batch.pk,
                {
                    position: {
                        "retry_marks_ms": self._retries.get(position, []),
                        **execution_fields(result),
                    }
                    for position, result in enumerate(outcome.results)
                },
            )
            # Waiting for a person is not tool time: the wall time leaves out the moments
            # when calls only waited for approval, and the speed-up follows.
            waited = waiting_only_ms(list(self.batch.executions.all()))
            wall_ms = max(outcome.wall_s * 1000 - waited, 0.0)
            sum_ms = outcome.sum_call_s * 1000
            Batch.objects.filter(pk=self.batch.pk).update(
                status=BatchStatus.FINISHED,
                started_at=outcome.started_at,
                finished_at=outcome.finished_at,
                wall_ms=wall_ms,
                sum_call_ms=sum_ms,
                speedup=sum_ms / wall_ms if wall_ms > 0 else 0.0,
            )
            audit.record_executions(self.batch)
        if refresh:
            self.batch.refresh_from_db()

    def fail(self, reason: str) -> None:
        with transaction.atomic():
            close_batches(Batch.objects.filter(pk=self.batch.pk), reason)
            audit.record_executions(self.batch)
        self.batch.refresh_from_db()


def _update_positions(batch_id: int, changes: dict[int, dict[str, Any]]) -> None:
    """Each position's fields of the batch's executions, in one UPDATE per set of field names
    (a CASE on the position where the values differ, as `bulk_update` builds it)."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for position, fields in changes.items():
        groups.setdefault(tuple(sorted(fields)), []).append(position)
    cast = connection.features.requires_casted_case_in_updates
    for names, positions in groups.items():
        rows = ToolExecution.objects.filter(batch_id=batch_id, position__in=positions)
        if len(positions) == 1:
            rows.update(**changes[positions[0]])
            continue
        values: dict[str, Any] = {}
        for name in names:
            field = ToolExecution._meta.get_field(name)
            assert isinstance(field, Field)
            case: Any = Case(
                *(
                    When(position=p, then=Value(changes[p][name], output_field=field))
                    for p in positions
                ),
                output_field=field,
            )
            values[name] = Cast(case, output_field=field) if cast else case
        rows.update(**values)


def execution_fields(result: CallResult) -> dict[str, Any]:
    stored, truncated = _capped(result.result)
    return {
        "status": ExecutionStatus.OK if result.ok else ExecutionStatus.ERROR,
        "parsed_arguments": result.parsed_arguments,
        "error_code": result.error.code.value if result.error else "",
        "error_message": result.error.message if result.error else "",
        "error_details": result.error.details if result.error else None,
        "result": stored,
        "result_truncated": truncated,
        "content": result.content,
        "attempts": result.attempts,
        "queued_ms": result.queued_at * 1000,
        "started_ms": None if result.started_at is None else result.started_at * 1000,
        "finished_ms": result.finished_at * 1000,
        "worker": result.worker or "",
    }


def _result_of(content: str, raw: bool) -> Any:
    """The result inside a success envelope (or a raw result's text), from the tool message."""
    try:
        body = json.loads(content)
    except ValueError:
        return content
    if raw:
        return body
    return body.get("result") if isinstance(body, dict) else body


def _capped(value: Any) -> tuple[Any, bool]:
    """The result as stored: JSON as is, or its text cut at MAX_RESULT_CHARS with a flag."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = json.dumps(str(value))
        value = str(value)
    if len(text) <= MAX_RESULT_CHARS:
        return value, False
    return {"truncated": text[:MAX_RESULT_CHARS]}, True


__all__ = [
    "MAX_RESULT_CHARS",
    "ExecutionRecorder",
    "RecordedExchange",
    "app_executions",
    "append_message",
    "append_messages",
    "close_batches",
    "decide_call",
    "execution_fields",
    "finished_results",
    "interrupt_model_calls",
    "message_chain",
    "open_batch",
    "open_recorded_conversation",
    "record_exchange",
    "record_model_error",
    "record_model_turn",
    "record_transcript_calls",
    "start_model_call",
]
