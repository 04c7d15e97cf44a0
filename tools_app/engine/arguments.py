"""Turning the model's raw argument string into a dict, and `$ref` dependencies between calls.

`parse_arguments` owns the ``INVALID_JSON`` and "not an object" failures. A string argument
value that is exactly ``"$ref:<tool_call_id>"`` or ``"$ref:<tool_call_id>#/json/pointer"``
(anywhere in the arguments, however nested) names another call of the same batch whose result
(or the part the RFC 6901 pointer selects) is substituted before validation.

This module must not import Django.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import untrusted
from .errors import ErrorCode, ToolError

REF_PREFIX = "$ref:"


def parse_arguments(
    raw: str | Mapping[str, Any] | None,
) -> tuple[dict[str, Any] | None, ToolError | None]:
    """Parse the arguments a model sent; return ``(arguments, None)`` or ``(None, error)``.

    Empty or whitespace-only means no arguments (``{}``). JSON that is not an object is a
    ``VALIDATION_ERROR``; text that is not JSON at all is ``INVALID_JSON`` with the line, column
    and character position where parsing failed. So is JSON holding what no tool can be given:
    ``NaN``/``Infinity``, a number beyond a double's range (``1e999``), a string with a lone
    surrogate (``"\ud800"`` is not a character). NUL inside a string is a character: it is
    kept (the record stores it escaped, see `untrusted`).
    """
    if raw is None:
        return {}, None
    if isinstance(raw, Mapping):  # some providers hand over already-parsed arguments
        return _checked(dict(raw))
    if not isinstance(raw, str):
        return None, ToolError(
            ErrorCode.INVALID_JSON,
            f"arguments must be a JSON string, got {type(raw).__name__}",
            {},
        )
    if not raw.strip():
        return {}, None
    try:
        value = untrusted.loads(raw)
    except json.JSONDecodeError as exc:
        return None, ToolError(
            ErrorCode.INVALID_JSON,
            f"arguments are not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            {"line": exc.lineno, "column": exc.colno, "position": exc.pos, "reason": exc.msg},
        )
    except untrusted.NotRepresentable as exc:
        return None, ToolError(
            ErrorCode.INVALID_JSON, f"arguments are not valid JSON: {exc}", {"reason": str(exc)}
        )
    except ValueError as exc:
        return None, ToolError(ErrorCode.INVALID_JSON, f"arguments are not valid JSON: {exc}", {})
    except RecursionError:
        return None, ToolError(
            ErrorCode.INVALID_JSON, "arguments are not valid JSON: nested too deeply", {}
        )
    if not isinstance(value, dict):
        return None, ToolError(
            ErrorCode.VALIDATION_ERROR,
            f"arguments must be a JSON object, got {_json_type(value)}",
            {"errors": [{"pointer": "", "message": "must be an object"}]},
        )
    if "\\u" not in raw and raw.isascii():
        return value, None  # no escape, no raw surrogate: nothing to look for (the hot path)
    return _checked(value)


def _checked(value: dict[str, Any]) -> tuple[dict[str, Any] | None, ToolError | None]:
    """Refuse parsed arguments holding a lone surrogate or a non-finite number."""
    found = untrusted.first_unrepresentable(value)
    if found is None:
        return value, None
    path, what = found
    where = to_pointer(path) or "(root)"
    reason = f"{where} holds {what}"
    return None, ToolError(
        ErrorCode.INVALID_JSON,
        f"arguments are not valid JSON: {reason}",
        {"pointer": to_pointer(path), "reason": reason},
    )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


# --- JSON pointers (RFC 6901) ---------------------------------------------------------------


def escape_token(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def to_pointer(path: Sequence[str | int]) -> str:
    return "".join("/" + escape_token(token) for token in path)


def split_pointer(pointer: str) -> list[str]:
    """The pointer's reference tokens; raise ValueError if it is not a valid JSON pointer."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"JSON pointer {pointer!r} must be empty or start with '/'")
    tokens = pointer[1:].split("/")
    for token in tokens:
        rest = token.replace("~0", "").replace("~1", "")
        if "~" in rest:
            raise ValueError(f"JSON pointer {pointer!r} has an invalid '~' escape")
    return [token.replace("~1", "/").replace("~0", "~") for token in tokens]


def resolve_pointer(document: Any, pointer: str) -> Any:
    """The part of `document` the pointer selects; raise LookupError when it selects nothing."""
    current = document
    for token in split_pointer(pointer):
        if isinstance(current, dict):
            if token not in current:
                raise LookupError(f"no member {token!r}")
            current = current[token]
        elif isinstance(current, list):
            if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
                raise LookupError(f"{token!r} is not an array index")
            index = int(token)
            if index >= len(current):
                raise LookupError(f"index {index} is out of range (length {len(current)})")
            current = current[index]
        else:
            raise LookupError(f"cannot descend into a {_json_type(current)} with {token!r}")
    return current


# --- $ref dependencies ----------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """One ``$ref`` found in a call's arguments."""

    location: tuple[str | int, ...]  # where in the arguments the placeholder sits
    call_id: str
    pointer: str

    @property
    def location_pointer(self) -> str:
        return to_pointer(self.location)


def parse_reference(value: str) -> tuple[str, str] | None:
    """``(call_id, pointer)`` if `value` is a ``$ref`` placeholder, else None."""
    if not value.startswith(REF_PREFIX):
        return None
    target, _, pointer = value[len(REF_PREFIX) :].partition("#")
    return target, pointer


def find_references(arguments: Any) -> list[Reference]:
    return list(_walk_references(arguments, ()))


def _walk_references(value: Any, location: tuple[str | int, ...]) -> Iterator[Reference]:
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, location)]
    while stack:
        current, where = stack.pop()
        if isinstance(current, str):
            parsed = parse_reference(current)
            if parsed is not None:
                yield Reference(where, parsed[0], parsed[1])
        elif isinstance(current, dict):
            stack.extend((item, (*where, key)) for key, item in reversed(current.items()))
        elif isinstance(current, list):
            stack.extend((item, (*where, i)) for i, item in reversed(list(enumerate(current))))


def substitute(arguments: Any, replacements: Mapping[tuple[str | int, ...], Any]) -> Any:
    """A copy of `arguments` with the value at each location replaced."""
    if not replacements:
        return arguments
    if () in replacements:
        return replacements[()]
    return _substitute(arguments, (), replacements)


def _substitute(
    value: Any, where: tuple[str | int, ...], replacements: Mapping[tuple[str | int, ...], Any]
) -> Any:
    if where in replacements:
        return replacements[where]
    if isinstance(value, dict):
        return {key: _substitute(item, (*where, key), replacements) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, (*where, i), replacements) for i, item in enumerate(value)]
    return value
