"""fcstudio's tool-call execution engine.

Plain dataclasses in (`ToolSpec`, `ToolCall`), results and events out (`CallResult`,
`BatchResult`, `Event`). The engine validates, runs, retries and times out tool calls under one
of three strategies, applies the error model of DESIGN.md, and reports every step to an event
subscriber; persistence, the live timeline and the audit trail are subscribers.

The engine must not import Django: it runs the same inline, in a channels worker, in a Celery
worker and alone in the benchmark (tests/engine/test_no_django.py guards this).
"""

from __future__ import annotations

from .arguments import parse_arguments, resolve_pointer
from .calls import BatchResult, CallResult, ToolCall, ToolSpec, json_safe
from .errors import ErrorCode, RateLimitExceeded, ToolError, ToolFailure
from .events import Event, EventKind, EventSubscriber
from .executor import execute_batch, execute_batch_sync
from .guards import GuardConfigError, GuardSet, Violation, parse_guards
from .implementations import (
    CallContext,
    HttpImplementation,
    HttpPolicy,
    Implementation,
    MockImplementation,
    PythonImplementation,
    implementation_from_config,
)
from .limits import InMemoryLimiter, KeyedLimiter, Limiter, Permit, ScopedLimiter, TokenBucket
from .options import STRATEGIES, Approver, ExecutionOptions, Guard, Strategy
from .retry import RetryPolicy
from .validation import ValidatorCache, validate_arguments

__all__ = [
    "STRATEGIES",
    "Approver",
    "BatchResult",
    "CallContext",
    "CallResult",
    "ErrorCode",
    "Event",
    "EventKind",
    "EventSubscriber",
    "ExecutionOptions",
    "Guard",
    "GuardConfigError",
    "GuardSet",
    "HttpImplementation",
    "HttpPolicy",
    "Implementation",
    "InMemoryLimiter",
    "KeyedLimiter",
    "Limiter",
    "MockImplementation",
    "Permit",
    "PythonImplementation",
    "RateLimitExceeded",
    "RetryPolicy",
    "ScopedLimiter",
    "Strategy",
    "TokenBucket",
    "ToolCall",
    "ToolError",
    "ToolFailure",
    "ToolSpec",
    "ValidatorCache",
    "Violation",
    "execute_batch",
    "execute_batch_sync",
    "implementation_from_config",
    "json_safe",
    "parse_arguments",
    "parse_guards",
    "resolve_pointer",
    "validate_arguments",
]
