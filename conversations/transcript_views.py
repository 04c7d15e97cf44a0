"""Importing transcripts, their result page (problems, unknown tools) and the JSONL export."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from fcstudio.limits import KB, body_limit
from fcstudio.models import Role
from fcstudio.teams import TeamRequest, team_view

from . import transcript_import, transcripts
from .forms import TranscriptForm, TranscriptToolsForm
from .models import Conversation


@team_view(role=Role.EDITOR)
@body_limit(settings.FCSTUDIO_MAX_IMPORT_BYTES + 64 * KB)
@require_http_methods(["GET", "POST"])
def conversation_import(request: TeamRequest) -> HttpResponse:
    form = TranscriptForm(request.POST or None, request.FILES or None)
    imported: list[Conversation] = []
    if request.method == "POST" and form.is_valid():
        try:
            imported = transcript_import.import_transcript(
                request.team, form.cleaned_data["source"], user=request.user
            )
        except transcripts.TranscriptError as exc:
            form.add_error(None, str(exc))
        else:
            count = len(imported)
            messages.success(request, f"Imported {count} conversation{'s' * (count != 1)}.")
            if count == 1:
                return redirect(
                    "conversation_transcript", team=request.team.slug, conversation=imported[0].pk
                )
    context = {"form": form, "imported": imported}
    return render(request, "conversations/conversation_import.html", context)


@team_view(role=Role.VIEWER, write_role=Role.EDITOR)
@body_limit(64 * KB)
@require_http_methods(["GET", "POST"])
def conversation_transcript(request: TeamRequest, conversation: int) -> HttpResponse:
    """What an import found: its problems, and its unknown tools to create in a catalog."""
    current = get_object_or_404(Conversation, team=request.team, pk=conversation)
    unknown = transcript_import.unknown_tools(current)
    form = TranscriptToolsForm(
        request.POST or None, team=request.team, names=[c.name for c in unknown]
    )
    if request.method == "POST" and form.is_valid():
        catalog = form.cleaned_data["catalog"]
        created = transcript_import.create_tools(
            current, catalog, form.cleaned_data["names"], user=request.user
        )
        names = ", ".join(tool.name for tool in created)
        messages.success(request, f"Created in {catalog.name}: {names}.")
        return redirect("conversation_transcript", team=request.team.slug, conversation=current.pk)
    context = {
        "conversation": current,
        "problems": transcript_import.problems_for(current),
        "unknown": unknown,
        "form": form,
    }
    return render(request, "conversations/conversation_transcript.html", context)


@team_view()
@require_GET
def conversation_export_jsonl(request: TeamRequest, conversation: int) -> HttpResponse:
    current = get_object_or_404(Conversation, team=request.team, pk=conversation)
    response = HttpResponse(
        transcript_import.export_jsonl(current), content_type="application/jsonl; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="conversation-{current.pk}.jsonl"'
    return response
