"""Creating, forking and exporting conversations; the runner drives them, this shapes them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from fcstudio.redaction import redact_messages
from tools_app import schema
from tools_app.models import ToolVersion
from tools_app.wire import wire_tools

from . import recording
from .models import Conversation, Message, RunStatus


@transaction.atomic
def create_conversation(team: Any, user: Any, data: dict[str, Any]) -> Conversation:
    """A draft conversation with its first messages and pinned tool versions."""
    provider = data["provider"]
    choice = data.get("tool_choice") or "auto"
    kind, _, name = choice.partition(":")
    title = data.get("title") or data["user"].strip().splitlines()[0][:80]
    conversation = Conversation.objects.create(
        team=team,
        title=title,
        provider=provider,
        model=data.get("model") or provider.default_model,
        tool_choice=kind,
        tool_choice_name=name,
        keep_tool_choice=bool(data.get("keep_tool_choice")),
        parallel_tool_calls=data.get("parallel_tool_calls", True),
        strategy=data.get("strategy") or "asyncio",
        max_concurrency=data.get("max_concurrency"),
        temperature=data.get("temperature"),
        max_rounds=data.get("max_rounds") or 6,
        review_results=bool(data.get("review_results")),
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    versions = [tool.versions.order_by("-number").first() for tool in data.get("tools") or []]
    conversation.tool_versions.set([v for v in versions if v is not None])
    position = 0
    if data.get("system", "").strip():
        Message.objects.create(
            conversation=conversation,
            position=0,
            role="system",
            payload={"role": "system", "content": data["system"]},
        )
        position = 1
    Message.objects.create(
        conversation=conversation,
        position=position,
        role="user",
        payload={"role": "user", "content": data["user"]},
    )
    return conversation


@transaction.atomic
def fork(conversation: Conversation, *, upto: int, user: Any) -> Conversation:
    """A copy holding the messages before position `upto`; the original is kept as it is."""
    copy = Conversation.objects.get(pk=conversation.pk)
    copy.pk = None
    copy.title = f"{conversation.title} (fork)"[:200]
    copy.status = RunStatus.DRAFT
    copy.failure = ""
    copy.stop_requested = False
    copy.worker = ""
    copy.heartbeat_at = None
    copy.forked_from = conversation
    # A fork is driven here: the copy of a recorded conversation is a draft like any other.
    copy.recorded = False
    copy.api_token = None
    copy.recording_key = ""
    copy.created_by = user if getattr(user, "is_authenticated", False) else None
    copy.save()
    copy.tool_versions.set(conversation.tool_versions.all())
    Message.objects.bulk_create(
        Message(
            conversation=copy, position=m.position, round=m.round, role=m.role, payload=m.payload
        )
        for m in conversation.messages.filter(position__lt=upto)
    )
    return copy


def tools_for(versions: Iterable[ToolVersion]) -> list[dict[str, Any]]:
    """The `tools` array of the pinned versions, as sent to the model."""
    return [
        schema.tools_entry(
            name=v.snapshot["name"],
            description=v.snapshot.get("description", ""),
            parameters=v.snapshot.get("parameters") or {"type": "object", "properties": {}},
            strict=bool(v.snapshot.get("strict")),
        )
        for v in versions
    ]


def export_openai(conversation: Conversation) -> dict[str, Any]:
    """The Chat Completions inputs that reproduce this conversation, its sensitive argument
    values redacted (fcstudio.redaction) and its tools without the studio's `x-` keywords."""
    versions = list(conversation.tool_versions.all())
    tools = wire_tools(tools_for(versions)) if versions else recorded_tools(conversation)
    schemas = {v.snapshot["name"]: v.snapshot.get("parameters") for v in versions}
    body: dict[str, Any] = {
        "model": conversation.model,
        "messages": redact_messages([m.payload for m in conversation.messages.all()], schemas),
    }
    if tools:
        body["tools"] = tools
        body["tool_choice"] = conversation.tool_choice_value()
        body["parallel_tool_calls"] = conversation.parallel_tool_calls
    if conversation.temperature is not None:
        body["temperature"] = conversation.temperature
    return body


def recorded_tools(conversation: Conversation) -> list[dict[str, Any]]:
    """The tools a recorded conversation's latest request offered (it has no picked tools)."""
    if not conversation.recorded:
        return []
    tools = (
        conversation.model_calls.order_by("-round", "-pk")
        .values_list("request__tools", flat=True)
        .first()
    )
    if not isinstance(tools, list):
        return []
    return [t for t in tools if isinstance(t, dict) and isinstance(t.get("function"), dict)]


class ConversationBusy(Exception):
    """A running conversation's history may not be changed under it."""


def _ensure_idle(conversation: Conversation) -> None:
    """Refuse while a run drives the conversation. The row stays locked until the caller's
    transaction ends, so a run cannot start between this check and the change."""
    conversation.status = (
        Conversation.objects.select_for_update()
        .values_list("status", flat=True)
        .get(pk=conversation.pk)
    )
    if conversation.is_active:
        raise ConversationBusy("Stop the run before changing its messages.")


@transaction.atomic
def add_message(conversation: Conversation, payload: dict[str, Any], user: Any) -> Message:
    """Append a message written by hand (an assistant turn with tool calls, a tool result…)."""
    _ensure_idle(conversation)
    return recording.append_message(conversation.pk, payload, by_hand=True, user=user)


