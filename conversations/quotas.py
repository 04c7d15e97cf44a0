"""Per-team quotas over the last hour: runs started, and model calls a run makes.

`FCSTUDIO_TEAM_RUNS_PER_HOUR` is checked when a run is started (`dispatch.start_run`, which
records each start as a `RunStart`); `FCSTUDIO_TEAM_MODEL_CALLS_PER_HOUR` before each model call
of a run (`runner`) and before each chat request through the recording proxy (`proxy`).
Both count the same thing, the team's `ModelCall` rows: its runs' and its API tokens'
(a token's traffic is the team's, paid from the same provider accounts); only conversations
imported from transcripts, which called no model from here, are left out. 0 means unlimited.
Counted in the database, so every worker and machine sees the same count (the proxy keeps a
count for a couple of seconds per process, so as to not query on every request).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from fcstudio.models import Team

from .models import ModelCall, RunStart

WINDOW = timedelta(hours=1)


class QuotaExceeded(Exception):
    """A run refused because its team used up a quota; the message is for the person."""


def _again_at(oldest: datetime | None) -> str:
    if oldest is None:
        return "try again later"
    return f"one frees up at {timezone.localtime(oldest + WINDOW):%H:%M}"


def check_run_quota(team: Team | int, now: datetime | None = None) -> None:
    """Raise `QuotaExceeded` when the team started its quota of runs in the last hour.

    Call it in the transaction that records the start (`record_run`)."""
    limit = settings.FCSTUDIO_TEAM_RUNS_PER_HOUR
    if limit <= 0:
        return
    since = (now or timezone.now()) - WINDOW
    team_id = team if isinstance(team, int) else team.pk
    # Inside the caller's transaction the team row is locked, so two starts at the quota's
    # edge are counted one after the other (a no-op on SQLite, whose writes are serial anyway).
    list(Team.objects.select_for_update().filter(pk=team_id).values_list("pk", flat=True))
    starts = RunStart.objects.filter(team_id=team_id, started_at__gt=since)
    if starts.count() >= limit:
        oldest = starts.aggregate(oldest=Min("started_at"))["oldest"]
        raise QuotaExceeded(
            f"Run not started: this team has started {limit} runs in the last hour, its limit; "
            f"{_again_at(oldest)}."
        )


def record_run(team: Team | int, conversation_id: int) -> None:
    team_id = team if isinstance(team, int) else team.pk
    RunStart.objects.create(team_id=team_id, conversation_id=conversation_id)


def _model_calls(team_id: int, since: datetime) -> QuerySet[ModelCall]:
    """The team's model calls since `since`: its runs' and its tokens' (not imports')."""
    return ModelCall.objects.filter(
        Q(conversation__recorded=False) | Q(conversation__api_token__isnull=False),
        conversation__team_id=team_id,
        started_at__gt=since,
    )


def model_calls_used(team_id: int, now: datetime | None = None) -> tuple[int, datetime | None]:
    """How many model calls the team made in the last hour, and when the oldest of them was."""
    since = (now or timezone.now()) - WINDOW
    found = _model_calls(team_id, since).aggregate(used=Count("pk"), oldest=Min("started_at"))
    return found["used"], found["oldest"]


def model_call_refusal(team_id: int, now: datetime | None = None) -> str:
    """Why the team's run may not call the model now (its hourly quota is used up), or ``""``."""
    limit = settings.FCSTUDIO_TEAM_MODEL_CALLS_PER_HOUR
    if limit <= 0:
        return ""
    used, oldest = model_calls_used(team_id, now)
    if used < limit:
        return ""
    return (
        f"The team's quota of {limit} model calls per hour is used up, so the run stopped "
        f"before its next model call; {_again_at(oldest)}, then Resume continues it."
    )


def proxy_refusal(limit: int, oldest: datetime | None) -> str:
    """What the proxy tells an app whose team used up its model calls."""
    return (
        f"This team's quota of {limit} model calls per hour "
        f"(FCSTUDIO_TEAM_MODEL_CALLS_PER_HOUR) is used up; {_again_at(oldest)}."
    )
