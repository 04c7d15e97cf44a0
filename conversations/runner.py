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
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from django.utils import timezone

from fcstudio.secrets import SecretError
from tools_app.engine import BatchResult, CallResult, Event, ToolCall, ToolSpec, execute_batch
from tools_app.models import ToolVersion
from tools_app.runtime import tool_limiter
from tools_app.wire import wire_tools

from . import leases, live, provider, quotas, recording
from .compose import tools_for
from .execution import BatchOptions, as_strategy, prepare_batch
from .leases import RunLost, StopRequested
from .models import BatchSource, Conversation, Message, ModelCall, RunStatus, ToolExecution
from .providers import provider_config
from .run_database import run_sync

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


def _claim_and_load(conversation_id: int, worker: str) -> Setup | str | None:
    """Claim the run and load what it needs, in one trip to the database thread: the Setup, or
    why it cannot run (a string), or None when the run is not this worker's to drive."""
    if not leases.claim_run(conversation_id, worker):
        return None
    try:
        return _load(conversation_id, worker)
    except (Conversation.DoesNotExist, ValueError, SecretError) as exc:
        return str(exc)


def _messages(conversation_id: int) -> list[dict[str, Any]]:
    return [m.payload for m in Message.objects.filter(conversation_id=conversation_id)]


def _resume_point(conversation_id: int) -> tuple[int, list[ToolCall], dict[str, str]]:
    """The next round (rounds are counted by assistant turns; tool results share their
    assistant's round), the calls still unanswered, and those of them that finished already."""
    messages = list(Message.objects.filter(conversation_id=conversation_id))
    round_number = sum(m.role == "assistant" for m in messages)
    pending = unanswered_calls(messages)
    reused = (
        recording.finished_results(conversation_id, round_number - 1, [c.id for c in pending])
        if pending
        else {}
    )
    return round_number, pending, reused


def unanswered_calls(messages: list[Message]) -> list[ToolCall]:
    """Tool calls of the last assistant message that have no result yet (written by hand, or
    cut off by a stop or a crash): they run before the model is asked again."""
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


def next_run_problem(messages: list[Message]) -> str | None:
    """What would fail the next run before the model is asked: `history_problem` of the history
    as that run sends it, once it has run the last turn's unanswered calls."""
    answers = [{"role": "tool", "tool_call_id": call.id} for call in unanswered_calls(messages)]
    return history_problem([m.payload for m in messages] + answers)


