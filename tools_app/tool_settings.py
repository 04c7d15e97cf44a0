"""A tool's execution settings: one typed definition the model, versions, editor and bundles use.

`ToolSettings` names every per-tool setting the engine honours (timeout, retries, approval,
limits) with its default; each field's `Rule` gives its bounds and how the editor shows it.
Versions store the settings as top-level snapshot keys (`to_snapshot`); `from_snapshot` reads
any snapshot ever written, old (keys missing), hand-made or damaged, without failing: a value of
the wrong type falls back to the default and one out of bounds is brought within them. Adding a
setting is a field here plus its model column (and migration) in tools_app.models.

Guards and the implementation config are not settings in this sense: they live beside them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from django import forms
from django.core.validators import MinValueValidator
from django.db import models


class RateLimitMode(models.TextChoices):
    WAIT = "wait", "Wait for the next slot"
    REJECT = "reject", "Reject with RATE_LIMITED"


@dataclass(frozen=True)
class Rule:
    """How one setting is bounded and shown; `kind` is its type without None."""

    kind: type
    label: str = ""
    help_text: str = ""
    #: None allowed, meaning "no limit"; an empty form field gives None.
    optional: bool = False
    min_value: float | None = None
    max_value: float | None = None
    choices: type[models.TextChoices] | None = None
    #: Said when a value is under `min_value`, in the editor and on import.
    min_message: str = ""
    #: Whether the browser is told the minimum too (it would then answer before the studio can).
    min_in_browser: bool = True


def setting(default: Any, rule: Rule) -> Any:
    return field(default=default, metadata={"rule": rule})


@dataclass(frozen=True)
class ToolSettings:
    timeout_s: float = setting(
        30.0, Rule(float, label="Timeout (s)", min_value=0.01, max_value=3600)
    )
    retries: int = setting(0, Rule(int, min_value=0, max_value=10))
    requires_approval: bool = setting(
        False, Rule(bool, help_text="Calls wait for a person to approve them.")
    )
    concurrency_limit: int | None = setting(
        None,
        Rule(
            int,
            label="Max concurrent calls",
            help_text="Empty: no limit.",
            optional=True,
            min_value=1,
            max_value=1000,
            min_message="At least 1 call at a time; leave it empty for no limit.",
        ),
    )
    rate_limit_per_s: float | None = setting(
        None,
        Rule(
            float,
            label="Calls per second",
            help_text="Empty: no limit. 0.5 is one call every two seconds.",
            optional=True,
            min_value=0.01,
            max_value=10_000,
            min_message=(
                "At least 0.01 calls per second (one every 100 s); leave it empty for no limit."
            ),
            min_in_browser=False,
        ),
    )
    rate_limit_mode: str = setting(
        RateLimitMode.WAIT.value,
        Rule(str, label="When over the rate", choices=RateLimitMode),
    )

    @classmethod
    def from_snapshot(cls, snapshot: Mapping[str, Any]) -> ToolSettings:
        """The settings a snapshot (or bundle entry) holds; never raises."""
        if not isinstance(snapshot, Mapping):
            return cls()
        values = {}
        for name, rule in rules().items():
            if name in snapshot:
                values[name] = _tolerated(snapshot[name], rule, DEFAULTS[name])
        return cls(**values)

    @classmethod
    def of(cls, tool: Any) -> ToolSettings:
        """The settings on a tool row (or any object with the settings as attributes)."""
        return cls(**{name: getattr(tool, name) for name in rules()})

    @classmethod
    def from_form(cls, cleaned: Mapping[str, Any]) -> ToolSettings:
        return cls(**{name: cleaned[name] for name in rules()})

    def to_snapshot(self) -> dict[str, Any]:
        """The snapshot keys, in the order versions have always stored them."""
        return asdict(self)

    def form_initial(self) -> dict[str, Any]:
        """The editor's initial values, each as a person would type it (`shown`)."""
        return {name: shown(value) for name, value in asdict(self).items()}

    def apply_to(self, tool: Any) -> None:
        for name, value in asdict(self).items():
            setattr(tool, name, value)


