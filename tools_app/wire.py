"""Tools as sent out of the studio: without the studio's own `x-` schema keywords.

`x-sensitive` and any other `x-…` keyword are the studio's (fcstudio.redaction reads them);
a model's tools and the OpenAI tools export never carry them. Studio bundles keep them. Only
keyword positions are cleaned: a property *named* `x-request-id` stays.
"""

from __future__ import annotations

from typing import Any

from .schema import SCHEMA_KEYWORDS, SCHEMA_LIST_KEYWORDS, SCHEMA_MAP_KEYWORDS


def without_studio_keywords(schema: Any, depth: int = 0) -> Any:
    """A copy of a JSON Schema without `x-` keywords at any depth."""
    if not isinstance(schema, dict) or depth > 128:
        return schema
    cleaned: dict[str, Any] = {}
    for key, value in schema.items():
        if isinstance(key, str) and key.startswith("x-"):
            continue
        if key in SCHEMA_MAP_KEYWORDS and isinstance(value, dict):
            value = {name: without_studio_keywords(sub, depth + 1) for name, sub in value.items()}
        elif key in SCHEMA_LIST_KEYWORDS and isinstance(value, list):  # also draft-4 `items`
            value = [without_studio_keywords(sub, depth + 1) for sub in value]
        elif key in SCHEMA_KEYWORDS:
            value = without_studio_keywords(value, depth + 1)
        cleaned[key] = value
    return cleaned


def wire_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI `tools` entries with their parameters cleaned of studio keywords."""
    sent = []
    for entry in tools:
        function = entry.get("function") if isinstance(entry, dict) else None
        if isinstance(function, dict) and "parameters" in function:
            function = {**function, "parameters": without_studio_keywords(function["parameters"])}
            entry = {**entry, "function": function}
        sent.append(entry)
    return sent
