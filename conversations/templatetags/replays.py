"""The replay panel of a recorded conversation's page reads its past replays itself, so the
page's view need not know of replays."""

from __future__ import annotations

from typing import Any

from django import template

from conversations.models import Conversation
from conversations.replay import past_replays as replays_of

register = template.Library()


@register.simple_tag
def past_replays(conversation: Conversation) -> list[dict[str, Any]]:
    return replays_of(conversation)
