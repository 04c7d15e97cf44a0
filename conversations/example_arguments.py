"""Plausible arguments for a tool's JSON Schema: schema examples first, then defaults, enums and
typed guesses.

Shared by the Batch lab (N varied example calls) and the built-in demo model (arguments when the
prompt names none). Django-free; schemas may come from a request body, so nothing here trusts a
keyword's type.
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 8
FORMAT_EXAMPLES = {
    "date": "2026-01-15",
    "date-time": "2026-01-15T09:30:00Z",
    "email": "a@example.com",
    "uri": "https://example.com/",
}


def example_arguments(
    parameters: dict[str, Any], variant: int = 0, depth: int = 0
) -> dict[str, Any]:
    """Plausible arguments for a schema, varied by `variant` so batches are not all alike.
    Nested objects deeper than `MAX_DEPTH` are left empty."""
    properties = parameters.get("properties") if isinstance(parameters, dict) else None
    if not isinstance(properties, dict):
        return {}
    required = parameters.get("required")
    required = required if isinstance(required, list) else []
    example: dict[str, Any] = {}
    for name, prop in properties.items():
        if not isinstance(prop, dict) or (name not in required and "default" not in prop):
            continue
        example[name] = example_value(name, prop, variant, depth)
    return example


def example_value(name: str, prop: dict[str, Any], variant: int, depth: int = 0) -> Any:
    if isinstance(prop.get("examples"), list) and prop["examples"]:
        return prop["examples"][variant % len(prop["examples"])]
    if "default" in prop:
        return prop["default"]
    if isinstance(prop.get("enum"), list) and prop["enum"]:
        return prop["enum"][variant % len(prop["enum"])]
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "integer":
        low = _number(prop.get("minimum"), 1)
        high = _number(prop.get("maximum"), low + 99)
        return int(low + variant % max(int(high - low) + 1, 1))
    if kind == "number":
        return float(_number(prop.get("minimum"), 1)) + 0.5 * (variant + 1)
    if kind == "boolean":
        return variant % 2 == 0
    if kind == "array":
        return []
    if kind == "object":
        return example_arguments(prop, variant, depth + 1) if depth < MAX_DEPTH else {}
    fmt = prop.get("format")
    if isinstance(fmt, str) and fmt in FORMAT_EXAMPLES:
        return FORMAT_EXAMPLES[fmt]
    return f"{name} {variant + 1}"


def _number(value: Any, fallback: float) -> float:
    """A schema bound when it is a usable number, else the fallback."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return fallback
    if not -1e15 < value < 1e15:  # also false for NaN
        return fallback
    return value