def shown(value: Any) -> Any:
    """A setting as a person would type it: 30, not 30.0, whether new or saved."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def rules() -> dict[str, Rule]:
    return {f.name: f.metadata["rule"] for f in fields(ToolSettings)}


DEFAULTS: dict[str, Any] = asdict(ToolSettings())


def _is_number(value: Any, kind: type) -> bool:
    if isinstance(value, bool):
        return False
    if kind is int:
        return isinstance(value, int)
    return isinstance(value, (int, float)) and math.isfinite(value)


def _tolerated(value: Any, rule: Rule, default: Any) -> Any:
    if rule.optional and value is None:
        return None
    if rule.choices is not None:
        return value if value in rule.choices.values else default
    if rule.kind is bool:
        return value if isinstance(value, bool) else default
    if rule.kind in (int, float):
        if not _is_number(value, rule.kind):
            return default
        if rule.min_value is not None and value < rule.min_value:
            # Under a limit's minimum (0, negative) has always meant "no limit".
            return None if rule.optional else rule.kind(rule.min_value)
        if rule.max_value is not None and value > rule.max_value:
            return rule.kind(rule.max_value)
        return rule.kind(value)
    return value if isinstance(value, rule.kind) else default


def import_problem(entry: Mapping[str, Any]) -> str:
    """What is wrong with the settings of a bundle entry or version snapshot, or ``""``.

    Stricter than `from_snapshot`: a bundle that says something unexpected is refused rather
    than quietly read as the default.
    """
    for name, rule in rules().items():
        if name not in entry:
            continue
        value = entry[name]
        if rule.optional and value is None:
            continue
        if rule.choices is not None:
            if value not in rule.choices.values:
                allowed = " or ".join(f"`{choice}`" for choice in rule.choices.values)
                return f"`{name}` must be {allowed}."
        elif rule.kind is bool:
            if not isinstance(value, bool):
                return f"`{name}` must be true or false."
        elif rule.kind is int and rule.optional:
            if not _is_number(value, int) or value < (rule.min_value or 0):
                return f"`{name}` must be a whole number of at least {rule.min_value:g}, or null."
        elif rule.optional:
            if not _is_number(value, rule.kind) or value <= 0:
                return f"`{name}` must be a positive number, or null."
        elif not _is_number(value, rule.kind):
            return f"`{name}` must be a number."
    return ""


def form_fields() -> dict[str, forms.Field]:
    """The editor's fields for the settings, named as the settings."""
    built: dict[str, forms.Field] = {}
    for name, rule in rules().items():
        default = DEFAULTS[name]
        options: dict[str, Any] = {"required": not rule.optional and rule.kind is not bool}
        if rule.label:
            options["label"] = rule.label
        if rule.help_text:
            options["help_text"] = rule.help_text
        if default is not None and default is not False:
            options["initial"] = shown(default)
        if rule.choices is not None:
            built[name] = forms.TypedChoiceField(
                choices=rule.choices.choices,
                empty_value=default,
                **{**options, "required": False, "initial": rule.choices(default)},
            )
            continue
        if rule.kind is bool:
            built[name] = forms.BooleanField(**options)
            continue
        field_class = forms.IntegerField if rule.kind is int else forms.FloatField
        if rule.min_in_browser:
            options["min_value"] = rule.min_value
            if rule.min_message:
                options["error_messages"] = {"min_value": rule.min_message}
        if rule.max_value is not None:
            options["max_value"] = int(rule.max_value) if rule.kind is int else rule.max_value
        built[name] = field_class(**options)
        if not rule.min_in_browser and rule.min_value is not None:
            built[name].validators.append(
                MinValueValidator(rule.min_value, message=rule.min_message or None)
            )
    return built
