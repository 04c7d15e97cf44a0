"""From stored tools to the engine's ToolSpecs, with the operator's settings applied.

The one place that reads Django settings on the engine's behalf: which Python modules tools may
import and which private HTTP targets an admin allowed. A tool version whose implementation is
misconfigured still becomes a spec, one whose calls fail with a clear EXECUTION_ERROR, so a batch
never breaks on one bad tool.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from .engine import (
    CallContext,
    ErrorCode,
    HttpPolicy,
    ToolFailure,
    ToolSpec,
    implementation_from_config,
)
from .models import ToolVersion


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
    return HttpPolicy(
        allow_private=settings.FCSTUDIO_HTTP_ALLOW_PRIVATE,
        allowed_hosts=frozenset(settings.FCSTUDIO_HTTP_ALLOWED_HOSTS),
    )


def spec_for(version: ToolVersion) -> ToolSpec:
    """The engine's view of one pinned tool version."""
    snapshot = version.snapshot
    config = dict(snapshot.get("implementation") or {})
    kind = str(config.pop("kind", "mock"))
    try:
        implementation: Any = implementation_from_config(
            kind,
            config,
            allowed_modules=frozenset(settings.FCSTUDIO_TOOL_MODULES),
            http_policy=http_policy(),
        )
    except (ValueError, TypeError) as exc:
        implementation = Misconfigured(str(exc))
    return ToolSpec(
        name=snapshot["name"],
        parameters=snapshot.get("parameters") or {"type": "object", "properties": {}},
        implementation=implementation,
        timeout_s=max(float(snapshot.get("timeout_s") or 30.0), 0.001),
        retries=max(int(snapshot.get("retries") or 0), 0),
        requires_approval=bool(snapshot.get("requires_approval", False)),
        version_key=f"tool-version-{version.pk}",
    )
