"""Forms for the Batch lab and the Try it panel: calls come in as JSON a person can edit."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.conf import settings

from tools_app import schema
from tools_app.engine import STRATEGIES, ToolCall

from .execution import BatchOptions, new_call_id

STRATEGY_CHOICES = [(name, name) for name in STRATEGIES]
MONO = {"class": "code", "spellcheck": "false", "autocomplete": "off", "data-code-editor": ""}


def max_calls() -> int:
    return int(getattr(settings, "FCSTUDIO_MAX_BATCH_CALLS", 256))


class BatchForm(forms.Form):
    calls = forms.CharField(
        widget=forms.Textarea(attrs={**MONO, "rows": 14}),
        max_length=2_000_000,
        help_text='A JSON array of {"name": tool, "arguments": {…} or a raw string}.',
    )
    strategy = forms.ChoiceField(choices=STRATEGY_CHOICES, initial="asyncio")
    max_concurrency = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=1024,
        label="Max concurrency",
        help_text="Empty: no limit beyond the strategy's.",
    )
    fail_fast = forms.BooleanField(
        required=False, label="Fail fast", help_text="Cancel the rest after the first failure."
    )

    def __init__(self, *args: Any, tool_names: list[str], **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.tool_names = tool_names

    def clean_calls(self) -> list[ToolCall]:
        value, problem = schema.parse_json(self.cleaned_data["calls"])
        if problem is not None:
            raise forms.ValidationError(problem.message)
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list) or not value:
            raise forms.ValidationError("Give a JSON array with at least one call.")
        if len(value) > max_calls():
            raise forms.ValidationError(f"A batch holds at most {max_calls()} calls.")
        calls = []
        for index, entry in enumerate(value, start=1):
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise forms.ValidationError(f'Call {index} needs a "name" string.')
            arguments = entry.get("arguments", {})
            raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
            call_id = entry.get("id") if isinstance(entry.get("id"), str) else new_call_id()
            calls.append(ToolCall(id=call_id[:100], name=entry["name"], arguments=raw))
        return calls

    def options(self) -> BatchOptions:
        return BatchOptions(
            strategy=self.cleaned_data["strategy"],
            max_concurrency=self.cleaned_data.get("max_concurrency"),
            fail_fast=self.cleaned_data.get("fail_fast", False),
        )


class FillForm(forms.Form):
    """Generate N example calls of one tool into the lab's calls box."""

    tool = forms.CharField(max_length=64)
    count = forms.IntegerField(min_value=1, initial=8)

    def clean_count(self) -> int:
        count = self.cleaned_data["count"]
        if count > max_calls():
            raise forms.ValidationError(f"A batch holds at most {max_calls()} calls.")
        return count


def example_arguments(parameters: dict[str, Any], variant: int = 0) -> dict[str, Any]:
    """Plausible arguments for a schema, varied by `variant` so batches are not all alike."""
    properties = parameters.get("properties") if isinstance(parameters, dict) else None
    if not isinstance(properties, dict):
        return {}
    required = parameters.get("required") or []
    example: dict[str, Any] = {}
    for name, prop in properties.items():
        if not isinstance(prop, dict) or (name not in required and "default" not in prop):
            continue
        example[name] = example_value(name, prop, variant)
    return example


def example_value(name: str, prop: dict[str, Any], variant: int) -> Any:
    if isinstance(prop.get("examples"), list) and prop["examples"]:
        return prop["examples"][variant % len(prop["examples"])]
    if "default" in prop:
        return prop["default"]
    if isinstance(prop.get("enum"), list) and prop["enum"]:
        return prop["enum"][variant % len(prop["enum"])]
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "integer":
        low = prop.get("minimum", 1)
        high = prop.get("maximum", low + 99)
        return int(low + variant % max(int(high - low) + 1, 1))
    if kind == "number":
        low = prop.get("minimum", 1)
        return float(low) + 0.5 * (variant + 1)
    if kind == "boolean":
        return variant % 2 == 0
    if kind == "array":
        return []
    if kind == "object":
        return example_arguments(prop, variant)
    formats = {
        "date": "2026-01-15",
        "date-time": "2026-01-15T09:30:00Z",
        "email": "a@example.com",
        "uri": "https://example.com/",
    }
    if prop.get("format") in formats:
        return formats[prop["format"]]
    return f"{name} {variant + 1}"
