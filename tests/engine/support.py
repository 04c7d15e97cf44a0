"""Small builders shared by the engine tests (plain helpers, no conftest, no Django)."""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable
from typing import Any

from tools_app.engine import (
    CallContext,
    Event,
    MockImplementation,
    RetryPolicy,
    ToolCall,
    ToolSpec,
)

OBJECT = {"type": "object"}
FAST_RETRIES = RetryPolicy(base_delay_s=0.001, max_delay_s=0.005, rng=random.Random(7))


class FunctionImpl:
    """An implementation made of an async function ``(arguments, context) -> result``."""

    def __init__(self, function: Callable[[dict[str, Any], CallContext], Awaitable[Any]]) -> None:
        self.function = function
        self.invocations: list[tuple[dict[str, Any], int]] = []

    async def invoke(self, arguments: dict[str, Any], context: CallContext) -> Any:
        self.invocations.append((arguments, context.attempt))
        return await self.function(arguments, context)


def returning(value: Any) -> FunctionImpl:
    async def function(arguments: dict[str, Any], context: CallContext) -> Any:
        return value

    return FunctionImpl(function)


def echo_spec(name: str = "echo", schema: dict[str, Any] | None = None, **options: Any) -> ToolSpec:
    implementation = options.pop("implementation", None) or MockImplementation()
    return ToolSpec(name, schema if schema is not None else OBJECT, implementation, **options)


def call(call_id: str, name: str = "echo", arguments: str | dict[str, Any] = "{}") -> ToolCall:
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ToolCall(call_id, name, raw)


def body(result: Any) -> dict[str, Any]:
    return json.loads(result.content)


class Recorder:
    """An `on_event` subscriber that keeps every event."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def kinds(self, call_id: str | None = None) -> list[str]:
        return [e.kind.value for e in self.events if call_id is None or e.call_id == call_id]

    def of(self, kind: str, call_id: str | None = None) -> list[Event]:
        return [
            e
            for e in self.events
            if e.kind.value == kind and (call_id is None or e.call_id == call_id)
        ]
