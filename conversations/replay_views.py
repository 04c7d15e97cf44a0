"""Replays of recorded conversations: start one, read one. Thin views over `replay`."""

from __future__ import annotations

import uuid

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from fcstudio.limits import KB, body_limit
from fcstudio.models import Role
from fcstudio.teams import TeamRequest, team_view

from . import replay
from .models import Conversation


def _conversation(request: TeamRequest, pk: int) -> Conversation:
    return get_object_or_404(Conversation, team=request.team, pk=pk)


@team_view(role=Role.EDITOR)
@body_limit(4 * KB)
@require_POST
def conversation_replay(request: TeamRequest, conversation: int) -> HttpResponse:
    """Run a recorded conversation's tool calls again, now, and show how the results moved."""
    current = _conversation(request, conversation)
    if not current.recorded:
        return HttpResponse("Only a recorded conversation's tool calls are replayed.", status=400)
    if not replay.recorded_batches(current):
        return HttpResponse("This recording holds no tool calls to replay.", status=400)
    group = replay.replay_conversation(current, user=request.user)
    return redirect("conversation_replay_detail", request.team.slug, current.pk, group)


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
