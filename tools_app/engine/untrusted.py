"""Normalising text and JSON that came from outside: model output, tool results, imports, forms.

One rule, applied wherever such data enters the studio (the provider's stream and answers, the
engine's results and errors, argument parsing, importers, form clean methods) and again by the
JSON encoder/decoder of every model JSONField, so that rows written before the rule existed
still load: a value must be storable as UTF-8 text and as PostgreSQL ``jsonb``, and must still
show what was really sent.

- A lone surrogate (``\\ud800``: not a Unicode character, UTF-8 cannot encode it) becomes the six
  characters ``\\ud800``; a surrogate *pair* split into two code points is joined first.
- NUL (refused by PostgreSQL in ``text`` and ``jsonb``) becomes the six characters ``\\u0000``.
- A non-finite float (``1e999`` parsed as ``inf``, ``NaN``; ``jsonb`` and strict JSON refuse
  them) becomes the string ``"Infinity"``, ``"-Infinity"`` or ``"NaN"``.

Nothing is dropped: every replacement is visible text. `loads` is the strict JSON parser for
untrusted JSON text: it refuses what JSON cannot carry (``NaN``, ``Infinity``, ``1e999``) with
the reason, instead of producing values that fail later.

This module must not import Django.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_HOSTILE_CHAR = re.compile("[\x00\ud800-\udfff]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def is_clean_text(text: str) -> bool:
    """Whether `text` holds neither NUL nor a surrogate code point."""
    if text.isascii():
        return "\x00" not in text
    return _HOSTILE_CHAR.search(text) is None


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def clean_text(text: str) -> str:
    """`text` with lone surrogates and NUL replaced by their visible escapes (see module doc)."""
    if is_clean_text(text):
        return text
    if _LONE_SURROGATE.search(text) is not None:
        # "\ud83d\ude00" as two code points is one character that arrived in halves: join it.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return _HOSTILE_CHAR.sub(_escape, text)


def clean_number(value: float) -> float | str:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def is_clean_json(value: Any) -> bool:
    """Whether `value` (parsed JSON) needs no cleaning. Iterative: any depth is fine."""
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, str):
            if not is_clean_text(current):
                return False
        elif isinstance(current, float):
            if not math.isfinite(current):
                return False
        elif isinstance(current, dict):
            for key, item in current.items():
                if isinstance(key, str) and not is_clean_text(key):
                    return False
                stack.append(item)
        elif isinstance(current, (list, tuple)):
            stack.extend(current)
    return True


def clean_json(value: Any) -> Any:
    """`value` with every string (keys too) and float cleaned; the same object when clean.

    Values other than JSON's (dict, list, tuple, str, int, float, bool, None) are left as they
    are: this is normalisation, not conversion (the engine's `json_safe` converts).
    """
    if is_clean_json(value):
        return value
    return _rebuild(value)


def _clean_scalar(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float):
        return clean_number(value)
    return value


def _rebuild(value: Any) -> Any:
    # Iterative, so that nesting as deep as a parser allowed never raises RecursionError here.
    if not isinstance(value, (dict, list, tuple)):
        return _clean_scalar(value)
    root: list[Any] = [None]
    # (source container, target container, key in target to fill)
    work: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    while work:
        source, target, slot = work.pop()
        if isinstance(source, dict):
            made: dict[Any, Any] = {}
            target[slot] = made
            for key, item in source.items():
                new_key = clean_text(key) if isinstance(key, str) else key
                while new_key in made:  # "\ud800" and "\\ud800" both present: keep both
                    new_key = f"{new_key} (escaped)"
                made[new_key] = None
                if isinstance(item, (dict, list, tuple)):
                    work.append((item, made, new_key))
                else:
                    made[new_key] = _clean_scalar(item)
        else:
            items: list[Any] = [None] * len(source)
            target[slot] = items
            for index, item in enumerate(source):
                if isinstance(item, (dict, list, tuple)):
                    work.append((item, items, index))
                else:
                    items[index] = _clean_scalar(item)
    return root[0]


def first_unrepresentable(value: Any) -> tuple[list[str | int], str] | None:
    """Where parsed JSON first holds what cannot be given on as it is, and what that is.

    That is a string (or key) with a lone surrogate, or a non-finite float. NUL is a character
    and is not reported.
    """
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack:
        current, path = stack.pop()
        if isinstance(current, str):
            found = _lone_surrogate_in(current)
            if found is not None:
                return path, f"a lone surrogate {found}, which is not a character"
        elif isinstance(current, float):
            if not math.isfinite(current):
                return path, f"a number that is not finite ({clean_number(current)})"
        elif isinstance(current, dict):
            for key, item in reversed(current.items()):
                if isinstance(key, str):
                    found = _lone_surrogate_in(key)
                    if found is not None:
                        return [*path, key], f"a key with a lone surrogate {found}"
                stack.append((item, [*path, key]))
        elif isinstance(current, (list, tuple)):
            stack.extend((item, [*path, i]) for i, item in reversed(list(enumerate(current))))
    return None


def _lone_surrogate_in(text: str) -> str | None:
    if text.isascii() or _LONE_SURROGATE.search(text) is None:
        return None
    joined = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    match = _LONE_SURROGATE.search(joined)
    return None if match is None else f"\\u{ord(match.group()):04x}"


# -- strict parsing -----------------------------------------------------------------------------


class NotRepresentable(ValueError):
    """JSON text that is well-formed or nearly so but holds a value JSON data cannot carry."""


def _refuse_constant(name: str) -> Any:
    raise NotRepresentable(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NotRepresentable(f"the number {_shorten(text)} is too large to represent")
    return value


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


def loads(text: str) -> Any:
    """Parse untrusted JSON text strictly.

    Raises `json.JSONDecodeError` for text that is not JSON, `NotRepresentable` (a ValueError)
    for ``NaN``/``Infinity`` and numbers beyond a double's range (``1e999``), ValueError for
    integers too long to convert and RecursionError for absurd nesting. Strings come back as
    parsed (NUL and lone surrogates included): callers decide what to keep, then `clean_json`.
    """
    return _DECODER.decode(text)


# -- for model JSONFields -----------------------------------------------------------------------


class UntrustedJSONEncoder(json.JSONEncoder):
    """Encodes the cleaned value, so that every JSONField value fits ``jsonb``."""

    def encode(self, o: Any) -> str:
        return super().encode(clean_json(o))


class UntrustedJSONDecoder(json.JSONDecoder):
    """Cleans what it decodes: rows stored before normalisation existed still render."""

    def decode(self, s: str, *args: Any) -> Any:
        return clean_json(super().decode(s, *args))
