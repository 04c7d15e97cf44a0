"""The model loop: request → streamed assistant turn → tool calls run in parallel → all results
back in one request → … → a final answer, a stop, the round limit or an error.

`run_conversation` is the one entry point every dispatcher (inline task, channels worker,
Celery task) calls. Its state lives in the database (status, heartbeat, messages, model calls,
batches), so a run can be watched from any process and a dead worker's run found and marked.
It never loses what happened so far: every message is stored as soon as it exists.
"""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from fcstudio.secrets import SecretError
from tools_app.engine import CallResult, Event, EventKind, ToolCall, ToolSpec, execute_batch
from tools_app.models import ToolVersion

from . import live, provider, recording
from .compose import tools_for
from .execution import BatchOptions, as_strategy, prepare_batch
from .models import (
    ACTIVE_STATUSES,
    TAKEOVER_AFTER,
    Batch,
    BatchSource,
    Conversation,
    Message,
    ModelCall,
    RunStatus,
    ToolExecution,
)
from .providers import provider_config
from .view_models import LiveRow

APPROVAL_POLL_S = 0.2
REVIEW_NOTE = "Paused to review the tool results: edit any of them, then Continue."
# A live run refreshes its heartbeat every HEARTBEAT_EVERY (and between rounds). A redelivered
# task may take over a run whose heartbeat is older than TAKEOVER_AFTER; the reaper marks runs
# older than STALE_AFTER failed. Takeover comes first, so a lost run is resumed when a worker
# holds its message, and marked when none does.
STOP_POLL = timedelta(seconds=0.5)
HEARTBEAT_EVERY = timedelta(seconds=10)
STALE_AFTER = timedelta(minutes=2)
CLAIMABLE_STATUSES = (RunStatus.DRAFT, RunStatus.QUEUED)
DRIVEN_STATUSES = (RunStatus.RUNNING, RunStatus.WAITING)


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class StopRequested(Exception):
    pass


@dataclass
class Setup:
    conversation: Conversation
    config: provider.ProviderConfig
    tools: list[dict[str, Any]]
    versions: list[ToolVersion]


def _load(conversation_id: int) -> Setup:
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
    )


def _set_status(conversation_id: int, status: str, failure: str = "", **extra: Any) -> None:
    Conversation.objects.filter(pk=conversation_id).update(
        status=status, failure=failure, heartbeat_at=timezone.now(), **extra
    )


def _heartbeat(conversation_id: int) -> bool:
    """Refresh the heartbeat; True when a stop was asked for."""
    Conversation.objects.filter(pk=conversation_id).update(heartbeat_at=timezone.now())
    return Conversation.objects.filter(pk=conversation_id, stop_requested=True).exists()


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


