"""Tool implementations (mock, http, python) and building one from a stored config.

This package must not import Django.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping
from typing import Any

from ..process_pool import PythonProcessPool
from .base import CallContext, ConfigError, Implementation
from .http import HttpImplementation, HttpPolicy
from .mock import MockImplementation
from .python import PythonImplementation

KINDS = ("mock", "http", "python")


def implementation_from_config(
    kind: str,
    config: Mapping[str, Any],
    *,
    allowed_modules: Collection[str] = frozenset(),
    http_policy: HttpPolicy | None = None,
    rng: random.Random | None = None,
    python_pool: PythonProcessPool | None = None,
) -> Implementation:
    """Build the implementation a tool version describes; ValueError says what is wrong.

    Python tools run in `python_pool` (default: the process's shared pool of default size)
    unless their config opts into ``in_process``.
    """
    if kind == "mock":
        return MockImplementation.from_config(config, rng=rng)
    if kind == "http":
        return HttpImplementation.from_config(config, policy=http_policy or HttpPolicy())
    if kind == "python":
        return PythonImplementation.from_config(
            config, allowed_modules=allowed_modules, pool=python_pool
        )
    raise ValueError(f"unknown implementation kind {kind!r}; choose one of {', '.join(KINDS)}")


__all__ = [
    "KINDS",
    "CallContext",
    "ConfigError",
    "HttpImplementation",
    "HttpPolicy",
    "Implementation",
    "MockImplementation",
    "PythonImplementation",
    "implementation_from_config",
]
