"""The model loop: request → streamed assistant turn → tool calls run in parallel → all results
back in one request → … → a final answer, a stop, the round limit or an error.

`run_conversation` is the one entry point every dispatcher (inline task, channels worker,
Celery task) calls. Its state lives in the database (status, heartbeat, messages, model calls,
batches), so a run can be watched from any process and a dead worker's run found and marked.
It never loses what happened so far: every message is stored as soon as it exists.

Who drives a run is `leases`; every write of the record goes through `recording`; what a
watching page sees is published through `live`, whose subscribers draw the draft and the bars.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

from asgiref.sync import sync_to_async
from django.utils import timezone

from fcstudio.secrets import SecretError
from tools_app.engine import CallResult, Event, ToolCall, ToolSpec, execute_batch
from tools_app.models import ToolVersion
from tools_app.runtime import tool_limiter
from tools_app.wire import wire_tools

from . import leases, live, provider, quotas, recording
from .compose import tools_for
from .execution import BatchOptions, as_strategy, prepare_batch
from .leases import RunLost, StopRequested
from .models import BatchSource, Conversation, Message, ModelCall, RunStatus, ToolExecution
from .providers import provider_config

APPROVAL_POLL_S = 0.2
REVIEW_NOTE = "Paused to review the tool results: edit any of them, then Continue."


@dataclass
class Setup:
    conversation: Conversation
    config: provider.ProviderConfig
    tools: list[dict[str, Any]]
    versions: list[ToolVersion]
    worker: str


def _load(conversation_id: int, worker: str) -> Setup:
    conversation = Conversation.objects.select_related("provider", "team").get(pk=conversation_id)
    if conversation.provider is None:
        raise ValueError("The conversation has no provider.")
    versions = list(conversation.tool_versions.select_related("tool"))
    tools = tools_for(versions)
    return Setup(
        conversation=conversation,
        config=provider_config(conversation.provider, model=conversation.model),
        tools=tools,
        versions=versions,
        worker=worker,
    )


def _messages(conversation_id: int) -> list[dict[str, Any]]:
    return [m.payload for m in Message.objects.filter(conversation_id=conversation_id)]


def _next_round(conversation_id: int) -> int:
    """Rounds are counted by assistant turns; tool results share their assistant's round."""
    return Message.objects.filter(conversation_id=conversation_id, role="assistant").count()


def _unanswered_calls(conversation_id: int) -> list[ToolCall]:
    """Tool calls of the last assistant message that have no result yet (written by hand, or
    cut off by a stop or a crash): they run before the model is asked again."""
    messages = list(Message.objects.filter(conversation_id=conversation_id))
    last_assistant = next((m for m in reversed(messages) if m.role == "assistant"), None)
    if last_assistant is None or not last_assistant.tool_calls:
        return []
    answered = {
        m.payload.get("tool_call_id")
        for m in messages
        if m.role == "tool" and m.position > last_assistant.position
    }
    calls = []
    for entry in last_assistant.tool_calls:
        function = entry.get("function") or {}
        if entry.get("id") not in answered:
            calls.append(
                ToolCall(
                    id=str(entry.get("id", "")),
                    name=str(function.get("name", "")),
                    arguments=str(function.get("arguments", "")),
                )
            )
    return calls


def _append(conversation_id: int, round_number: int, payload: dict[str, Any]) -> Message:
    return recording.append_message(conversation_id, payload, round_number=round_number)


class InconsistentHistory(ValueError):
    """The messages break the tool-call protocol: sending them would get a provider's 400."""


def history_problem(messages: list[dict[str, Any]]) -> str | None:
    """What makes the history unsendable, or None: every tool message answers a call of the
    assistant turn right before its block, and every call is answered before the next turn."""
    open_calls: dict[str, int] = {}  # call id -> position of its assistant turn
    for position, message in enumerate(messages, start=1):
        role = message.get("role")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in open_calls:
                return (
                    f"Message {position} is a tool result for {call_id!r}, which answers no "
                    "open tool call of the assistant turn before it."
                )
            del open_calls[call_id]
            continue
        if open_calls:
            missing = ", ".join(open_calls)
            return (
                f"Message {next(iter(open_calls.values()))} has tool calls without a result "
                f"({missing}) before message {position}."
            )
        if role == "assistant":
            for call in message.get("tool_calls") or []:
                call_id = call.get("id") if isinstance(call, dict) else None
                if call_id in open_calls:
                    return f"Message {position} has two tool calls with the id {call_id!r}."
                open_calls[str(call_id)] = position
    if open_calls:
        turn = next(iter(open_calls.values()))
        return f"Message {turn} has tool calls without a result ({', '.join(open_calls)})."
    return None