def build_request(setup: Setup, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The Chat Completions body (without model and stream), exactly as it will be sent."""
    conversation = setup.conversation
    request: dict[str, Any] = {"messages": [wire_message(m) for m in messages]}
    if setup.tools:
        request["tools"] = setup.tools
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

    The run is claimed first (`claim_run`), so two workers never drive it at once: a run that
    another live worker drives, or that has ended, is left alone and its status returned.
    """
    worker = worker or worker_identity()
    if not await sync_to_async(claim_run)(conversation_id, worker):
        return await sync_to_async(_current_status)(conversation_id)
    try:
        setup = await sync_to_async(_load)(conversation_id)
    except (Conversation.DoesNotExist, ValueError, SecretError) as exc:
        await sync_to_async(_set_status)(conversation_id, RunStatus.FAILED, str(exc))
        await live.publish(conversation_id, {"kind": "status", "status": RunStatus.FAILED})
        return RunStatus.FAILED
    await live.publish(conversation_id, {"kind": "status", "status": RunStatus.RUNNING})
    beat = _Heartbeat(conversation_id, worker)
    try:
        status, failure = await _loop(conversation_id, setup)
    except (asyncio.CancelledError, StopRequested):
        if beat.lost:  # taken over or reaped: the record is no longer this worker's to write
            return await sync_to_async(_current_status)(conversation_id)
        status, failure = RunStatus.STOPPED, "Stopped by a person."
    except Exception as exc:  # recorded, shown, and the conversation so far is kept
        status, failure = RunStatus.FAILED, f"The run failed: {type(exc).__name__}: {exc}"
    finally:
        beat.stop()
    if not await sync_to_async(_finish_owned)(conversation_id, worker, status, failure):
        return await sync_to_async(_current_status)(conversation_id)
    await live.publish(conversation_id, {"kind": "status", "status": status, "failure": failure})
    return status


def _finish(conversation_id: int, status: str, failure: str) -> None:
    _set_status(conversation_id, status, failure, stop_requested=False)
    # Calls a stop or a crash interrupted are marked, never left "running".
    _close_open_calls(conversation_id, failure or status)


def _close_open_calls(conversation_id: int, reason: str) -> list[int]:
    """Unfinished calls become CANCELLED and running batches failed, with the reason (finished
    calls keep their results, for a resumed run to reuse); returns the batches it closed."""
    return recording.close_batches(Batch.objects.filter(conversation_id=conversation_id), reason)


async def _loop(conversation_id: int, setup: Setup) -> tuple[str, str]:
    conversation = setup.conversation
    round_number = await sync_to_async(_next_round)(conversation_id)
    pending = await sync_to_async(_unanswered_calls)(conversation_id)
    if pending:
        # Calls that finished before a crash or a stop are not run again: tools may have acted.
        reused = await sync_to_async(recording.finished_results)(
            conversation_id, round_number - 1, [call.id for call in pending]
        )
        await live.publish(conversation_id, {"kind": "round_started", "round": round_number - 1})
        await _run_tools(conversation_id, round_number - 1, setup, pending, reused=reused)
    while round_number < conversation.max_rounds:
        if await sync_to_async(_heartbeat)(conversation_id):
            raise StopRequested
        messages = await sync_to_async(_messages)(conversation_id)
        request = build_request(setup, messages)
        turn = await _call_model(conversation_id, round_number, setup, request)
        if turn is None:
            return RunStatus.FAILED, await sync_to_async(_model_failure)(conversation_id)
        message = await sync_to_async(_append)(conversation_id, round_number, turn.to_message())
        await live.publish(conversation_id, {"kind": "message", "message_id": message.pk})
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
    await live.publish(
        conversation_id,
        {"kind": "model_started", "round": round_number, "model_call_id": record.pk},
    )

    # What the model has written so far: its text and every parallel call by index.
    text = ""
    drafts: dict[int, dict[str, Any]] = {}

    frames = live.Frames(conversation_id)

    def picture() -> dict[str, Any]:
        calls = [drafts[index] for index in sorted(drafts)]
        return {"kind": "delta", "round": round_number, "text": text, "calls": calls}

    async def on_delta(delta: provider.Delta) -> None:
        nonlocal text
        if delta.kind == "text":
            text = delta.accumulated
        else:
            drafts[delta.index] = {
                "index": delta.index,
                "name": delta.call_name,
                "arguments": delta.accumulated,
            }
        await frames.offer(picture)

    started = timezone.now()
    try:
        turn = await provider.complete(setup.config, request, stream=True, on_delta=on_delta)
    except provider.ProviderError as exc:
        await frames.flush()
        await sync_to_async(_record_model_error)(record.pk, exc, started)
        await live.publish(conversation_id, {"kind": "model_finished", "round": round_number})
        return None
    await frames.flush()
    await sync_to_async(recording.record_model_turn)(record.pk, turn)
    await live.publish(conversation_id, {"kind": "model_finished", "round": round_number})
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
        await live.publish(conversation_id, {"kind": "message", "message_id": message.pk})


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
    bars = {call.id: LiveRow(tool_name=call.name, tool_call_id=call.id) for call in calls}
    order = [call.id for call in calls]
    latest_ms = 0.0

    async def on_event(event: Event) -> None:
        recorder.on_event(event)
        bar = bars.get(event.call_id or "")
        if bar is None:
            return
        ms = round(event.t * 1000, 3)
        if event.kind == EventKind.CALL_QUEUED:
            bar.queued_ms = ms
        elif event.kind == EventKind.CALL_STARTED:
            bar.status = "running"
            bar.attempts += 1
            if bar.started_ms is None:
                bar.started_ms = ms
        elif event.kind == EventKind.CALL_RETRYING:
            bar.retry_marks_ms.append(ms)
        elif event.kind == EventKind.CALL_AWAITING_APPROVAL:
            bar.status = "waiting"
        elif event.kind == EventKind.CALL_FINISHED:
            bar.status = event.data.get("status", "ok")
            error = event.data.get("error") or {}
            bar.error_code = error.get("code", "")
            bar.finished_ms = ms
        else:
            return
        nonlocal latest_ms
        latest_ms = ms
        await frames.offer(picture)

    frames = live.Frames(conversation_id)

    def picture() -> dict[str, Any]:
        return {
            "kind": "calls",
            "round": round_number,
            "batch_id": batch.pk,
            "now_ms": latest_ms,
            "lead_ms": lead_ms,
            "calls": [asdict(bars[call_id]) for call_id in order],
        }

    async def approver(call: ToolCall, spec: ToolSpec) -> bool:
        return await _await_approval(conversation_id, batch.pk, call.id)

    try:
        outcome = await execute_batch(
            calls,
            specs,
            strategy=options.strategy,
            max_concurrency=options.max_concurrency,
            approver=approver,
            on_event=on_event,
        )
    finally:
        # Stopped or not, what finished is written before the run closes what did not.
        await recorder.settle()
    await frames.flush()
    await sync_to_async(recorder.finish)(outcome)
    await live.publish(
        conversation_id, {"kind": "batch_finished", "round": round_number, "batch_id": batch.pk}
    )
    return outcome.results


async def _await_approval(conversation_id: int, batch_id: int, call_id: str) -> bool:
    """Wait for a person's decision on a call (stored in the database, so any process works)."""
    await sync_to_async(_ask_approval)(conversation_id, batch_id, call_id)
    await live.publish(conversation_id, {"kind": "status", "status": RunStatus.WAITING})
    await live.publish(
        conversation_id, {"kind": "approval", "batch_id": batch_id, "call_id": call_id}
    )
    try:
        while True:
            decision = await sync_to_async(_approval_decision)(conversation_id, batch_id, call_id)
            if decision is not None:
                return decision
            await asyncio.sleep(APPROVAL_POLL_S)
    finally:
        await sync_to_async(_resume_after_approval)(conversation_id)
        await live.publish(conversation_id, {"kind": "status", "status": RunStatus.RUNNING})


def _ask_approval(conversation_id: int, batch_id: int, call_id: str) -> None:
    ToolExecution.objects.filter(batch_id=batch_id, tool_call_id=call_id).update(approval="pending")
    _set_status(conversation_id, RunStatus.WAITING)


def _approval_decision(conversation_id: int, batch_id: int, call_id: str) -> bool | None:
    if _heartbeat(conversation_id):
        raise StopRequested
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


def _resume_after_approval(conversation_id: int) -> None:
    still_waiting = ToolExecution.objects.filter(
        batch__conversation_id=conversation_id, approval="pending"
    ).exists()
    if not still_waiting:
        Conversation.objects.filter(pk=conversation_id, status=RunStatus.WAITING).update(
            status=RunStatus.RUNNING
        )


def reap_stale_runs(now: Any = None, stale_after: timedelta = STALE_AFTER) -> int:
    """Mark runs whose worker stopped sending heartbeats as failed, with the reason, and tell
    the pages watching them. The one reaper the command, the Celery beat task and the embedded
    reaper (`dispatch.reap_periodically`) all call.

    Each run is marked with a compare-and-set on its status and heartbeat, so a run a worker
    claimed (or finished) in the meantime is left alone.
    """
    now = now or timezone.now()
    cutoff = now - stale_after
    stale = Q(status__in=ACTIVE_STATUSES) & (
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True)
    )
    reaped: dict[int, list[int]] = {}
    for pk, status, worker in Conversation.objects.filter(stale).values_list(
        "pk", "status", "worker"
    ):
        if status == RunStatus.QUEUED:
            reason = (
                f"No worker started the run within {stale_after.total_seconds():g} s; "
                "the run was marked failed. Is a worker running? Re-run it to try again."
            )
        else:
            reason = (
                f"The worker {worker or '(unknown)'} stopped responding; "
                "the run was marked failed. Re-run it to continue from the last message."
            )
        with transaction.atomic():
            marked = (
                Conversation.objects.filter(stale, pk=pk).update(
                    status=RunStatus.FAILED,
                    failure=reason,
                    stop_requested=False,
                    heartbeat_at=timezone.now(),
                )
                == 1
            )
            if marked:
                reaped[pk] = mark_interrupted(pk, reason)
    for pk, batch_ids in reaped.items():
        _announce_closed(pk, RunStatus.FAILED, batch_ids)
    return len(reaped)