def problem_made(before: list[Message], after: list[Message]) -> str | None:
    """Why the next run could not send `after`, unless it could not send `before` for the same
    reason: a hand edit is refused for what it breaks, not for what was broken already."""
    problem = next_run_problem(after)
    return problem if problem and problem != next_run_problem(before) else None


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

    Its database work goes to `run_database` in as few trips as the record allows: one to
    start, one before and one after each model call, one to open a batch and one to close it
    with its tool messages, the recorder's writes, one to end.
    """
    worker = worker or leases.worker_identity()
    setup = await run_sync(_claim_and_load, conversation_id, worker)
    if setup is None:
        return await run_sync(leases.current_status, conversation_id)
    if isinstance(setup, str):
        await run_sync(leases.finish_run, conversation_id, worker, RunStatus.FAILED, setup)
        await live.publish(conversation_id, live.StatusChanged(RunStatus.FAILED))
        return RunStatus.FAILED
    await live.publish(conversation_id, live.StatusChanged(RunStatus.RUNNING))
    watch = leases.Watch(conversation_id, worker)
    try:
        status, failure = await _loop(conversation_id, setup)
    except RunLost:
        return await run_sync(leases.current_status, conversation_id)
    except (asyncio.CancelledError, StopRequested):
        if watch.lost:  # taken over or reaped: the record is no longer this worker's to write
            return await run_sync(leases.current_status, conversation_id)
        status, failure = RunStatus.STOPPED, "Stopped by a person."
    except Exception as exc:  # recorded, shown, and the conversation so far is kept
        status, failure = RunStatus.FAILED, f"The run failed: {type(exc).__name__}: {exc}"
    finally:
        watch.stop()
    closed = await run_sync(leases.finish_run, conversation_id, worker, status, failure)
    if closed is None:
        return await run_sync(leases.current_status, conversation_id)
    for batch_id in closed:  # the calls a stop cut short are redrawn as cancelled
        await live.publish(conversation_id, live.BatchFinished(batch_id))
    await live.publish(conversation_id, live.StatusChanged(status, failure))
    return status


@dataclass(frozen=True)
class Ended:
    """The run ends before the model is asked: with this status and reason."""

    status: str
    failure: str


def _before_model(
    conversation_id: int, setup: Setup, round_number: int
) -> tuple[dict[str, Any], ModelCall] | Ended:
    """Beat (or learn that the run is lost or stopped), check the quota, build the request from
    the stored messages and store it before it is sent: one trip to the database thread."""
    leases.keep(conversation_id, setup.worker)
    if refusal := quotas.model_call_refusal(setup.conversation.team_id):
        return Ended(RunStatus.FAILED, refusal)
    try:
        request = build_request(setup, _messages(conversation_id))
    except InconsistentHistory as exc:
        return Ended(RunStatus.FAILED, f"The history cannot be sent: {exc}")
    record = recording.start_model_call(
        conversation_id, round_number, {"model": setup.config.model, **request}
    )
    return request, record


async def _loop(conversation_id: int, setup: Setup) -> tuple[str, str]:
    conversation = setup.conversation
    round_number, pending, reused = await run_sync(_resume_point, conversation_id)
    if pending:
        # Calls that finished before a crash or a stop are not run again: tools may have acted.
        await live.publish(conversation_id, live.RoundStarted(round_number - 1))
        await _run_tools(conversation_id, round_number - 1, setup, pending, reused=reused)
    while round_number < conversation.max_rounds:
        prepared = await run_sync(_before_model, conversation_id, setup, round_number)
        if isinstance(prepared, Ended):
            return prepared.status, prepared.failure
        request, record = prepared
        answered = await _call_model(conversation_id, round_number, record, setup, request)
        if answered is None:
            return RunStatus.FAILED, await run_sync(_model_failure, conversation_id)
        turn, message = answered
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


def _record_turn(
    conversation_id: int, round_number: int, pk: int, turn: provider.AssistantTurn
) -> Message:
    """The answer on its model call and as the conversation's next message, in one trip."""
    recording.record_model_turn(pk, turn)
    return _append(conversation_id, round_number, turn.to_message())


async def _call_model(
    conversation_id: int,
    round_number: int,
    record: ModelCall,
    setup: Setup,
    request: dict[str, Any],
) -> tuple[provider.AssistantTurn, Message] | None:
    await live.publish(conversation_id, live.ModelStarted(round_number, record.pk))
    draft = live.Draft(conversation_id, round_number)
    started = timezone.now()
    try:
        turn = await provider.complete(setup.config, request, stream=True, on_delta=draft.on_delta)
    except provider.ProviderError as exc:
        await draft.flush()
        await run_sync(_record_model_error, record.pk, exc, started)
        await draft.forget()
        await live.publish(conversation_id, live.ModelFinished(round_number))
        return None
    except asyncio.CancelledError:
        # Stopped mid-stream: what was written is kept on the record, marked as cut off, and
        # the page's draft gives way to it (also after a reload).
        await draft.discard()
        calls = [(call.name, call.arguments) for call in draft.picture().calls]
        elapsed = (timezone.now() - started).total_seconds() * 1000
        await run_sync(recording.record_cut_off, record.pk, draft.text, calls, elapsed)
        await live.publish(conversation_id, live.ModelFinished(round_number))
        raise
    await draft.flush()
    message = await run_sync(_record_turn, conversation_id, round_number, record.pk, turn)
    await draft.forget()
    await live.publish(conversation_id, live.ModelFinished(round_number))
    return turn, message


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
    answers = reused or {}
    to_run = [call for call in calls if call.id not in answers]

    def tool_messages(results: list[CallResult]) -> list[dict[str, Any]]:
        ran = iter(results)
        return [
            {"role": "tool", "tool_call_id": call.id, "content": answers[call.id]}
            if call.id in answers
            else next(ran).to_message()
            for call in calls
        ]

    if to_run:
        messages = await _run_batch(
            conversation_id, round_number, setup, to_run, lead_ms, tool_messages
        )
    else:
        messages = await run_sync(
            recording.append_messages, conversation_id, tool_messages([]), round_number
        )
    for message in messages:
        await live.publish(conversation_id, live.MessageAdded(message.pk))


