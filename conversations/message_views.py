"""A message edited in place: its edit form swapped in for it, saved or cancelled back to the
message; the same views serve the full edit page when there is no script."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_http_methods

from fcstudio.limits import body_limit
from fcstudio.models import Role
from fcstudio.teams import TeamRequest, team_view

from . import compose
from .conversation_views import MESSAGE_BODY_BYTES, _conversation
from .message_forms import form_for, with_another_call
from .models import Conversation, Message
from .view_models import call_names, message_context

PARTIALS = "conversations/partials/message.html"


def _message(conversation: Conversation, position: int) -> Message:
    return get_object_or_404(conversation.messages, position=position)


def _shown(
    request: TeamRequest, message: Message, *, answers: Sequence[Message] = ()
) -> HttpResponse:
    """The message as shown, and `answers` (tool results whose label reads the calls it
    made) redrawn beside it out of band."""
    can_run = request.membership.allows(Role.EDITOR)
    html = render_to_string(
        f"{PARTIALS}#message", {"can_run": can_run, **message_context(message)}, request=request
    )
    for answer in answers:
        context = {"can_run": can_run, "redraw": True, **message_context(answer)}
        html += render_to_string(f"{PARTIALS}#message", context, request=request)
    return HttpResponse(html)


def _relabelled(message: Message, before: dict[str, str]) -> list[Message]:
    """The tool results after `message` whose "result of" label its edit changed: a call
    renamed, dropped or added. Only those are redrawn, so an answer open in its own edit form
    elsewhere on the page stays open."""
    after = call_names([message])
    changed = {
        call_id
        for call_id in before.keys() | after.keys()
        if before.get(call_id) != after.get(call_id)
    }
    if not changed:
        return []
    later = message.conversation.messages.filter(role="tool", position__gt=message.position)
    return [m for m in later if m.payload.get("tool_call_id") in changed]


@team_view()
@require_GET
def message_show(request: TeamRequest, conversation: int, position: int) -> HttpResponse:
    """The message as the conversation page shows it: what Cancel puts back."""
    return _shown(request, _message(_conversation(request, conversation), position))


@team_view(role=Role.EDITOR)
@body_limit(MESSAGE_BODY_BYTES)
@require_http_methods(["GET", "POST"])
def message_edit(request: TeamRequest, conversation: int, position: int) -> HttpResponse:
    """Edit a message in place (fork first to keep the original); its role stays its own."""
    current = _conversation(request, conversation)
    message = _message(current, position)
    offered = compose.offered_tool_names(current)
    adding = request.method == "POST" and "add_call" in request.POST
    if request.method != "POST":
        form = form_for(message, offered=offered)
    elif adding:
        form = form_for(message, with_another_call(request.POST), offered=offered)
        rows = form.parts()[1:]
        if rows:
            form.focus(rows[-1], "name")
    else:
        form = form_for(message, request.POST, offered=offered)
        if not form.is_valid():
            form.focus_first_problem()
        else:
            before = call_names([message])
            try:
                compose.edit_message(message, form.payload(), request.user)
            except compose.ConversationBusy as exc:
                form.add_error(None, str(exc))
            else:
                if request.htmx:
                    # A call renamed or dropped changes the label of the result answering it.
                    return _shown(request, message, answers=_relabelled(message, before))
                messages.success(request, f"Message {position + 1} saved.")
                return redirect("conversation", team=request.team.slug, conversation=current.pk)
    context = {"conversation": current, "message": message, "form": form}
    if request.htmx:
        return render(request, f"{PARTIALS}#message-edit", context)
    return render(request, "conversations/message_edit.html", context)
