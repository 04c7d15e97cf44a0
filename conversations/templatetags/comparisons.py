"""The conversation page names the comparisons it took part in (as their source or as one of
their runs) itself, in one query, so the page's view need not know of comparisons."""

from __future__ import annotations

from django import template
from django.db.models import Q

from conversations.models import Comparison, Conversation

register = template.Library()


@register.simple_tag
def comparisons_of(conversation: Conversation) -> list[Comparison]:
    found = Comparison.objects.filter(Q(source=conversation) | Q(runs=conversation))
    return list(found.distinct().order_by("created_at", "pk"))
