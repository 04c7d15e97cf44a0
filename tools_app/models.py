"""Catalogs of tools and their immutable version history.

A Tool row is the working copy a person edits; every save also writes a ToolVersion, a frozen
snapshot of everything a run needs (definition and implementation), so conversations can pin the
exact version they used and the history page can diff any two.
"""

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from fcstudio.models import Team
from tools_app.engine.untrusted import UntrustedJSONDecoder, UntrustedJSONEncoder
from tools_app.tool_settings import DEFAULTS, RateLimitMode, ToolSettings

__all__ = ["RateLimitMode"]  # re-exported: older code imports it from here

#: For every JSONField: values are stored cleaned (they fit PostgreSQL's jsonb) and cleaned again
#: on load, so rows written before cleaning existed still render (tools_app.engine.untrusted).
UNTRUSTED_JSON: dict[str, Any] = {"encoder": UntrustedJSONEncoder, "decoder": UntrustedJSONDecoder}


class Catalog(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="catalogs")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "slug"], name="catalog_slug_unique_in_team")
        ]

    def __str__(self) -> str:
        return self.name


class ImplementationKind(models.TextChoices):
    MOCK = "mock", "Mock"
    HTTP = "http", "HTTP webhook"
    PYTHON = "python", "Python callable"


class Tool(models.Model):
    catalog = models.ForeignKey(Catalog, on_delete=models.CASCADE, related_name="tools")
    name = models.CharField(max_length=64)
    original_name = models.CharField(
        max_length=255, blank=True, help_text="The name in the source this tool was imported from."
    )
    description = models.TextField(blank=True)
    parameters = models.JSONField(**UNTRUSTED_JSON, default=dict)
    strict = models.BooleanField(default=False)
    implementation_kind = models.CharField(
        max_length=10, choices=ImplementationKind.choices, default=ImplementationKind.MOCK
    )
    implementation_config = models.JSONField(**UNTRUSTED_JSON, default=dict, blank=True)
    # One column per setting of tools_app.tool_settings.ToolSettings, its default from there.
    timeout_s = models.FloatField(default=DEFAULTS["timeout_s"])
    retries = models.PositiveSmallIntegerField(default=DEFAULTS["retries"])
    requires_approval = models.BooleanField(default=DEFAULTS["requires_approval"])
    # Per-tool limits the engine's limiter enforces; empty means unlimited.
    concurrency_limit = models.PositiveIntegerField(null=True, blank=True)
    rate_limit_per_s = models.FloatField(null=True, blank=True)
    rate_limit_mode = models.CharField(
        max_length=10, choices=RateLimitMode.choices, default=RateLimitMode.WAIT
    )
    # Argument guards (tools_app.engine.guards), checked before every call.
    guards = models.JSONField(**UNTRUSTED_JSON, default=list, blank=True)
    version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["catalog", "name"], name="tool_name_unique_in_catalog")
        ]

    def __str__(self) -> str:
        return self.name

    def snapshot(self) -> dict[str, Any]:
        """Everything a version freezes, in a stable order for diffs and bundles.

        HTTP header values are in `implementation.headers` as `{"secret": <Fernet token>}`;
        show a snapshot to a person only through `tools_app.catalog.redacted_snapshot`.
        """
        return {
            "name": self.name,
            "original_name": self.original_name,
            "description": self.description,
            "parameters": self.parameters,
            "strict": self.strict,
            "implementation": {"kind": self.implementation_kind, **self.implementation_config},
            **ToolSettings.of(self).to_snapshot(),
            "guards": self.guards,
        }


# What a snapshot written before a key existed means by its absence.
SNAPSHOT_DEFAULTS: dict[str, Any] = {**DEFAULTS, "guards": []}


class ToolVersion(models.Model):
    tool = models.ForeignKey(Tool, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    snapshot = models.JSONField(**UNTRUSTED_JSON)
    message = models.CharField(max_length=200, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Not auto_now_add: a bundle import keeps each version's original time.
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["tool", "number"], name="one_version_number_per_tool")
        ]

    def __str__(self) -> str:
        return f"{self.tool.name} v{self.number}"
