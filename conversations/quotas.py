"""Per-team quotas over the last hour: runs started, and model calls a run makes.

`FCSTUDIO_TEAM_RUNS_PER_HOUR` is checked when a run is started (`dispatch.start_run`, which
records each start as a `RunStart`); `FCSTUDIO_TEAM_MODEL_CALLS_PER_HOUR` before each model call
of a run (`runner`), counting the team's `ModelCall` rows of runs driven here (recorded
conversations are another app's traffic and do not count). 0 means unlimited. Counted in the
database, so every worker and machine sees the same count.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Min
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


def model_call_refusal(team_id: int, now: datetime | None = None) -> str:
    """Why the team's run may not call the model now (its hourly quota is used up), or ``""``."""
    limit = settings.FCSTUDIO_TEAM_MODEL_CALLS_PER_HOUR
    if limit <= 0:
        return ""
    since = (now or timezone.now()) - WINDOW
    calls = ModelCall.objects.filter(
        conversation__team_id=team_id, conversation__recorded=False, started_at__gt=since
    )
    if calls.count() < limit:
        return ""
    oldest = calls.aggregate(oldest=Min("started_at"))["oldest"]
    return (
        f"The team's quota of {limit} model calls per hour is used up, so the run stopped "
        f"before its next model call; {_again_at(oldest)}, then Resume continues it."
    )
