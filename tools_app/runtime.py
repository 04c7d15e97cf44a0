"""From stored tools to the engine's ToolSpecs, with the operator's settings applied.

The one place that reads Django settings on the engine's behalf: which Python modules tools may
import, the size and memory cap of the process pool Python tools run in, and which private HTTP
targets an admin allowed; `python_config_problem` is the check of a python tool's config when it
is saved or imported (the same one that runs when it is called). Also the one place HTTP header
secrets are decrypted, into the plain headers the engine sends. A tool version whose
implementation is misconfigured (or whose argument guards cannot be read) still becomes a spec,
one whose calls fail with a clear EXECUTION_ERROR, so a batch never breaks on one bad tool.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from fcstudio import outbound, secrets

from .engine import (
    CallContext,
    ErrorCode,
    GuardConfigError,
    GuardSet,
    HttpPolicy,
    ToolFailure,
    ToolSpec,
    implementation_from_config,
)
from .engine.implementations.python import check_config
from .engine.process_pool import PythonProcessPool, shared_pool
from .models import RateLimitMode, ToolVersion


class Misconfigured:
    """An implementation that refuses every call, saying what is wrong with the tool."""

    def __init__(self, problem: str) -> None:
        self.problem = problem

    async def invoke(self, arguments: dict[str, Any], context: CallContext) -> Any:
        raise ToolFailure(
            ErrorCode.EXECUTION_ERROR,
            f"The tool's implementation is misconfigured: {self.problem}",
        )


def http_policy() -> HttpPolicy:
    return outbound.tool_policy()


def python_pool() -> PythonProcessPool:
    """This process's pool for Python tools, sized by the settings."""
    return shared_pool(settings.FCSTUDIO_PYTHON_WORKERS, settings.FCSTUDIO_PYTHON_MEMORY_MB)


def python_config_problem(config: Any) -> str:
    """Why a python tool's config (without ``kind``) cannot run here, or ``""``."""
    try:
        check_config(config, frozenset(settings.FCSTUDIO_TOOL_MODULES))
    except (ValueError, TypeError) as exc:
        return str(exc)
    return ""


def spec_for(version: ToolVersion) -> ToolSpec:
    """The engine's view of one pinned tool version."""
    snapshot = version.snapshot
    config = dict(snapshot.get("implementation") or {})
    kind = str(config.pop("kind", "mock"))
    try:
        if "headers" in config:
            config["headers"] = plain_headers(config["headers"])
        pooled = python_pool() if kind == "python" and not config.get("in_process") else None
        implementation: Any = implementation_from_config(
            kind,
            config,
            allowed_modules=frozenset(settings.FCSTUDIO_TOOL_MODULES),
            http_policy=http_policy(),
            python_pool=pooled,
        )
    except (ValueError, TypeError) as exc:
        implementation = Misconfigured(str(exc))
    try:
        guards = GuardSet.from_config(snapshot.get("guards"))
    except GuardConfigError as exc:  # fail closed: a tool whose guards cannot be read never runs
        guards = None
        implementation = Misconfigured(f"its argument guards are unusable: {exc}")
    concurrency = snapshot.get("concurrency_limit")
    rate = snapshot.get("rate_limit_per_s")
    mode = snapshot.get("rate_limit_mode")
    return ToolSpec(
        name=snapshot["name"],
        parameters=snapshot.get("parameters") or {"type": "object", "properties": {}},
        implementation=implementation,
        timeout_s=max(float(snapshot.get("timeout_s") or 30.0), 0.001),
        retries=max(int(snapshot.get("retries") or 0), 0),
        requires_approval=bool(snapshot.get("requires_approval", False)),
        concurrency_limit=concurrency if _positive(concurrency, int) else None,
        rate_limit_per_s=float(rate) if _positive(rate, (int, float)) else None,
        rate_limit_mode="reject" if mode == RateLimitMode.REJECT else "wait",
        version_key=f"tool-version-{version.pk}",
        guards=guards,
    )


def plain_headers(stored: Any) -> dict[str, str]:
    """The headers the engine sends, decrypted from `{name: {"secret": token}}`.

    Raises ValueError naming the header, never its value, when one cannot be decrypted.
    """
    if not isinstance(stored, dict):
        raise ValueError("http headers must be an object")
    headers: dict[str, str] = {}
    for name, entry in stored.items():
        token = entry.get("secret") if isinstance(entry, dict) else None
        if isinstance(entry, str):  # written by hand, before values were encrypted
            headers[name] = entry
        elif not isinstance(token, str):
            raise ValueError(f"header {name} has no value (a bundle withheld it); re-enter it")
        else:
            try:
                headers[name] = secrets.decrypt(token)
            except secrets.SecretError:
                raise ValueError(f"cannot decrypt header {name}; re-enter it") from None
    return headers


def _positive(value: Any, kind: type | tuple[type, ...]) -> bool:
    return isinstance(value, kind) and not isinstance(value, bool) and value > 0
