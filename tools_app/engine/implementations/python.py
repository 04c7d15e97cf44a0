"""The ``python`` implementation: call a function from an explicitly allowed module.

``{"callable": "package.module:function"}`` (or the dotted ``package.module.function``) is
importable only when ``package.module`` is exactly one of `allowed_modules`: no parent or child
modules, no attribute paths (``os:path.join`` is refused even when ``os`` is allowed), no private
names, and the function must be defined in that module (re-exports such as a ``from os import
system`` inside an allowed module are refused). Arguments are passed as keyword arguments.

By default a call runs in a child process of a `PythonProcessPool` (the child imports the
callable with the same checks), so a tool that hogs the CPU or memory cannot stall the process
that serves pages and drives runs: the engine's timeout kills the child. ``"in_process": true``
opts a trusted, fast tool out of the pool: async functions are then awaited on the loop and sync
ones run where the strategy puts blocking code, with no way to stop them at the timeout.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

from ..process_pool import PythonProcessPool, shared_pool
from .base import CallContext

_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
CONFIG_KEYS = frozenset({"callable", "in_process"})


def split_target(target: str) -> tuple[str, str]:
    """``(module, function)`` from ``module:function`` or ``module.function``."""
    if not isinstance(target, str) or not target:
        raise ValueError("python config needs 'callable', e.g. 'package.module:function'")
    if ":" in target:
        module, _, name = target.partition(":")
    else:
        module, _, name = target.rpartition(".")
    if not module or not _MODULE.fullmatch(module):
        raise ValueError(f"{target!r} does not name a module (use 'package.module:function')")
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"{target!r}: the function must be one public name in the module, got {name!r}"
        )
    return module, name


def resolve_callable(target: str, allowed_modules: Collection[str]) -> Callable[..., Any]:
    module_name, name = split_target(target)
    if module_name not in set(allowed_modules):
        raise ValueError(f"module {module_name!r} is not in the allowed modules")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"module {module_name!r} cannot be imported: {exc}") from exc
    function: object = getattr(module, name, None)
    if function is None:
        raise ValueError(f"module {module_name!r} has no {name!r}")
    if inspect.ismodule(function) or inspect.isclass(function) or not callable(function):
        raise ValueError(f"{module_name}:{name} is not a function")
    if getattr(function, "__module__", None) != module_name:
        raise ValueError(
            f"{module_name}:{name} is defined in {getattr(function, '__module__', '?')!r}, "
            f"not in {module_name!r}; only functions defined in an allowed module may be called"
        )
    return function


def check_config(
    config: Mapping[str, Any], allowed_modules: Collection[str]
) -> tuple[str, Callable[..., Any], bool]:
    """``(target, function, in_process)`` of a python config; ValueError says what is wrong.

    The one check of a python tool's config, used when a tool is saved or imported as well as
    when it runs.
    """
    if not isinstance(config, Mapping):
        raise ValueError("python config must be an object")
    unknown = set(config) - CONFIG_KEYS
    if unknown:
        raise ValueError(f"python config has unknown keys: {', '.join(sorted(unknown))}")
    in_process = config.get("in_process", False)
    if not isinstance(in_process, bool):
        raise ValueError("python config 'in_process' must be true or false")
    target = config.get("callable", "")
    return target, resolve_callable(target, allowed_modules), in_process


class PythonImplementation:
    """A Python callable as a tool: in a child process of `pool`, or in-process without one."""

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        target: str = "",
        pool: PythonProcessPool | None = None,
        allowed_modules: Collection[str] = (),
    ) -> None:
        self.function = function
        self.target = target or getattr(function, "__qualname__", repr(function))
        self.is_async = inspect.iscoroutinefunction(function)
        self.pool = pool
        self.allowed_modules = tuple(sorted(allowed_modules))
        if pool is not None and not target:
            raise ValueError("a pooled python tool needs its target, 'package.module:function'")

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        *,
        allowed_modules: Collection[str],
        pool: PythonProcessPool | None = None,
    ) -> PythonImplementation:
        """The tool a config names; in `pool` (default: the shared one) unless ``in_process``."""
        target, function, in_process = check_config(config, allowed_modules)
        if in_process:
            return cls(function, target=target)
        return cls(
            function,
            target=target,
            pool=pool or shared_pool(),
            allowed_modules=allowed_modules,
        )

    async def invoke(self, arguments: dict[str, Any], context: CallContext) -> Any:
        if self.pool is not None:

            def started(worker: str) -> None:
                context.worker = worker

            value, _ = await self.pool.call(
                self.target, self.allowed_modules, arguments, on_start=started
            )
            return value
        if self.is_async:
            return await self.function(**arguments)
        result = await context.run_sync(self.function, **arguments)
        if inspect.isawaitable(result):
            result = await result
        return result
