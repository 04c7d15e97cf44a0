"""Template filters for showing recorded values to people: JSON as JSON, durations as durations.

Arguments and results are stored as Python values (JSONField) or as the text a model or a tool
sent; every template that shows one goes through `as_json`, so the page reads the same JSON the
model read, never a Python repr.
"""

from __future__ import annotations

import json
from typing import Any

from django import template

from tools_app.engine import untrusted

register = template.Library()

INDENT = 2


@register.filter
def as_json(value: Any) -> str:
    """Pretty JSON for a value, or for text that holds a JSON object or array.

    Any other text (a model's broken arguments, `1e999`, a lone surrogate's escape, nesting too
    deep to parse) is shown as it came: re-quoting or leniently parsing it would hide what was
    actually sent.
    """
    if isinstance(value, str):
        text = value
        if not text.strip().startswith(("{", "[")):
            return text
        try:
            value = untrusted.loads(text)
        except (TypeError, ValueError, RecursionError):
            return text
        if not untrusted.is_clean_json(value):
            return text
    elif not untrusted.is_clean_json(value):
        value = untrusted.clean_json(value)
    try:
        return json.dumps(value, indent=INDENT, ensure_ascii=False, default=str)
    except RecursionError:
        return "(nested too deeply to show)"


@register.filter
def ms(value: float | None) -> str:
    """A duration in milliseconds, with the precision its size deserves: 0.42 ms, 12.3 ms, 250 ms,
    1.25 s, 15.0 s. None (not measured) is an em dash. Every page that shows how long something
    took goes through here, so one duration reads the same everywhere."""
    if value is None or value == "":
        return "—"
    amount = float(value)
    if amount >= 9995:  # rounds to 10.00 s or more
        return f"{amount / 1000:.1f} s"
    if amount >= 1000:
        return f"{amount / 1000:.2f} s"
    if amount >= 100:
        return f"{amount:.0f} ms"
    if amount >= 1:
        return f"{amount:.1f} ms"
    return f"{amount:.2f} ms"
