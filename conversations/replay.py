"""Replay: a recorded conversation's tool calls run again against the team's current tools.

The model's turns are taken from the recording: each recorded batch's calls (the assistant
message's tool_calls, as `recording.app_executions` stored them) run through the studio's batch
path (`execution.run_batch`, the one write path), as a "replay" batch pointing at the recorded
one; the batches of one replay share a group. A name no tool of the team has any more yields
FUNCTION_NOT_FOUND, as the engine answers any unknown name. The comparison of old and new is
read back from the records; nothing here renders.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from tools_app.engine import ToolCall
from tools_app.models import Tool

from .execution import BatchOptions, run_batch
from .json_diff import Change, json_diff
from .models import (
    Batch,
    BatchSource,
    Conversation,
    ExecutionStatus,
    ReplayJob,
    ReplayJobStatus,
    ToolExecution,
)

logger = logging.getLogger(__name__)


def recorded_batches(conversation: Conversation) -> list[Batch]:
    return list(
        conversation.batches.filter(source=BatchSource.RECORDED)
        .prefetch_related("executions")
        .order_by("round", "pk")
    )


def current_tools(team: Any, names: set[str]) -> list[Tool]:
    """The team's tools by these names, one per name (its first catalog's, by name), each to
    run at its latest version."""
    found: dict[str, Tool] = {}
    tools = Tool.objects.filter(catalog__team=team, name__in=names).select_related("catalog")
    for tool in tools.order_by("catalog__name", "pk"):
        found.setdefault(tool.name, tool)
    return list(found.values())


def replay_conversation(conversation: Conversation, *, user: Any = None) -> uuid.UUID:
    """Run every recorded batch's calls again, now; returns the replay's group."""
    group = Batch.new_compare_group()
    batches = recorded_batches(conversation)
    names = {e.tool_name for b in batches for e in b.executions.all()}
    tools = current_tools(conversation.team, names)
    for recorded in batches:
        calls = [
            ToolCall(id=e.tool_call_id, name=e.tool_name, arguments=e.raw_arguments)
            for e in recorded.executions.all()
        ]
        run_batch(
            team=conversation.team,
            tools=tools,
            calls=calls,
            # The person who asks for a replay is present: that approves tools needing it.
            options=BatchOptions(approve_all=True),
            source=BatchSource.REPLAY,
            user=user,
            compare_group=group,
            replay_of=recorded,
        )
    return group


# -- reading a replay back -------------------------------------------------------------------


@dataclass
class CallComparison:
    old: ToolExecution
    new: ToolExecution | None
    changes: list[Change] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        """ "same", "changed", "newly failing" or "fixed" (failing before, not now)."""
        new = self.new
        if new is None:
            return "changed"
        old_ok = self.old.status == ExecutionStatus.OK
        new_ok = new.status == ExecutionStatus.OK
        if old_ok and not new_ok:
            return "newly failing"
        if new_ok and not old_ok:
            return "fixed"
        if self.changes or self.old.error_code != new.error_code:
            return "changed"
        return "same"


@dataclass
class RoundComparison:
    round: int
    recorded: Batch
    replayed: Batch
    calls: list[CallComparison]


@dataclass
class ReplayReport:
    group: uuid.UUID
    rounds: list[RoundComparison]

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.rounds for c in r.calls if c.outcome == outcome)

    @property
    def same_count(self) -> int:
        return self.count("same")

    @property
    def changed_count(self) -> int:
        return self.count("changed")

    @property
    def newly_failing_count(self) -> int:
        return self.count("newly failing")

    @property
    def fixed_count(self) -> int:
        return self.count("fixed")

    @property
    def started_at(self) -> Any:
        return self.rounds[0].replayed.created_at if self.rounds else None


def _value(execution: ToolExecution) -> Any:
    """What a call gave back: its result, or its error by code and message."""
    if execution.status == ExecutionStatus.OK:
        return execution.result
    return {"error": {"code": execution.error_code, "message": execution.error_message}}


def compare(recorded: Batch, replayed: Batch) -> list[CallComparison]:
    new_by_position = {e.position: e for e in replayed.executions.all()}
    comparisons = []
    for old in recorded.executions.all():
        new = new_by_position.get(old.position)
        changes = json_diff(_value(old), _value(new)) if new is not None else []
        comparisons.append(CallComparison(old, new, changes))
    return comparisons


def replay_report(conversation: Conversation, group: uuid.UUID) -> ReplayReport | None:
    """One replay of this conversation, round by round; None when there is no such replay."""
    replayed = list(
        Batch.objects.filter(
            team=conversation.team, replay_of__conversation=conversation, compare_group=group
        )
        .select_related("replay_of")
        .prefetch_related("executions", "replay_of__executions")
        .order_by("replay_of__round", "replay_of_id")
    )
    if not replayed:
        return None
    rounds = []
    for batch in replayed:
        recorded = batch.replay_of
        assert recorded is not None  # the filter above follows replay_of
        rounds.append(
            RoundComparison(recorded.round or 0, recorded, batch, compare(recorded, batch))
        )
    return ReplayReport(group, rounds)


def past_replays(conversation: Conversation) -> list[dict[str, Any]]:
    """Each replay of this conversation (its group and when it ran), newest first."""
    rows = (
        Batch.objects.filter(replay_of__conversation=conversation)
        .order_by("-created_at", "-pk")
        .values_list("compare_group", "created_at", "created_by__username")
    )
    seen: dict[Any, dict[str, Any]] = {}
    for group, created_at, username in rows:
        seen.setdefault(group, {"group": group, "at": created_at, "by": username or ""})
    return list(seen.values())


# -- many conversations, in the background ---------------------------------------------------


def recordings(team: Any, api_token: Any = None) -> QuerySet[Conversation]:
    """The team's recorded conversations that hold tool calls (one token's, if given), oldest
    first."""
    found = Conversation.objects.filter(
        team=team, recorded=True, batches__source=BatchSource.RECORDED
    ).distinct()
    if api_token is not None:
        found = found.filter(api_token=api_token)
    return found.order_by("created_at", "pk")


def new_replay_job(team: Any, *, api_token: Any = None, user: Any = None) -> ReplayJob:
    """A queued job over the recordings as they are now (`dispatch.start_replay_job` runs it)."""
    return ReplayJob.objects.create(
        team=team,
        api_token=api_token,
        total=recordings(team, api_token).count(),
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )


def run_replay_job(job_id: int) -> str:
    """Replay each conversation of a queued job, writing a summary per conversation as it is
    done; a job already claimed (another delivery of its message) is left alone."""
    claimed = ReplayJob.objects.filter(pk=job_id, status=ReplayJobStatus.QUEUED).update(
        status=ReplayJobStatus.RUNNING
    )
    if not claimed:
        return "skipped"
    job = ReplayJob.objects.select_related("team", "created_by").get(pk=job_id)
    try:
        for conversation in recordings(job.team, job.api_token):
            group = replay_conversation(conversation, user=job.created_by)
            report = replay_report(conversation, group)
            assert report is not None  # the replay just wrote its batches
            job.results.append(
                {
                    "conversation": conversation.pk,
                    "title": conversation.title,
                    "group": str(group),
                    "same": report.same_count,
                    "changed": report.changed_count,
                    "newly_failing": report.newly_failing_count,
                    "fixed": report.fixed_count,
                }
            )
            ReplayJob.objects.filter(pk=job.pk).update(results=job.results)
    except Exception as exc:
        logger.exception("Replay job %s failed", job_id)
        ReplayJob.objects.filter(pk=job.pk).update(
            status=ReplayJobStatus.FAILED,
            failure=f"{type(exc).__name__}: {exc}",
            finished_at=timezone.now(),
        )
        return "failed"
    ReplayJob.objects.filter(pk=job.pk).update(
        status=ReplayJobStatus.FINISHED, finished_at=timezone.now()
    )
    return "finished"


__all__ = [
    "CallComparison",
    "ReplayReport",
    "compare",
    "current_tools",
    "new_replay_job",
    "past_replays",
    "recorded_batches",
    "recordings",
    "replay_conversation",
    "replay_report",
    "run_replay_job",
]
