"""The engine's error model: the codes a model sees and the exception implementations raise.

Errors are values inside the engine: every failed call becomes a `ToolError` in its
`CallResult`, whose content is ``{"success": false, "error": {"code", "message", "details"}}``
(DESIGN.md, "The error model"). Implementations raise `ToolFailure` to choose a code and to say
whether the failure is worth retrying; any other exception is an `EXECUTION_ERROR`.

This module must not import Django.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    FUNCTION_NOT_FOUND = "FUNCTION_NOT_FOUND"
    INVALID_JSON = "INVALID_JSON"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    TIMEOUT = "TIMEOUT"
    RATE_LIMITED = "RATE_LIMITED"
    DENIED = "DENIED"
    EXECUTION_ERROR = "EXECUTION_ERROR"
    UPSTREAM_ERROR = "UPSTREAM_ERROR"
    CANCELLED = "CANCELLED"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ToolError:
    """Why a call failed, as the model will read it."""

    code: ErrorCode
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code.value, "message": self.message, "details": self.details}


class ToolFailure(Exception):
    """Raised by an implementation to fail a call with a specific code.

    `retryable` marks transient failures (timeouts, connection errors, HTTP 429/5xx) that the
    engine may retry when the tool allows retries; `retry_after` is the upstream's hint in
    seconds (e.g. from a ``Retry-After`` header).
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = ErrorCode(code)
        self.message = message
        self.details = dict(details or {})
        self.retryable = retryable
        self.retry_after = retry_after

    def to_error(self) -> ToolError:
        return ToolError(self.code, self.message, self.details)


class RateLimitExceeded(Exception):
    """Raised by a `Limiter` that rejects (rather than delays) a call over its rate."""

    def __init__(self, tool_name: str, rate_per_s: float, retry_after: float) -> None:
        super().__init__(f"tool {tool_name!r} is limited to {rate_per_s:g} calls per second")
        self.tool_name = tool_name
        self.rate_per_s = rate_per_s
        self.retry_after = retry_after
