"""How every summary, row and filter names what a tool call came to: one word for one outcome.

An outcome is a call's state (`ok`, `queued`, `running`, `waiting for approval`) or, for a call
that failed, its error code (`CANCELLED`, `DENIED`…), the error model's word that the model
reads too. Shown in that code's capitals, all of them, so "3 OK" stands beside "3 CANCELLED".
"""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def outcome(value: str) -> str:
    return str(value).upper()