def stop_silent_run(conversation_id: int, now: Any = None) -> bool:
    """Stop at once a run that no worker drives, instead of waiting for one to see the flag,
    and tell the pages watching it.

    That is a queued run no worker has claimed yet, or a running (or waiting) one whose worker
    stopped beating (older than TAKEOVER_AFTER, as `Conversation.is_stale`). What it left open
    is closed with the reason. A compare-and-set under the same lock as `claim_run`: a worker
    that claims the run first keeps it, and the caller falls back to the stop flag (False).
    """
    now = now or timezone.now()
    silent = Q(status=RunStatus.QUEUED) | Q(
        Q(heartbeat_at__lt=now - TAKEOVER_AFTER) | Q(heartbeat_at__isnull=True),
        status__in=DRIVEN_STATUSES,
    )
    with transaction.atomic():
        found = (
            Conversation.objects.select_for_update()
            .filter(silent, pk=conversation_id)
            .values_list("status", "worker")
            .first()
        )
        if found is None:
            return False
        status, worker = found
        if status == RunStatus.QUEUED:
            reason = "Stopped by a person before a worker started the run."
        else:
            reason = (
                f"Stopped by a person; the worker {worker or '(unknown)'} had stopped responding."
            )
        Conversation.objects.filter(pk=conversation_id).update(
            status=RunStatus.STOPPED,
            failure=reason,
            stop_requested=False,
            heartbeat_at=timezone.now(),
        )
        closed = mark_interrupted(conversation_id, reason)
    _announce_closed(conversation_id, RunStatus.STOPPED, closed)
    return True