@transaction.atomic
@transaction.atomic
def edit_message(message: Message, payload: dict[str, Any], user: Any) -> Message:
    """Replace a message's content in place (fork first to keep the original)."""
    _ensure_idle(message.conversation)
    message.payload = payload
    message.role = payload["role"]
    message.edited_by = user if getattr(user, "is_authenticated", False) else None
    message.edited_at = timezone.now()
    message.save(update_fields=["payload", "role", "edited_by", "edited_at"])
    return message


@transaction.atomic
def answer_call(conversation: Conversation, payload: dict[str, Any], user: Any) -> Message:
    """Store a result written by hand for one tool call: the tool message that answers it is
    edited in place (its last one, if the record holds several), or added when there is none."""
    _ensure_idle(conversation)
    call_id = payload["tool_call_id"]
    answers = [
        message
        for message in conversation.messages.filter(role="tool").order_by("position")
        if message.payload.get("tool_call_id") == call_id
    ]
    if answers:
        return edit_message(answers[-1], payload, user)
    return add_message(conversation, payload, user)


class TurnRefused(Exception):
    """The next user turn would leave the history unsendable: the next run would fail on it."""


@transaction.atomic
def send_user_message(conversation: Conversation, text: str, user: Any) -> Message:
    """The composer's next user turn, appended after whatever the conversation holds: a turn of
    the conversation, not an edit of its record. Refused while the last assistant turn has calls
    without a result: a run executes those before asking the model, and the user turn would sit
    between the calls and their results."""
    from .runner import problem_made, unanswered_calls  # the runner imports this module

    _ensure_idle(conversation)
    payload = {"role": "user", "content": text}
    before = list(conversation.messages.order_by("position"))
    added = Message(position=len(before), role="user", payload=payload)
    if problem := problem_made(before, [*before, added]):
        count = len(unanswered_calls(before))
        raise TurnRefused(_open_calls_refusal(conversation, count) if count else problem)
    return recording.append_message(conversation.pk, payload, user=user)


def _open_calls_refusal(conversation: Conversation, count: int) -> str:
    calls = (
        "a tool call that has no result"
        if count == 1
        else f"{count} tool calls that have no results"
    )
    them, results = ("it", "its result") if count == 1 else ("them", "their results")
    return (
        f"The last turn asked for {calls} yet: {conversation.continue_label} to execute {them}, "
        f"or write {results} with “Add a message by hand” (role tool), before writing the next "
        "message."
    )


def has_history(conversation: Conversation) -> bool:
    """Whether a model was asked: its record must stay true to what was sent."""
    return conversation.recorded or conversation.model_calls.exists()


# The settings a person may change between runs from the conversation page.
RUN_SETTINGS = (
    "provider",
    "model",
    "tool_choice",
    "tool_choice_name",
    "keep_tool_choice",
    "parallel_tool_calls",
    "temperature",
    "max_rounds",
)


def _pinned_versions(conversation: Conversation, tools: Iterable[Any]) -> list[ToolVersion]:
    """The tools' versions for the next run: a tool kept keeps its pinned version, a tool added
    brings its latest."""
    pinned = {v.tool_id: v for v in conversation.tool_versions.all()}
    versions = []
    for tool in tools:
        version = pinned.get(tool.pk) or tool.versions.order_by("-number").first()
        if version is not None:
            versions.append(version)
    return versions


@transaction.atomic
def change_settings(conversation: Conversation, data: dict[str, Any], user: Any) -> Conversation:
    """Apply the settings for the next run: in place while no model was asked yet, else on a
    fork holding every message, so the original still says what was sent. Returns the
    conversation that now has them (the same one when nothing changed)."""
    provider = data["provider"]
    kind, _, name = (data.get("tool_choice") or "auto").partition(":")
    wanted = {
        "provider": provider,
        "model": data.get("model") or provider.default_model,
        "tool_choice": kind,
        "tool_choice_name": name,
        "keep_tool_choice": bool(data.get("keep_tool_choice")),
        "parallel_tool_calls": bool(data.get("parallel_tool_calls")),
        "temperature": data.get("temperature"),
        "max_rounds": data.get("max_rounds") or conversation.max_rounds,
    }
    versions = _pinned_versions(conversation, data.get("tools") or [])
    same_settings = all(getattr(conversation, key) == value for key, value in wanted.items())
    same_tools = {v.pk for v in versions} == set(
        conversation.tool_versions.values_list("pk", flat=True)
    )
    if same_settings and same_tools:
        return conversation
    if has_history(conversation):
        last = conversation.messages.aggregate(last=Max("position"))["last"]
        target = fork(conversation, upto=-1 if last is None else last + 1, user=user)
    else:
        _ensure_idle(conversation)
        target = conversation
    for key, value in wanted.items():
        setattr(target, key, value)
    target.save(update_fields=[*RUN_SETTINGS, "updated_at"])
    target.tool_versions.set(versions)
    return target


def answerable_call_ids(conversation: Conversation, before: int | None = None) -> set[str]:
    """The tool call ids of the assistant turns (before position `before`): what a tool message
    written by hand may answer."""
    turns = conversation.messages.filter(role="assistant")
    if before is not None:
        turns = turns.filter(position__lt=before)
    return {
        str(call.get("id"))
        for turn in turns
        for call in turn.payload.get("tool_calls") or []
        if isinstance(call, dict)
    }


def offered_tool_names(conversation: Conversation) -> set[str] | None:
    """The names of the tools the model is offered; None for a recorded conversation, whose
    tools were the recording app's to choose."""
    if conversation.recorded:
        return None
    return {v.snapshot["name"] for v in conversation.tool_versions.all()}
