"""What a person may do on a conversation page, by their role in its team.

The controls (the head's Compare models and Delete, the settings for the next run, the composer
and the "Add a message by hand" form) and the header's role are drawn from one context, built
here for the page's view and for the websocket that redraws them when the role changes. Neither
may need a request: the socket has none, so the CSRF token its forms carry comes from the
socket's own cookie (`csrf_token_from_cookie`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH, get_token

from fcstudio.models import Membership, Role

from . import tool_picker
from .forms import ComposerForm, MessageForm, RunSettingsForm
from .models import Conversation

TEMPLATE = "conversations/conversation_detail.html"
# The partials of the page that hold the controls, each in a container that is always there.
CONTROLS = ("head-actions", "settings-controls", "message-controls")
WHO = "base.html#who"


def controls_context(
    conversation: Conversation,
    membership: Membership,
    *,
    composer_form: ComposerForm | None = None,
    settings_form: RunSettingsForm | None = None,
    message_form: MessageForm | None = None,
) -> dict[str, Any]:
    """The controls `membership`'s role allows on the page of `conversation` (the forms given
    are shown with what was typed and its errors)."""
    can_run = membership.allows(Role.EDITOR)
    context: dict[str, Any] = {
        "conversation": conversation,
        "membership": membership,
        "can_run": can_run,
        "message_form": message_form or MessageForm(initial={"role": "user"}),
    }
    if can_run and not conversation.recorded:
        context["composer_form"] = composer_form or ComposerForm()
        context["settings_form"] = settings_form or RunSettingsForm(
            team=conversation.team, conversation=conversation
        )
        context["known_models"] = (
            conversation.provider.known_models if conversation.provider else []
        )
        context["search"] = tool_picker.search_tools(conversation.team, "")
    return context


def csrf_token_from_cookie(cookies: Mapping[str, str]) -> str:
    """A CSRF token for forms pushed over a websocket, masked from the secret in the socket's
    CSRF cookie as Django masks it for a page ('' when there is no valid one: the forms then
    post without a token and are refused, as a page without the cookie would be)."""
    secret = cookies.get(settings.CSRF_COOKIE_NAME, "")
    if len(secret) != CSRF_SECRET_LENGTH or not set(secret) <= set(CSRF_ALLOWED_CHARS):
        return ""
    request = HttpRequest()
    request.META["CSRF_COOKIE"] = secret
    return get_token(request)
