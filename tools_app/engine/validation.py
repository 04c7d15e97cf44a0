"""Checking parsed arguments against a tool's JSON Schema (Draft 2020-12).

Owns the validator cache: a validator is compiled once per schema, keyed by the spec's
`version_key` when it has one (no hashing on the hot path) and by a hash of the schema's
canonical JSON otherwise. A schema that is itself invalid is cached as such and reported as an
``EXECUTION_ERROR`` (the tool is broken, not the call); so is a schema with a pattern RE2 cannot
compile (`patterns`: every pattern is matched in linear time, never by a backtracking engine).

This module must not import Django.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema.protocols import Validator

from . import patterns
from .arguments import to_pointer
from .calls import ToolSpec
from .errors import ErrorCode, ToolError
from .fastcheck import Check, compile_fast_check

MAX_REPORTED_ERRORS = 50
MAX_MESSAGE_CHARS = 300


class _BrokenSchema:
    def __init__(self, error: ToolError) -> None:
        self.error = error


class _Compiled:
    """A jsonschema validator, and a fast acceptance check when the schema is plain enough."""

    __slots__ = ("fast", "validator")

    def __init__(self, validator: Validator, fast: Check | None) -> None:
        self.validator = validator
        self.fast = fast


class ValidatorCache:
    """A small thread-safe LRU of compiled validators."""

    def __init__(self, maxsize: int = 1024) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[str, _Compiled | _BrokenSchema] = OrderedDict()
        self._lock = threading.Lock()
        self.compiled = 0  # how many schemas were compiled (tests check the cache works)

    def key_for(self, spec: ToolSpec) -> str:
        if spec.version_key:
            return f"{spec.name}@{spec.version_key}"
        try:
            canonical = json.dumps(spec.parameters, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError, RecursionError):
            canonical = repr(spec.parameters)
        return "sha256:" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()

    def get(self, spec: ToolSpec) -> _Compiled | _BrokenSchema:
        key = self.key_for(spec)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry
        entry = _compile(spec.parameters)
        with self._lock:
            self.compiled += 1
            self._entries[key] = entry
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _compile(schema: Any) -> _Compiled | _BrokenSchema:
    try:
        Draft202012Validator.check_schema(schema, format_checker=patterns.SCHEMA_FORMAT_CHECKER)
        validator = patterns.Validator(schema, format_checker=patterns.FORMAT_CHECKER)
        return _Compiled(validator, compile_fast_check(schema))
    except SchemaError as exc:
        where = to_pointer(list(exc.absolute_path))
        unsupported = patterns.unsupported_pattern_message(exc)
        message = (
            f"the tool's parameter schema cannot be used: at {where or '(root)'}, {unsupported}"
            if unsupported
            else f"the tool's parameter schema is invalid: {_clip(exc.message)}"
        )
        return _BrokenSchema(
            ToolError(ErrorCode.EXECUTION_ERROR, message, {"schema_pointer": where})
        )
    except Exception as exc:  # jsonschema may raise anything on hostile schemas
        return _BrokenSchema(
            ToolError(
                ErrorCode.EXECUTION_ERROR,
                f"the tool's parameter schema cannot be used: {type(exc).__name__}",
                {},
            )
        )


default_cache = ValidatorCache()


def validate_arguments(
    spec: ToolSpec, arguments: dict[str, Any], cache: ValidatorCache | None = None
) -> ToolError | None:
    """None when the arguments satisfy the tool's schema, else the ``VALIDATION_ERROR``."""
    return check_arguments((cache or default_cache).get(spec), arguments)


def check_arguments(
    entry: _Compiled | _BrokenSchema, arguments: dict[str, Any]
) -> ToolError | None:
    """`validate_arguments` with the cache entry already looked up (once per batch and tool)."""
    if isinstance(entry, _BrokenSchema):
        return entry.error
    if entry.fast is not None and entry.fast(arguments):
        return None
    try:
        errors = list(entry.validator.iter_errors(arguments))
    except Exception as exc:  # e.g. an unresolvable $ref or a bad regex inside the schema
        return ToolError(
            ErrorCode.EXECUTION_ERROR,
            f"the tool's parameter schema cannot be applied: {type(exc).__name__}: "
            f"{_clip(str(exc))}",
            {},
        )
    if not errors:
        return None
    errors.sort(key=lambda e: [str(part) for part in e.absolute_path])
    reported = [
        {
            "pointer": to_pointer(list(error.absolute_path)),
            "message": _clip(error.message),
            "keyword": str(error.validator),
        }
        for error in errors[:MAX_REPORTED_ERRORS]
    ]
    first = reported[0]
    where = first["pointer"] or "(root)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    details: dict[str, Any] = {"errors": reported}
    if len(errors) > MAX_REPORTED_ERRORS:
        details["truncated"] = len(errors) - MAX_REPORTED_ERRORS
    return ToolError(
        ErrorCode.VALIDATION_ERROR,
        f"arguments do not match the schema: {where}: {first['message']}{more}",
        details,
    )


def _clip(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"
