"""`{% transcript_problems conversation %}`: the conversation page's "Transcript problems" panel.

A tag rather than view context so the conversation page needs one include line for it."""

from __future__ import annotations

from typing import Any

from django import template

from conversations import transcript_import
from conversations.models import Conversation

register = template.Library()


@register.inclusion_tag("conversations/partials/transcript_problems_panel.html", takes_context=True)
def transcript_problems(context: Any, conversation: Conversation) -> dict[str, Any]:
    problems = transcript_import.problems_for(conversation) if conversation.recorded else []
    return {"request": context.get("request"), "conversation": conversation, "problems": problems}
