"""Replays of recorded conversations: start one, read one. Thin views over `replay`."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fcstudio.limits import KB, body_limit
from fcstudio.models import Role
from fcstudio.teams import TeamRequest, team_view

from . import dispatch, replay
from .models import ApiToken, Conversation, ReplayJob


def _conversation(request: TeamRequest, pk: int) -> Conversation:
    return get_object_or_404(Conversation, team=request.team, pk=pk)


@team_view(role=Role.EDITOR)
@body_limit(4 * KB)
@require_POST
def conversation_replay(request: TeamRequest, conversation: int) -> HttpResponse:
    """Replay a recorded conversation's tool calls, in the background: the job's page shows its
    progress, then how the results moved."""
    current = _conversation(request, conversation)
    if not current.recorded:
        return HttpResponse("Only a recorded conversation's tool calls are replayed.", status=400)
    if not replay.recorded_batches(current):
        return HttpResponse("This recording holds no tool calls to replay.", status=400)
    job, new = replay.replay_job_for(current, user=request.user)
    if new:
        dispatch.start_replay_job(job)
    return redirect("replay_job", request.team.slug, job.pk)


@team_view()
@require_GET
def conversation_replay_detail(
    request: TeamRequest, conversation: int, group: uuid.UUID
) -> HttpResponse:
    current = _conversation(request, conversation)
    report = replay.replay_report(current, group)
    if report is None:
        raise Http404("No such replay of this conversation.")
    return render(
        request,
        "conversations/replay_detail.html",
        {"conversation": current, "report": report},
    )


class ReplayJobForm(forms.Form):
    api_token = forms.ModelChoiceField(
        queryset=ApiToken.objects.none(),
        required=False,
        empty_label="All the team's recorded conversations",
        label="Recordings of",
    )

    def __init__(self, *args: Any, team: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["api_token"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = ApiToken.objects.filter(team=team)


@team_view()
@body_limit(4 * KB)
@require_http_methods(["GET", "POST"])
def replay_jobs(request: TeamRequest) -> HttpResponse:
    """Replay many recordings at once, in the background; the jobs so far."""
    form = ReplayJobForm(request.POST or None, team=request.team)
    if request.method == "POST" and form.is_valid():
        job = replay.new_replay_job(
            request.team, api_token=form.cleaned_data["api_token"], user=request.user
        )
        dispatch.start_replay_job(job)
        return redirect("replay_job", request.team.slug, job.pk)
    jobs = ReplayJob.objects.filter(team=request.team).select_related("api_token", "conversation")[
        :50
    ]
    return render(
        request,
        "conversations/replay_jobs.html",
        {"form": form, "jobs": jobs, "can_run": request.membership.allows(Role.EDITOR)},
    )


@team_view()
@require_GET
def replay_job(request: TeamRequest, job: int) -> HttpResponse:
    """A job's progress, polled while it runs; a one-conversation job's diff once it is done."""
    current = get_object_or_404(
        ReplayJob.objects.select_related("api_token", "conversation"), team=request.team, pk=job
    )
    template = "conversations/replay_job.html"
    if request.htmx:
        template += "#job-progress"
    context = {
        "job": current,
        "report": replay.job_report(current),
        "can_run": request.membership.allows(Role.EDITOR),
    }
    return render(request, template, context)


@team_view(role=Role.EDITOR)
@body_limit(4 * KB)
@require_POST
def replay_job_resume(request: TeamRequest, job: int) -> HttpResponse:
    """Queue again a job whose worker went silent (or that failed), from the conversations not
    yet done."""
    current = get_object_or_404(ReplayJob, team=request.team, pk=job)
    if replay.resume_job(current):
        dispatch.start_replay_job(current)
    return redirect("replay_job", request.team.slug, current.pk)
