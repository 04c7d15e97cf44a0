"""The ``mock`` implementation: a canned response after a simulated latency, failing on demand.

For designing tools before they exist and for latency studies. The response is a JSON template
whose strings may contain ``{{ argument }}`` or ``{{ nested.path }}`` placeholders; a string that
is exactly one placeholder is replaced by the typed value. Latency is an ``asyncio.sleep``, so a
timeout really cancels it. Pass a seeded `random.Random` for reproducible latencies and errors.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import Mapping
from typing import Any

from ..errors import ErrorCode, ToolFailure
from .base import CallContext, ConfigError

ERROR_KINDS = ("EXECUTION_ERROR", "TIMEOUT", "UPSTREAM_ERROR", "RATE_LIMITED")
CONFIG_KEYS = frozenset({"response", "latency_ms", "error_rate", "error_kind", "seed"})
MAX_LATENCY_MS = 600_000
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
_MISSING = object()


class MockImplementation:
    def __init__(
        self,
        response: Any = None,
        *,
        latency_ms: float | tuple[float, float] | list[float] = 0,
        error_rate: float = 0.0,
        error_kind: str = "EXECUTION_ERROR",
        rng: random.Random | None = None,
    ) -> None:
        self.response = response
        self.latency_ms: float | tuple[float, float] = (
            (float(latency_ms[0]), float(latency_ms[1]))
            if isinstance(latency_ms, (list, tuple))
            else float(latency_ms)
        )
        self.error_rate = error_rate
        self.error_kind = ErrorCode(error_kind)
        self.rng = rng or random.Random()

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], *, rng: random.Random | None = None
    ) -> MockImplementation:
        if not isinstance(config, Mapping):
            raise ConfigError("mock config must be an object")
        unknown = set(config) - CONFIG_KEYS
        if unknown:
            raise ConfigError(f"mock config has unknown keys: {', '.join(sorted(unknown))}")
        latency_value = _latency(config.get("latency_ms", 0))
        error_rate = config.get("error_rate", 0.0)
        if not _is_number(error_rate) or not 0 <= error_rate <= 1:
            raise ConfigError("mock error_rate must be a number between 0 and 1", "error_rate")
        error_kind = config.get("error_kind", "EXECUTION_ERROR")
        if error_kind not in ERROR_KINDS:
            raise ConfigError(
                f"mock error_kind must be one of {', '.join(ERROR_KINDS)}", "error_kind"
            )
        response = config.get("response")
        try:
            json.dumps(response, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"mock response must be JSON data: {exc}", "response") from exc
        seed = config.get("seed")
        if rng is None and seed is not None:
            if not isinstance(seed, int) or isinstance(seed, bool):
                raise ConfigError("mock seed must be an integer", "seed")
            rng = random.Random(seed)
        return cls(
            response,
            latency_ms=latency_value,
            error_rate=float(error_rate),
            error_kind=error_kind,
            rng=rng,
        )

    def latency_s(self) -> float:
        if isinstance(self.latency_ms, tuple):
            return self.rng.uniform(*self.latency_ms) / 1000
        return self.latency_ms / 1000

    async def invoke(self, arguments: dict[str, Any], context: CallContext) -> Any:
        delay = self.latency_s()
        fails = self.error_rate > 0 and self.rng.random() < self.error_rate
        if delay > 0:
            await asyncio.sleep(delay)
        if fails:
            raise ToolFailure(
                self.error_kind,
                f"simulated {self.error_kind.value} from mock tool {context.tool_name!r}",
                {"simulated": True},
                retryable=self.error_kind is not ErrorCode.EXECUTION_ERROR,
            )
        if self.response is None:
            return {"ok": True, "tool": context.tool_name, "arguments": arguments}
        return render_template(self.response, arguments)


def _latency(latency: Any) -> float | tuple[float, float]:
    if isinstance(latency, (list, tuple)):
        if len(latency) != 2 or not all(_is_number(x) for x in latency):
            raise ConfigError("mock latency_ms must be a number or [min, max]", "latency_ms")
        low, high = float(latency[0]), float(latency[1])
        if low < 0 or high < low:
            raise ConfigError(
                "mock latency_ms: the range's lower end comes first (0 <= min <= max)",
                "latency_ms",
            )
        value: float | tuple[float, float] = (low, high)
    elif _is_number(latency) and latency >= 0:
        value = float(latency)
    else:
        raise ConfigError(
            "mock latency_ms must be a non-negative number or [min, max]", "latency_ms"
        )
    if max(value if isinstance(value, tuple) else (value,)) > MAX_LATENCY_MS:
        raise ConfigError(f"mock latency is capped at {MAX_LATENCY_MS:,} ms", "latency_ms")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def render_template(template: Any, arguments: Mapping[str, Any]) -> Any:
    """`template` with ``{{ path }}`` placeholders in its string values filled from arguments.

    A missing path gives null (whole-string placeholder) or an empty string (inside text).
    """
    if isinstance(template, str):
        whole = _PLACEHOLDER.fullmatch(template.strip())
        if whole is not None:
            value = lookup(arguments, whole.group(1))
            return None if value is _MISSING else value
        return _PLACEHOLDER.sub(lambda m: _as_text(lookup(arguments, m.group(1))), template)
    if isinstance(template, dict):
        return {key: render_template(value, arguments) for key, value in template.items()}
    if isinstance(template, list):
        return [render_template(value, arguments) for value in template]
    return template


def lookup(arguments: Any, path: str) -> Any:
    current = arguments
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def _as_text(value: Any) -> str:
    if value is _MISSING or value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