def build_request(setup: Setup, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The Chat Completions body (without model and stream), exactly as it will be sent.

    Raises `InconsistentHistory` (a hand edit broke the tool-call protocol) rather than let the
    provider refuse the request with a 400."""
    if problem := history_problem(messages):
        raise InconsistentHistory(problem)
    conversation = setup.conversation
    request: dict[str, Any] = {"messages": [wire_message(m) for m in messages]}
    if setup.tools:
        request["tools"] = wire_tools(setup.tools)
        request["tool_choice"] = tool_choice_for(conversation, messages)
        request["parallel_tool_calls"] = conversation.parallel_tool_calls
    if conversation.temperature is not None:
        request["temperature"] = conversation.temperature
    return request


def wire_message(message: dict[str, Any]) -> dict[str, Any]:
    """A stored message as it is sent. An assistant turn with tool calls and no text is stored
    as the provider returned it (`"content": null`) but sent with `"content": ""`, the one form
    every server takes: llama-cpp-python's refuses null (500) and, before 0.3.3, a missing key;
    llama.cpp's server refused a missing key and, in some builds, null; OpenAI, vLLM and
    Ollama take all three."""
    tool_turn = message.get("role") == "assistant" and message.get("tool_calls")
    if tool_turn and message.get("content") is None:
        return {**message, "content": ""}
    return message


def tool_choice_for(conversation: Conversation, messages: list[dict[str, Any]]) -> str | dict:
    """`tool_choice` for the next request. A forced choice (`required`, or one named function)
    holds until a round since the last user message obeyed it; then `auto`, so that the model
    can answer (the OpenAI Agents SDK's `reset_tool_choice`). A model that always obeys would
    otherwise call tools until the round limit, which `keep_tool_choice` asks for on purpose."""
    choice = conversation.tool_choice_value()
    if conversation.keep_tool_choice or choice in ("auto", "none"):
        return choice
    wanted = None if isinstance(choice, str) else choice["function"]["name"]
    for message in reversed(messages):
        if message.get("role") == "user":
            break
        if message.get("role") != "assistant":
            continue
        for call in message.get("tool_calls") or []:
            name = (call.get("function") or {}).get("name") if isinstance(call, dict) else None
            if wanted is None or name == wanted:
                return "auto"
    return choice


async def run_conversation(conversation_id: int, *, worker: str | None = None) -> str:
    """Drive the conversation until it ends; returns the final status.

    The run is claimed first (`leases.claim_run`), so two workers never drive it at once: a run
    that another live worker drives, or that has ended, is left alone and its status returned.
    """
    worker = worker or leases.worker_identity()
    if not await sync_to_async(leases.claim_run)(conversation_id, worker):
        return await sync_to_async(leases.current_status)(conversation_id)
    try:
        setup = await sync_to_async(_load)(conversation_id, worker)
    except (Conversation.DoesNotExist, ValueError, SecretError) as exc:
        await sync_to_async(leases.finish_run)(conversation_id, worker, RunStatus.FAILED, str(exc))
        await live.publish(conversation_id, live.StatusChanged(RunStatus.FAILED))
        return RunStatus.FAILED
    await live.publish(conversation_id, live.StatusChanged(RunStatus.RUNNING))
    watch = leases.Watch(conversation_id, worker)
    try:
        status, failure = await _loop(conversation_id, setup)
    except RunLost:
        return await sync_to_async(leases.current_status)(conversation_id)
    except (asyncio.CancelledError, StopRequested):
        if watch.lost:  # taken over or reaped: the record is no longer this worker's to write
            return await sync_to_async(leases.current_status)(conversation_id)
        status, failure = RunStatus.STOPPED, "Stopped by a person."
    except Exception as exc:  # recorded, shown, and the conversation so far is kept
        status, failure = RunStatus.FAILED, f"The run failed: {type(exc).__name__}: {exc}"
    finally:
        watch.stop()
    if not await sync_to_async(leases.finish_run)(conversation_id, worker, status, failure):
        return await sync_to_async(leases.current_status)(conversation_id)
    await live.publish(conversation_id, live.StatusChanged(status, failure))
    return status


async def _loop(conversation_id: int, setup: Setup) -> tuple[str, str]:
    conversation = setup.conversation
    round_number = await sync_to_async(_next_round)(conversation_id)
    pending = await sync_to_async(_unanswered_calls)(conversation_id)
    if pending:
        # Calls that finished before a crash or a stop are not run again: tools may have acted.
        reused = await sync_to_async(recording.finished_results)(
            conversation_id, round_number - 1, [call.id for call in pending]
        )
        await live.publish(conversation_id, live.RoundStarted(round_number - 1))
        await _run_tools(conversation_id, round_number - 1, setup, pending, reused=reused)
    while round_number < conversation.max_rounds:
        await sync_to_async(leases.keep)(conversation_id, setup.worker)
        if refusal := await sync_to_async(quotas.model_call_refusal)(conversation.team_id):
            return RunStatus.FAILED, refusal
        messages = await sync_to_async(_messages)(conversation_id)
        try:
            request = build_request(setup, messages)
        except InconsistentHistory as exc:
            return RunStatus.FAILED, f"The history cannot be sent: {exc}"
        turn = await _call_model(conversation_id, round_number, setup, request)
        if turn is None:
            return RunStatus.FAILED, await sync_to_async(_model_failure)(conversation_id)
        message = await sync_to_async(_append)(conversation_id, round_number, turn.to_message())
        await live.publish(conversation_id, live.MessageAdded(message.pk))
        if not turn.tool_calls:
            if turn.finish_reason == "length":
                return (
                    RunStatus.FAILED,
                    "The model stopped at its token limit (finish_reason: length).",
                )
            return RunStatus.FINISHED, ""
        await _run_tools(
            conversation_id, round_number, setup, turn.tool_calls, lead_ms=turn.duration_s * 1000
        )
        round_number += 1
        if conversation.review_results:
            return RunStatus.PAUSED, REVIEW_NOTE
    return RunStatus.STOPPED, f"Reached the limit of {conversation.max_rounds} rounds."


def _model_failure(conversation_id: int) -> str:
    call = ModelCall.objects.filter(conversation_id=conversation_id).order_by("-pk").first()
    if call is None:
        return "The model call failed."
    return f"Provider error ({call.error_kind}): {call.error_message}"


async def _call_model(
    conversation_id: int, round_number: int, setup: Setup, request: dict[str, Any]
) -> provider.AssistantTurn | None:
    record = await sync_to_async(recording.start_model_call)(
        conversation_id, round_number, {"model": setup.config.model, **request}
    )
    await live.publish(conversation_id, live.ModelStarted(round_number, record.pk))
    draft = live.Draft(conversation_id, round_number)
    started = timezone.now()
    try:
        turn = await provider.complete(setup.config, request, stream=True, on_delta=draft.on_delta)
    except provider.ProviderError as exc:
        await draft.flush()
        await sync_to_async(_record_model_error)(record.pk, exc, started)
        await draft.forget()
        await live.publish(conversation_id, live.ModelFinished(round_number))
        return None
    except asyncio.CancelledError:
        # Stopped mid-stream: what was written is kept on the record, marked as cut off, and
        # the page's draft gives way to it (also after a reload).
        await draft.discard()
        calls = [(call.name, call.arguments) for call in draft.picture().calls]
        elapsed = (timezone.now() - started).total_seconds() * 1000
        await sync_to_async(recording.record_cut_off)(record.pk, draft.text, calls, elapsed)
        await live.publish(conversation_id, live.ModelFinished(round_number))
        raise
    await draft.flush()
    await sync_to_async(recording.record_model_turn)(record.pk, turn)
    await draft.forget()
    await live.publish(conversation_id, live.ModelFinished(round_number))
    return turn


def _record_model_error(pk: int, exc: provider.ProviderError, started: Any) -> None:
    recording.record_model_error(
        pk,
        exc.kind,
        exc.message + (f" (retry after {exc.retry_after:g} s)" if exc.retry_after else ""),
        (timezone.now() - started).total_seconds() * 1000,
    )


async def _run_tools(
    conversation_id: int,
    round_number: int,
    setup: Setup,
    drafts: list[Any],
    *,
    lead_ms: float | None = None,
    reused: dict[str, str] | None = None,
) -> None:
    """Run the round's calls and append every tool message in the order of the calls; a call
    with a result in `reused` (content by tool_call_id) is answered with it, not run."""
    calls = [
        d if isinstance(d, ToolCall) else ToolCall(id=d.id, name=d.name, arguments=d.arguments)
        for d in drafts
    ]
    reused = reused or {}
    to_run = [call for call in calls if call.id not in reused]
    results = iter(
        await _run_batch(conversation_id, round_number, setup, to_run, lead_ms) if to_run else []
    )
    for call in calls:
        if call.id in reused:
            payload = {"role": "tool", "tool_call_id": call.id, "content": reused[call.id]}
        else:
            payload = next(results).to_message()
        message = await sync_to_async(_append)(conversation_id, round_number, payload)
        await live.publish(conversation_id, live.MessageAdded(message.pk))


async def _run_batch(
    conversation_id: int,
    round_number: int,
    setup: Setup,
    calls: list[ToolCall],
    lead_ms: float | None,
) -> list[CallResult]:
    conversation = setup.conversation
    options = BatchOptions(
        strategy=as_strategy(conversation.strategy), max_concurrency=conversation.max_concurrency
    )
    batch, specs = await sync_to_async(prepare_batch)(
        team=conversation.team,
        versions=setup.versions,
        calls=calls,
        options=options,
        source=BatchSource.CONVERSATION,
        conversation=conversation,
        round_number=round_number,
    )
    recorder = recording.ExecutionRecorder(batch, calls, specs)
    bars = live.CallBars(conversation_id, round_number, batch.pk, calls, lead_ms)

    async def on_event(event: Event) -> None:
        recorder.on_event(event)
        await bars.on_event(event)

    async def approver(call: ToolCall, spec: ToolSpec) -> bool:
        # The page redraws the batch from the database when it asks: calls that ran are
        # written first, so none of them still shows as queued there.
        await recorder.settle()
        return await _await_approval(conversation_id, setup.worker, batch.pk, call.id)

    try:
        outcome = await execute_batch(
            calls,
            specs,
            replace(
                options,
                approver=approver,
                on_event=on_event,
                limiter=tool_limiter(conversation.team_id),
            ),
        )
    finally:
        # Stopped or not, what finished is written before the run closes what did not.
        await recorder.settle()
    await bars.flush()
    await sync_to_async(recorder.finish)(outcome)
    await live.publish(conversation_id, live.BatchFinished(batch.pk, round_number))
    return outcome.results


async def _await_approval(conversation_id: int, worker: str, batch_id: int, call_id: str) -> bool:
    """Wait for a person's decision on a call (stored in the database, so any process works)."""
    await sync_to_async(_ask_approval)(conversation_id, worker, batch_id, call_id)
    await live.publish(conversation_id, live.StatusChanged(RunStatus.WAITING))
    await live.publish(conversation_id, live.ApprovalAsked(batch_id, call_id))
    try:
        while True:
            decision = await sync_to_async(_approval_decision)(
                conversation_id, worker, batch_id, call_id
            )
            if decision is not None:
                return decision
            await asyncio.sleep(APPROVAL_POLL_S)
    finally:
        await sync_to_async(_resume_after_approval)(conversation_id, worker)
        await live.publish(conversation_id, live.StatusChanged(RunStatus.RUNNING))


def _ask_approval(conversation_id: int, worker: str, batch_id: int, call_id: str) -> None:
    ToolExecution.objects.filter(batch_id=batch_id, tool_call_id=call_id).update(approval="pending")
    # A run lost meanwhile is left as it is: the watch ends this worker's part.
    leases.set_status(conversation_id, worker, RunStatus.WAITING)


def _approval_decision(
    conversation_id: int, worker: str, batch_id: int, call_id: str
) -> bool | None:
    if leases.stop_asked(conversation_id):
        raise StopRequested
    leases.heartbeat(conversation_id, worker)
    approval = (
        ToolExecution.objects.filter(batch_id=batch_id, tool_call_id=call_id)
        .values_list("approval", flat=True)
        .first()
    )
    if approval == "approved":
        return True
    if approval == "denied":
        return False
    return None


def _resume_after_approval(conversation_id: int, worker: str) -> None:
    still_waiting = ToolExecution.objects.filter(
        batch__conversation_id=conversation_id, approval="pending"
    ).exists()
    if not still_waiting:
        Conversation.objects.filter(
            pk=conversation_id, worker=worker, status=RunStatus.WAITING
        ).update(status=RunStatus.RUNNING)


__all__ = [
    "InconsistentHistory",
    "build_request",
    "history_problem",
    "run_conversation",
    "tool_choice_for",
    "wire_message",
]
