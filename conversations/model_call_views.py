"""One model call's raw exchange: the request body as sent and the answer as stored, with the
request as curl and as openai-SDK Python to send it again. Secrets are never part of it: the key
and extra headers travel as HTTP headers, not in the stored body, and only header names show."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from fcstudio.models import Role
from fcstudio.secrets import SecretError
from fcstudio.teams import TeamRequest, team_view

from . import reproduce
from .models import ModelCall, Provider
from .providers import extra_headers


@team_view(role=Role.VIEWER)
@require_GET
def model_call_raw(request: TeamRequest, conversation: int, model_call: int) -> HttpResponse:
    call = get_object_or_404(
        ModelCall.objects.select_related("conversation__provider"),
        conversation__team=request.team,
        conversation_id=conversation,
        pk=model_call,
    )
    body: dict[str, Any] = call.request if isinstance(call.request, dict) else {}
    provider = call.conversation.provider
    base_url = provider.base_url if provider else None
    header_names = sorted(_header_names(provider)) if provider else []
    return render(
        request,
        "conversations/model_call_raw.html",
        {
            "conversation": call.conversation,
            "call": call,
            "body": body,
            "header_names": header_names,
            "endpoint": reproduce.endpoint(base_url),
            "request_json": reproduce.body_json(body),
            "curl": reproduce.curl_command(base_url, body, header_names),
            "python": reproduce.python_snippet(base_url, body, header_names),
        },
    )


def _header_names(provider: Provider) -> list[str]:
    try:
        return list(extra_headers(provider))
    except SecretError:  # a key rotated away: the names are lost with the values
        return []