def _close_round(
    recorder: recording.ExecutionRecorder,
    outcome: BatchResult,
    conversation_id: int,
    round_number: int,
    payloads: list[dict[str, Any]],
) -> list[Message]:
    """The batch's totals and the round's tool messages, in one trip."""
    recorder.finish(outcome, refresh=False)
    return recording.append_messages(conversation_id, payloads, round_number)


async def _run_batch(
    conversation_id: int,
    round_number: int,
    setup: Setup,
    calls: list[ToolCall],
    lead_ms: float | None,
    tool_messages: Callable[[list[CallResult]], list[dict[str, Any]]],
) -> list[Message]:
    """Run the calls as one batch; returns the round's tool messages, stored."""
    conversation = setup.conversation
    options = BatchOptions(
        strategy=as_strategy(conversation.strategy), max_concurrency=conversation.max_concurrency
    )
    batch, specs = await run_sync(
        prepare_batch,
        team=conversation.team,
        versions=setup.versions,
        calls=calls,
        options=options,
        source=BatchSource.CONVERSATION,
        conversation=conversation,
        round_number=round_number,
    )
    recorder = recording.ExecutionRecorder(batch, calls, specs, offload=run_sync)
    bars = live.CallBars(conversation_id, round_number, batch.pk, calls, lead_ms)

    async def on_event(event: Event) -> None:
        recorder.on_event(event)
        await bars.on_event(event)

    async def approver(call: ToolCall, spec: ToolSpec) -> bool:
        # The page redraws the batch from the database when it asks: calls that ran are
        # written first, so none of them still shows as queued there.
        await recorder.settle()
        return await _await_approval(conversation_id, setup.worker, batch.pk, call.id)

    started = time.perf_counter()
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
    except asyncio.CancelledError:
        # Stopped: the engine gives the unfinished calls no result; they ran until now.
        recorder.cancelled(round((time.perf_counter() - started) * 1000, 3))
        bars.frames.discard()  # the closed batch is redrawn from the record instead
        raise
    finally:
        bars.stop()
        # Stopped or not, what finished is written before the run closes what did not.
        await recorder.settle()
    await bars.flush()
    messages = await run_sync(
        _close_round,
        recorder,
        outcome,
        conversation_id,
        round_number,
        tool_messages(outcome.results),
    )
    await live.publish(conversation_id, live.BatchFinished(batch.pk, round_number))
    return messages


async def _await_approval(conversation_id: int, worker: str, batch_id: int, call_id: str) -> bool:
    """Wait for a person's decision on a call (stored in the database, so any process works)."""
    await run_sync(_ask_approval, conversation_id, worker, batch_id, call_id)
    await live.publish(conversation_id, live.StatusChanged(RunStatus.WAITING))
    await live.publish(conversation_id, live.ApprovalAsked(batch_id, call_id))
    try:
        while True:
            decision = await run_sync(
                _approval_decision, conversation_id, worker, batch_id, call_id
            )
            if decision is not None:
                return decision
            await asyncio.sleep(APPROVAL_POLL_S)
    finally:
        await run_sync(_resume_after_approval, conversation_id, worker)
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
    "next_run_problem",
    "problem_made",
    "run_conversation",
    "tool_choice_for",
    "unanswered_calls",
    "wire_message",
]
