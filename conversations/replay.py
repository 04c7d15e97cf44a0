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
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from tools_app.engine import ToolCall
from tools_app.models import Tool

from . import recording
from .execution import BatchOptions, run_batch
from .json_diff import Change, json_diff
from .leases import HEARTBEAT_EVERY, worker_identity
from .leases import STALE_AFTER as REPLAY_STALE_AFTER
from .models import (
    TAKEOVER_AFTER,
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


def replay_conversation(
    conversation: Conversation,
    *,
    user: Any = None,
    group: uuid.UUID | None = None,
    before_round: Callable[[], None] | None = None,
) -> uuid.UUID:
    """Run every recorded batch's calls again, now; returns the replay's group. A job beats
    in `before_round` (which may raise to stop it)."""
    group = group or Batch.new_compare_group()
    batches = recorded_batches(conversation)
    names = {e.tool_name for b in batches for e in b.executions.all()}
    tools = current_tools(conversation.team, names)
    for recorded in batches:
        if before_round is not None:
            before_round()
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


# -- in the background: one conversation or many -----------------------------------------------

# How many times a job whose worker went silent is queued again before it is marked failed.
MAX_REPLAY_ATTEMPTS = 3
# A queued job's message is sent again after STALE_AFTER, then twice as long, and so on, up to
# 2**MAX_RESEND_DOUBLINGS times STALE_AFTER between two sends.
MAX_RESEND_DOUBLINGS = 5


class ReplayJobLost(Exception):
    """The job is no longer this worker's (queued again or marked failed): it writes no more."""


def recordings(team: Any, api_token: Any = None) -> QuerySet[Conversation]:
    """The team's recorded conversations that hold tool calls (one token's, if given), oldest
    first."""
    found = Conversation.objects.filter(
        team=team, recorded=True, batches__source=BatchSource.RECORDED
    ).distinct()
    if api_token is not None:
        found = found.filter(api_token=api_token)
    return found.order_by("created_at", "pk")


def new_replay_job(
    team: Any, *, api_token: Any = None, conversation: Conversation | None = None, user: Any = None
) -> ReplayJob:
    """A queued job over one recorded conversation, or the recordings as they are now
    (`dispatch.start_replay_job` runs it)."""
    return ReplayJob.objects.create(
        team=team,
        api_token=api_token,
        conversation=conversation,
        total=1 if conversation is not None else recordings(team, api_token).count(),
        heartbeat_at=timezone.now(),
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )


def replay_job_for(conversation: Conversation, *, user: Any = None) -> tuple[ReplayJob, bool]:
    """A queued job replaying this one conversation, and True; or the job already replaying it
    (a double click, a second tab) whose worker still beats, and False. The conversation's row
    is locked meanwhile, so two requests at once make one job."""
    with transaction.atomic():
        Conversation.objects.select_for_update().filter(pk=conversation.pk).exists()
        active = (
            ReplayJob.objects.filter(
                conversation=conversation,
                status__in=(ReplayJobStatus.QUEUED, ReplayJobStatus.RUNNING),
            )
            .order_by("-pk")
            .first()
        )
        if active is not None and not active.is_stale:
            return active, False
        return new_replay_job(conversation.team, conversation=conversation, user=user), True


def job_conversations(job: ReplayJob) -> list[Conversation]:
    """What the job has still to replay: its conversations not yet in `results`."""
    done = {row.get("conversation") for row in job.results}
    if job.conversation is not None:
        todo = [job.conversation]
    else:
        # The recordings as they were when the job was made, so a resumed job does not grow.
        todo = list(recordings(job.team, job.api_token).filter(created_at__lte=job.created_at))
    return [conversation for conversation in todo if conversation.pk not in done]


def claim_job(job_id: int, worker: str) -> bool:
    """Compare-and-set: make `worker` the one runner of a queued job. A second delivery of the
    job's message (or a second thread) finds it claimed and does nothing."""
    claimed = ReplayJob.objects.filter(pk=job_id, status=ReplayJobStatus.QUEUED).update(
        status=ReplayJobStatus.RUNNING,
        worker=worker,
        failure="",
        heartbeat_at=timezone.now(),
        resends=0,
    )
    return claimed == 1


def _owned(job_id: int, worker: str) -> QuerySet[ReplayJob]:
    return ReplayJob.objects.filter(pk=job_id, worker=worker, status=ReplayJobStatus.RUNNING)


def job_beat(job_id: int, worker: str, **changes: Any) -> None:
    """Refresh the heartbeat (and write `changes`) of a job this worker still runs; raise
    ReplayJobLost once it does not."""
    if not _owned(job_id, worker).update(heartbeat_at=timezone.now(), **changes):
        raise ReplayJobLost


def _beat_while(job_id: int, worker: str, stopped: threading.Event) -> None:
    """Beat every HEARTBEAT_EVERY while the job works: a round of slow calls may take longer
    than STALE_AFTER, and the job is not silent for that."""
    try:
        while not stopped.wait(HEARTBEAT_EVERY.total_seconds()):
            try:
                job_beat(job_id, worker)
            except ReplayJobLost:
                return  # the job's own next beat finds out and stops
            except DatabaseError:  # the next beat tries again; a missed one only ages the last
                logger.warning("Replay job %s could not record its heartbeat", job_id)
    finally:
        connection.close()


def run_replay_job(job_id: int, worker: str | None = None) -> str:
    """Replay each conversation of a queued job not yet done, writing a summary per
    conversation as it is done and beating before each round (and every HEARTBEAT_EVERY); a
    job already claimed (another delivery of its message) is left alone."""
    worker = worker or worker_identity()
    if not claim_job(job_id, worker):
        return "skipped"
    stopped = threading.Event()
    beat = threading.Thread(
        target=_beat_while, args=(job_id, worker, stopped), name=f"replay-beat-{job_id}"
    )
    beat.start()
    try:
        return _replay_claimed(job_id, worker)
    finally:
        stopped.set()
        beat.join()


def _replay_claimed(job_id: int, worker: str) -> str:
    job = ReplayJob.objects.select_related("team", "created_by", "conversation").get(pk=job_id)
    try:
        for conversation in job_conversations(job):
            group = Batch.new_compare_group()
            job_beat(job_id, worker, current_group=group)
            replay_conversation(
                conversation,
                user=job.created_by,
                group=group,
                before_round=lambda: job_beat(job_id, worker),
            )
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
            job_beat(job_id, worker, results=job.results, current_group=None)
    except ReplayJobLost:
        logger.warning("Replay job %s is no longer %s's; it stopped.", job_id, worker)
        return "lost"
    except Exception as exc:
        logger.exception("Replay job %s failed", job_id)
        _owned(job_id, worker).update(
            status=ReplayJobStatus.FAILED,
            failure=f"{type(exc).__name__}: {exc}",
            heartbeat_at=timezone.now(),
            finished_at=timezone.now(),
        )
        return "failed"
    finished = _owned(job_id, worker).update(
        status=ReplayJobStatus.FINISHED, heartbeat_at=timezone.now(), finished_at=timezone.now()
    )
    return "finished" if finished else "lost"


def resume_job(job: ReplayJob) -> bool:
    """Queue again a job a person resumes: one whose worker went silent, one queued that no
    worker started (its message lost), or a failed one with conversations left. A
    compare-and-set, so a job its worker still runs is left alone."""
    silent = Q(status__in=(ReplayJobStatus.RUNNING, ReplayJobStatus.QUEUED)) & (
        Q(heartbeat_at__lt=timezone.now() - TAKEOVER_AFTER) | Q(heartbeat_at__isnull=True)
    )
    if not job.can_resume:
        return False
    queued = ReplayJob.objects.filter(silent | Q(status=ReplayJobStatus.FAILED), pk=job.pk).update(
        status=ReplayJobStatus.QUEUED,
        worker="",
        failure="",
        finished_at=None,
        heartbeat_at=timezone.now(),
        resends=0,
    )
    if queued:
        close_left_open(job.pk, "The job's worker stopped responding; a person resumed the job.")
    return queued == 1


def close_left_open(job_id: int, reason: str) -> list[int]:
    """The replay a dead worker left under way: its batch failed and its unfinished calls
    cancelled, with the reason (recording.close_batches); the job resumes that conversation
    anew."""
    group = ReplayJob.objects.filter(pk=job_id).values_list("current_group", flat=True).first()
    if group is None:
        return []
    ReplayJob.objects.filter(pk=job_id, current_group=group).update(current_group=None)
    return recording.close_batches(
        Batch.objects.filter(compare_group=group, source=BatchSource.REPLAY), reason
    )


def reap_stale_jobs(
    now: Any = None,
    stale_after: timedelta = REPLAY_STALE_AFTER,
    *,
    worker_alive: bool,
    outside_server: bool = False,
) -> tuple[list[int], list[int]]:
    """Jobs whose worker stopped beating are queued again (they resume with the conversations
    not yet done), or marked failed with the reason when none can take them: no live worker of
    the dispatch mode (`worker_alive`), silent MAX_REPLAY_ATTEMPTS times already, or, inline,
    a reaper outside the serving process (`outside_server`: `manage.py reap_runs`), which
    would run the job itself, blocking for the whole replay; it marks the job failed as it
    marks a stale inline run, and a person resumes it. Returns the jobs queued again (for the
    caller to send: `dispatch.reap_stale_replay_jobs`) and the jobs marked failed.

    A queued job silent that long while a worker is alive is sent again (its message may be
    lost: channels_redis drops one after 60 s), its heartbeat refreshed, without counting an
    attempt; a second delivery is harmless, `claim_job` being a compare-and-set. It may as
    well be waiting behind a busy queue, so each send waits twice as long as the one before
    (`resend_after`): a lost message is still sent again, without piling up copies of one
    that is not. Without a live worker it fails; inline, the process that was to run it is
    gone, so it is sent again.
    Each job is changed by a compare-and-set on its status and heartbeat, so one a worker
    claimed, beat or finished meanwhile is left alone.
    """
    now = now or timezone.now()
    silent = Q(heartbeat_at__lt=now - stale_after) | Q(heartbeat_at__isnull=True)
    stale = Q(status=ReplayJobStatus.RUNNING) | Q(status=ReplayJobStatus.QUEUED)
    requeued: list[int] = []
    failed: list[int] = []
    for pk, status, worker, attempts, resends, sent_at, done, total in (
        ReplayJob.objects.filter(stale, silent)
        .values_list(
            "pk", "status", "worker", "attempts", "resends", "heartbeat_at", "results", "total"
        )
        .order_by("pk")
    ):
        left = f"{len(done)} of {total} conversations done"
        who = f"The worker {worker or '(unknown)'} stopped responding"
        if status == ReplayJobStatus.QUEUED:
            if worker_alive and settings.FCSTUDIO_DISPATCH != "inline":
                if sent_at is not None and sent_at >= now - resend_after(resends, stale_after):
                    continue  # plausibly still queued behind others
                sent_again = ReplayJob.objects.filter(
                    silent, pk=pk, status=status, resends=resends
                ).update(heartbeat_at=timezone.now(), resends=resends + 1)
                if sent_again:
                    requeued.append(pk)
                continue
            who = f"No worker started the job within {stale_after.total_seconds():g} s"
        changes: dict[str, Any]
        if outside_server:
            changes = {
                "status": ReplayJobStatus.FAILED,
                "failure": f"{who} ({left}). Inline, a replay runs in the serving process, and "
                "this reaper runs outside it, so the job was marked failed. "
                "Resume the job to continue.",
            }
        elif not worker_alive:
            changes = {
                "status": ReplayJobStatus.FAILED,
                "failure": f"{who} and no worker is running to take the job ({left}). "
                "Is a worker running? Resume the job to continue.",
            }
        elif attempts + 1 >= MAX_REPLAY_ATTEMPTS:
            changes = {
                "status": ReplayJobStatus.FAILED,
                "failure": f"{who}, for the job's attempt {attempts + 1} of "
                f"{MAX_REPLAY_ATTEMPTS} ({left}); it was marked failed. "
                "Resume the job to continue.",
            }
        else:
            changes = {
                "status": ReplayJobStatus.QUEUED,
                "attempts": attempts + 1,
                "worker": "",
                "resends": 0,
            }
        if changes.get("status") == ReplayJobStatus.FAILED:
            changes["finished_at"] = timezone.now()
        marked = ReplayJob.objects.filter(silent, pk=pk, status=status).update(
            heartbeat_at=timezone.now(), **changes
        )
        if not marked:
            continue
        if changes.get("status") == ReplayJobStatus.FAILED:
            failed.append(pk)
            close_left_open(pk, changes["failure"])
        else:
            requeued.append(pk)
            close_left_open(pk, f"{who}; the job was queued again ({left}).")
    return requeued, failed


def resend_after(resends: int, stale_after: timedelta = REPLAY_STALE_AFTER) -> timedelta:
    """How long a queued job's message, sent `resends` times again already, is left before it
    is sent again: `stale_after`, doubled at each send, up to MAX_RESEND_DOUBLINGS times."""
    return stale_after * 2 ** min(resends, MAX_RESEND_DOUBLINGS)


def job_report(job: ReplayJob) -> ReplayReport | None:
    """The per-call diff of a one-conversation job, once it is done."""
    if job.conversation is None or not job.results:
        return None
    return replay_report(job.conversation, uuid.UUID(job.results[0]["group"]))


__all__ = [
    "MAX_REPLAY_ATTEMPTS",
    "MAX_RESEND_DOUBLINGS",
    "CallComparison",
    "ReplayJobLost",
    "ReplayReport",
    "claim_job",
    "close_left_open",
    "compare",
    "current_tools",
    "job_beat",
    "job_conversations",
    "job_report",
    "new_replay_job",
    "past_replays",
    "reap_stale_jobs",
    "recorded_batches",
    "recordings",
    "replay_conversation",
    "replay_job_for",
    "replay_report",
    "resend_after",
    "resume_job",
    "run_replay_job",
]