def claim_wait(conversation_id: int, now: Any = None) -> float | None:
    """Seconds until a worker may claim the run: 0 now, None never (it ended, or is gone).

    A draft or queued run is claimable at once; a running (or waiting) run once its heartbeat is
    older than TAKEOVER_AFTER, i.e. its worker is presumed dead; a finished, failed or stopped
    run never (a person re-runs it, which queues it again).
    """
    row = Conversation.objects.filter(pk=conversation_id).values_list("status", "heartbeat_at")
    found = row.first()
    if found is None:
        return None
    status, heartbeat_at = found
    if status in CLAIMABLE_STATUSES or (status in DRIVEN_STATUSES and heartbeat_at is None):
        return 0.0
    if status in DRIVEN_STATUSES and heartbeat_at is not None:
        due = heartbeat_at + TAKEOVER_AFTER - (now or timezone.now())
        return max(0.0, due.total_seconds())
    return None


def claim_run(conversation_id: int, worker: str, now: Any = None) -> bool:
    """Compare-and-set: make `worker` the one driver of the run, if it is claimable now.

    Taking over a run from a worker presumed dead marks what that worker left unfinished (its
    batch, calls and model call) with the reason, before the run resumes from its last message.
    """
    now = now or timezone.now()
    claimable = Q(status__in=CLAIMABLE_STATUSES) | Q(
        Q(heartbeat_at__lt=now - TAKEOVER_AFTER) | Q(heartbeat_at__isnull=True),
        status__in=DRIVEN_STATUSES,
    )
    with transaction.atomic():
        found = (
            Conversation.objects.select_for_update()
            .filter(claimable, pk=conversation_id, recorded=False)
            .values_list("status", "worker")
            .first()
        )
        if found is None:
            return False
        previous_status, previous_worker = found
        Conversation.objects.filter(pk=conversation_id).update(
            status=RunStatus.RUNNING, failure="", worker=worker, heartbeat_at=timezone.now()
        )
        if previous_status in DRIVEN_STATUSES:
            mark_interrupted(
                conversation_id,
                f"The worker {previous_worker or '(unknown)'} stopped responding; "
                f"{worker} resumed the run.",
            )
    return True


