"""Run a batch of tool calls through the engine now, for the Batch lab and the "Try it" panel.

`run_batch` pins the tool versions and runs the calls; `conversations.recording` writes the
Batch and each call's state as it happens (the same write path a conversation round uses).
Views call it; it renders nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async

from tools_app.engine import (
    STRATEGIES,
    ExecutionOptions,
    Strategy,
    ToolCall,
    ToolSpec,
    execute_batch,
)
from tools_app.models import Tool, ToolVersion
from tools_app.runtime import tool_limiter

from . import recording
from .models import Batch, BatchSource
from .recording import MAX_RESULT_CHARS, ExecutionRecorder


def as_strategy(name: str) -> Strategy:
    """A stored strategy name as the engine's type (the forms store only the engine's names)."""
    for strategy in STRATEGIES:
        if strategy == name:
            return strategy
    raise ValueError(f"unknown strategy {name!r}")


@dataclass(frozen=True)
class BatchOptions(ExecutionOptions):
    """The engine's options of a batch the studio starts, plus what only the studio decides."""

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
    replay_of: Batch | None = None,
) -> tuple[Batch, dict[str, ToolSpec]]:
    """Create the Batch and its queued executions; return them with the pinned specs."""
    return recording.open_batch(
        team=team,
        versions=versions,
        calls=calls,
        strategy=options.strategy,
        max_concurrency=options.max_concurrency,
        fail_fast=options.fail_fast,
        source=source,
        user=user,
        compare_group=compare_group,
        conversation=conversation,
        round_number=round_number,
        replay_of=replay_of,
    )


def run_batch(
    *,
    team: Any,
    tools: Sequence[Tool],
    calls: Sequence[ToolCall],
    options: BatchOptions = BatchOptions(),
    source: str = BatchSource.LAB,
    user: Any = None,
    compare_group: uuid.UUID | None = None,
    replay_of: Batch | None = None,
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
        replay_of=replay_of,
    )
    return async_to_sync(_record_batch)(batch, calls, specs, options)


async def _record_batch(
    batch: Batch, calls: Sequence[ToolCall], specs: dict[str, ToolSpec], options: BatchOptions
) -> Batch:
    recorder = ExecutionRecorder(batch, calls, specs)
    try:
        outcome = await execute_batch(
            calls,
            specs,
            replace(
                options,
                on_event=recorder.on_event,
                approver=_approve if options.approve_all else options.approver,
                limiter=tool_limiter(batch.team_id),
            ),
        )
    except Exception as exc:
        await recorder.settle()
        await sync_to_async(recorder.fail)(f"{type(exc).__name__}: {exc}")
        raise
    await recorder.settle()
    await sync_to_async(recorder.finish)(outcome)
    return batch


async def arun_batch(**kwargs: Any) -> Batch:
    """`run_batch` for async callers (consumers)."""
    return await sync_to_async(run_batch, thread_sensitive=False)(**kwargs)


__all__ = [
    "MAX_RESULT_CHARS",
    "BatchOptions",
    "arun_batch",
    "execute_batch",
    "new_call_id",
    "prepare_batch",
    "run_batch",
]
