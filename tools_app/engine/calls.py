"""The engine's plain data: tool specs and calls in, call and batch results out.

Also owns turning a result into the tool message content the model reads (the error model's
envelope), including making any Python value JSON-safe: a result that JSON cannot carry is
converted (to a string, at worst) with a note, never a crash.

This module must not import Django.
"""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any, Literal
from uuid import UUID

from . import untrusted
from .errors import ToolError
from .guards import GuardSet
from .implementations.base import Implementation

RateLimitMode = Literal["wait", "reject"]
Status = Literal["ok", "error"]


@dataclass(frozen=True, eq=False)
class ToolSpec:
    """A tool as the engine runs it.

    `version_key` names this exact schema for the validator cache (e.g. a ToolVersion's pk and
    revision); it must change whenever `parameters` change. Empty means "key by the schema's
    content hash". `guards` are the tool's argument guards, checked after validation.
    """

    name: str
    parameters: dict[str, Any]
    implementation: Implementation
    timeout_s: float = 30.0
    retries: int = 0
    requires_approval: bool = False
    concurrency_limit: int | None = None
    rate_limit_per_s: float | None = None
    rate_limit_mode: RateLimitMode = "wait"
    raw_result: bool = False
    version_key: str = ""
    guards: GuardSet | None = None

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError(f"tool {self.name!r}: timeout_s must be positive")
        if self.retries < 0:
            raise ValueError(f"tool {self.name!r}: retries must be >= 0")
        if self.concurrency_limit is not None and self.concurrency_limit < 1:
            raise ValueError(f"tool {self.name!r}: concurrency_limit must be >= 1")
        if self.rate_limit_per_s is not None and self.rate_limit_per_s <= 0:
            raise ValueError(f"tool {self.name!r}: rate_limit_per_s must be positive")
        if self.rate_limit_mode not in ("wait", "reject"):
            raise ValueError(f"tool {self.name!r}: rate_limit_mode must be 'wait' or 'reject'")


@dataclass(frozen=True)
class ToolCall:
    """One entry of an assistant message's ``tool_calls``; `arguments` is the raw string sent."""

    id: str
    name: str
    arguments: str


@dataclass
class CallResult:
    """The outcome of one call. Times are seconds since the batch started (perf_counter)."""

    call_id: str
    name: str
    status: Status
    result: Any = None
    error: ToolError | None = None
    attempts: int = 0
    queued_at: float = 0.0
    started_at: float | None = None
    finished_at: float = 0.0
    parsed_arguments: dict[str, Any] | None = None
    worker: str | None = None
    raw_result: bool = False
    notes: list[str] = field(default_factory=list)
    _content: str | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def duration_s(self) -> float:
        """Time from the first attempt's start to the end (0 when the call never ran)."""
        return 0.0 if self.started_at is None else self.finished_at - self.started_at

    @property
    def content(self) -> str:
        """The ``tool`` message content for this call, as a JSON string."""
        if self._content is None:
            self._content = render_content(self)
        return self._content

    def to_message(self) -> dict[str, str]:
        return {"role": "tool", "tool_call_id": self.call_id, "content": self.content}


@dataclass
class BatchResult:
    """All results of a batch in the calls' order, with its timing.

    `started_at`/`finished_at` are wall-clock times (UTC) for records; `wall_s` is measured with
    perf_counter. `speedup` is the summed call durations over the batch's wall time.
    """

    results: list[CallResult]
    started_at: datetime
    finished_at: datetime
    wall_s: float
    sum_call_s: float
    speedup: float
    strategy: str

    def messages(self) -> list[dict[str, str]]:
        return [result.to_message() for result in self.results]


def render_content(result: CallResult) -> str:
    if result.error is not None:
        return dumps({"success": False, "error": result.error.to_dict()})
    if result.raw_result:
        return result.result if isinstance(result.result, str) else dumps(result.result)
    body: dict[str, Any] = {"success": True, "result": result.result}
    if result.notes:
        body["note"] = "; ".join(result.notes)
    return dumps(body)


# one encoder: json.dumps builds a new one per call whenever an option differs from its default
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)


def dumps(value: Any) -> str:
    """JSON text for the model; values JSON cannot carry are converted rather than raised."""
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError, RecursionError):
        return _ENCODER.encode(json_safe(value)[0])


_MAX_DEPTH = 64


def json_safe(value: Any) -> tuple[Any, list[str]]:
    """Return `value` as plain JSON data, and notes about anything that had to be converted.

    Common non-JSON types get their natural JSON form (datetimes as ISO strings, sets and tuples
    as lists, Decimals and UUIDs as strings); anything else becomes ``str(value)``.
    Non-finite floats, cycles and absurd nesting are converted too, and strings (keys too) are
    normalised as `untrusted.clean_text` says (lone surrogates and NUL escaped, visibly).
    """
    notes: list[str] = []
    safe = _safe(value, notes, 0, set())
    return safe, notes


def _describe(value: Any) -> str:
    try:
        return untrusted.clean_text(str(value))
    except Exception as exc:  # a broken __str__ must not break the batch
        return f"<unprintable {type(value).__name__}: {type(exc).__name__}>"


def _note(notes: list[str], message: str) -> None:
    if message not in notes and len(notes) < 10:
        notes.append(message)


def _text(value: str, notes: list[str]) -> str:
    if untrusted.is_clean_text(value):
        return value
    _note(notes, "lone surrogates and NUL characters were escaped (\\ud800, \\u0000)")
    return untrusted.clean_text(value)


def _safe(value: Any, notes: list[str], depth: int, seen: set[int]) -> Any:
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):
        return _text(value, notes)
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        _note(notes, "non-finite numbers were converted to strings")
        return untrusted.clean_number(value)
    if depth >= _MAX_DEPTH:
        _note(notes, f"values nested deeper than {_MAX_DEPTH} levels were converted to strings")
        return _describe(value)
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        if id(value) in seen:
            _note(notes, "circular references were replaced by a marker")
            return "<circular reference>"
        seen.add(id(value))
        try:
            if isinstance(value, dict):
                out: dict[str, Any] = {}
                for key, item in value.items():
                    if not isinstance(key, str):
                        scalar = isinstance(key, (int, float, bool)) or key is None
                        key = json.dumps(key) if scalar else _describe(key)
                    out[_text(key, notes)] = _safe(item, notes, depth + 1, seen)
                return out
            items = list(value)
            if isinstance(value, (set, frozenset)):
                with contextlib.suppress(TypeError):  # mixed types keep their order
                    items = sorted(items)
            return [_safe(item, notes, depth + 1, seen) for item in items]
        finally:
            seen.discard(id(value))
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (Decimal, UUID)):
        return str(value)
    if isinstance(value, Enum):
        return _safe(value.value, notes, depth + 1, seen)
    if isinstance(value, bytes):
        try:
            return _text(value.decode("utf-8"), notes)
        except UnicodeDecodeError:
            _note(notes, "binary data was converted to its Python representation")
            return repr(value)
    _note(
        notes,
        f"a {type(value).__name__} value is not JSON-serialisable and was converted to a string",
    )
    return _describe(value)