def _current_status(conversation_id: int) -> str:
    status = Conversation.objects.filter(pk=conversation_id).values_list("status", flat=True)
    return status.first() or RunStatus.FAILED


def _finish_owned(conversation_id: int, worker: str, status: str, failure: str) -> bool:
    """`_finish`, unless the run was taken over or reaped meanwhile (then False)."""
    with transaction.atomic():
        owned = (
            Conversation.objects.select_for_update()
            .filter(pk=conversation_id, worker=worker, status__in=ACTIVE_STATUSES)
            .exists()
        )
        if owned:
            _finish(conversation_id, status, failure)
    return owned


def mark_interrupted(conversation_id: int, reason: str) -> list[int]:
    """What a dead worker left open is closed with the reason; nothing stays "running".
    Returns the batches it closed."""
    closed = _close_open_calls(conversation_id, reason)
    recording.interrupt_model_calls(conversation_id, reason)
    return closed


def _announce_closed(conversation_id: int, status: str, batch_ids: list[int]) -> None:
    """Tell the pages watching a run that was closed outside its worker: its batches' calls
    and its status are redrawn. For sync callers (a view, the reaper in any process)."""

    async def announce() -> None:
        for batch_id in batch_ids:
            await live.publish(conversation_id, {"kind": "batch_finished", "batch_id": batch_id})
        await live.publish(conversation_id, {"kind": "status", "status": status})

    async_to_sync(announce)()


def _touch(conversation_id: int, worker: str) -> bool:
    """Refresh the heartbeat of a run this worker still owns; False once it does not."""
    owned = Conversation.objects.filter(
        pk=conversation_id, worker=worker, status__in=ACTIVE_STATUSES
    )
    return owned.update(heartbeat_at=timezone.now()) == 1


class _Heartbeat:
    """Watches the run's task while it works (a long model call or tool batch included): polls
    for a person's stop every STOP_POLL and beats every HEARTBEAT_EVERY. A stop cancels the task
    (the run ends "stopped"); a run that is no longer this worker's cancels it and sets `lost`.
    A stop thus reaches runs in any process, not only inline ones."""

    def __init__(self, conversation_id: int, worker: str) -> None:
        self.lost = False
        self._run = asyncio.current_task()
        self._task = asyncio.get_running_loop().create_task(self._beat(conversation_id, worker))

    async def _beat(self, conversation_id: int, worker: str) -> None:
        since_beat = 0.0
        while True:
            await asyncio.sleep(STOP_POLL.total_seconds())
            since_beat += STOP_POLL.total_seconds()
            if await sync_to_async(_stop_asked)(conversation_id):
                break
            if since_beat >= HEARTBEAT_EVERY.total_seconds():
                since_beat = 0.0
                if not await sync_to_async(_touch)(conversation_id, worker):
                    self.lost = True
                    break
        if self._run is not None:
            self._run.cancel()

    def stop(self) -> None:
        self._task.cancel()


def _stop_asked(conversation_id: int) -> bool:
    return Conversation.objects.filter(pk=conversation_id, stop_requested=True).exists()


__all__ = [
    "build_request",
    "claim_run",
    "claim_wait",
    "reap_stale_runs",
    "run_conversation",
    "stop_silent_run",
]
