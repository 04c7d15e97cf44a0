"""Run a batch of tool calls through the engine and record every call as it happens.

One function, `run_batch`, serves the Batch lab, the "Try it" panel and (later) a conversation
round: it pins the tool versions, creates the Batch and one ToolExecution per call up front (so
a crash mid-batch leaves rows saying how far each call got), updates them from the engine's
events, and stores the results. Views and workers call it; it renders nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.db import transaction

from tools_app.engine import (
    BatchResult,
    CallResult,
    Event,
    EventKind,
    ToolCall,
    ToolSpec,
    execute_batch,
    execute_batch_sync,
)
from tools_app.models import Tool, ToolVersion
from tools_app.runtime import spec_for

from .models import Batch, BatchSource, BatchStatus, ExecutionStatus, ToolExecution

MAX_RESULT_CHARS = 64 * 1024


@dataclass(frozen=True)
class BatchOptions:
    strategy: str = "asyncio"
    max_concurrency: int | None = None
    fail_fast: bool = False
    # Whoever starts a lab batch or a Try it call is present and asked for it: that is the
    # approval of tools that require one (conversations ask per call instead).
    approve_all: bool = False


def _approve(call: ToolCall, spec: ToolSpec) -> bool:
    return True


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def latest_versions(tools: Sequence[Tool]) -> list[ToolVersion]:
    versions = (tool.versions.order_by("-number").first() for tool in tools if tool.version)
    return [version for version in versions if version is not None]


def prepare_batch(
    *,
    team: Any,
    versions: Sequence[ToolVersion],
    calls: Sequence[ToolCall],
    options: BatchOptions,
    source: str = BatchSource.LAB,
    user: Any = None,
    compare_group: uuid.UUID | None = None,
    conversation: Any = None,
    round_number: int | None = None,
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
            strategy=options.strategy,
            max_concurrency=options.max_concurrency,
            fail_fast=options.fail_fast,
            compare_group=compare_group,
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


class Recorder:
    """Subscribes to one batch's engine events and writes the records when it ends.

    Events arrive inside the engine's event loop, so this subscriber only notes what the final
    results do not carry (retry times) and touches the database once, at the end; the queued
    rows written up front are what a crash leaves behind for the reaper to mark.
    """

    def __init__(self, batch: Batch, calls: Sequence[ToolCall]) -> None:
        self.batch = batch
        self.retries: dict[str, list[float]] = {}

    def on_event(self, event: Event) -> None:
        if event.kind == EventKind.CALL_RETRYING and event.call_id is not None:
            self.retries.setdefault(event.call_id, []).append(round(event.t * 1000, 3))

    def finish(self, outcome: BatchResult) -> None:
        with transaction.atomic():
            for position, result in enumerate(outcome.results):
                ToolExecution.objects.filter(batch=self.batch, position=position).update(
                    retry_marks_ms=self.retries.get(result.call_id, []),
                    **execution_fields(result),
                )
            Batch.objects.filter(pk=self.batch.pk).update(
                status=BatchStatus.FINISHED,
                started_at=outcome.started_at,
                finished_at=outcome.finished_at,
                wall_ms=outcome.wall_s * 1000,
                sum_call_ms=outcome.sum_call_s * 1000,
                speedup=outcome.speedup,
            )
        self.batch.refresh_from_db()

    def fail(self, reason: str) -> None:
        Batch.objects.filter(pk=self.batch.pk).update(status=BatchStatus.FAILED, failure=reason)
        ToolExecution.objects.filter(
            batch=self.batch, status__in=[ExecutionStatus.QUEUED, ExecutionStatus.RUNNING]
        ).update(
            status=ExecutionStatus.ERROR,
            error_code="CANCELLED",
            error_message=f"The batch stopped before this call finished: {reason}",
        )
        self.batch.refresh_from_db()


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


def run_batch(
    *,
    team: Any,
    tools: Sequence[Tool],
    calls: Sequence[ToolCall],
    options: BatchOptions = BatchOptions(),
    source: str = BatchSource.LAB,
    user: Any = None,
    compare_group: uuid.UUID | None = None,
) -> Batch:
    """Run the calls now, in this thread, and return the recorded Batch."""
    batch, specs = prepare_batch(
        team=team,
        versions=latest_versions(tools),
        calls=calls,
        options=options,
        source=source,
        user=user,
        compare_group=compare_group,
    )
    recorder = Recorder(batch, calls)
    try:
        outcome = execute_batch_sync(
            calls,
            specs,
            strategy=options.strategy,
            max_concurrency=options.max_concurrency,
            fail_fast=options.fail_fast,
            on_event=recorder.on_event,
            approver=_approve if options.approve_all else None,
        )
    except Exception as exc:
        recorder.fail(f"{type(exc).__name__}: {exc}")
        raise
    recorder.finish(outcome)
    return batch


async def arun_batch(**kwargs: Any) -> Batch:
    """`run_batch` for async callers (consumers, the conversation loop)."""
    return await sync_to_async(run_batch, thread_sensitive=False)(**kwargs)


__all__ = ["BatchOptions", "Recorder", "arun_batch", "execute_batch", "new_call_id", "run_batch"]
