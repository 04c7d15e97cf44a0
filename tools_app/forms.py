"""Forms for catalogs, the tool editor and imports; validation delegates to tools_app.schema."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.utils.text import slugify

from fcstudio import secrets
from fcstudio.forms import pasted_or_uploaded

from . import runtime, schema, tool_settings
from .engine.guards import GuardConfigError, parse_guards
from .engine.implementations import ConfigError, HttpImplementation, MockImplementation
from .engine.implementations.http import (
    MAX_HEADERS,
    METHODS,
    header_name_problem,
    header_value_problem,
)
from .models import Catalog, ImplementationKind, Tool
from .tool_settings import ToolSettings

MONO = {"class": "code", "spellcheck": "false", "autocomplete": "off", "autocapitalize": "off"}
# The methods with a body first, POST the default.
HTTP_METHODS = [(m, m) for m in sorted(METHODS, key=lambda m: m in ("GET", "DELETE"))]


class CatalogForm(forms.ModelForm):
    class Meta:
        model = Catalog
        fields = ["name", "slug", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, team: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.team = team
        self.fields["slug"].required = False
        self.fields["slug"].help_text = "Used in URLs and commands; made from the name if empty."

    def clean_slug(self) -> str:
        slug = slugify(self.cleaned_data.get("slug") or self.cleaned_data.get("name") or "")
        if not slug:
            raise forms.ValidationError("Give the catalog a name or slug with letters or digits.")
        taken = Catalog.objects.filter(team=self.team, slug=slug).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(f"This team already has a catalog `{slug}`.")
        return slug


def parse_latency(text: str) -> int | list[int]:
    """`120` → 120 ms fixed; `80-160` → [80, 160], a uniform range (the engine checks both)."""
    parts = [part.strip() for part in text.strip().split("-")]
    if not all(part.isdigit() for part in parts) or len(parts) > 2:
        raise ValueError("Use whole milliseconds: 120, or a range such as 80-160.")
    values = [int(part) for part in parts]
    return values[0] if len(values) == 1 else values


def format_latency(value: Any) -> str:
    if isinstance(value, list) and len(value) == 2:
        return f"{value[0]}-{value[1]}"
    return str(value)


# The implementations' own rules; the editor only maps their answers onto its fields.
CONFIG_FIELDS: dict[str, dict[str, str]] = {
    ImplementationKind.MOCK: {"response": "mock_response", "latency_ms": "mock_latency_ms"},
    ImplementationKind.HTTP: {
        "url": "http_url",
        "method": "http_method",
        "headers": "http_headers",
    },
}


def shown_header_value(entry: Any) -> str:
    """What the editor shows of a stored header value: that it is set (`secrets.SET`, nothing
    of the value), or nothing when there is none.

    A value a bundle withheld, or one the configured keys cannot decrypt, shows as empty.
    """
    token = entry.get("secret") if isinstance(entry, dict) else None
    if not isinstance(token, str):
        return ""
    try:
        secrets.decrypt(token)  # only a value the keys can still read counts as set
    except secrets.SecretError:
        return ""
    return secrets.SET


def header_notes(stored: dict[str, Any]) -> list[str]:
    """Stored headers that need a value typed again, and why."""
    notes = []
    for name, entry in stored.items():
        token = entry.get("secret") if isinstance(entry, dict) else None
        if not isinstance(token, str):
            notes.append(f"{name} has no value (bundles withhold them); type it.")
        elif not shown_header_value(entry):
            notes.append(
                f"{name}'s stored value cannot be decrypted (was SECRET_KEY or "
                "FCSTUDIO_SECRET_KEYS changed?); type it again."
            )
    return notes


def format_headers(stored: dict[str, Any]) -> str:
    return "\n".join(
        f"{name}: {shown_header_value(entry)}".rstrip() for name, entry in stored.items()
    )


def parse_headers(text: str, stored: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The headers typed, as stored config (every value encrypted), and one error per bad line.

    A line whose value is exactly what the editor showed for that header keeps the stored
    secret; a new value replaces it; a header left out is removed.
    """
    stored_by_name = {name.lower(): entry for name, entry in stored.items()}
    headers: dict[str, Any] = {}
    errors: list[str] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r")
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        name, value = name.strip(), value.strip(" \t")
        if not colon:
            errors.append(f"Line {number}: write the header as Name: value.")
            continue
        problem = header_name_problem(name)
        if problem:
            errors.append(f"Line {number}: {problem}")
            continue
        if any(existing.lower() == name.lower() for existing in headers):
            errors.append(f"Line {number}: {name} is already given above.")
            continue
        entry = stored_by_name.get(name.lower())
        if entry is not None and value == shown_header_value(entry):
            headers[name] = entry
        elif value and value.startswith(secrets.MASK):
            errors.append(
                f"Line {number}: {name} shows a masked value with nothing stored behind it; "
                "type the value itself."
            )
        elif problem := header_value_problem(name, value):
            errors.append(f"Line {number}: {problem}")
        elif entry is not None and _stored_value(entry) == value:
            headers[name] = entry  # the same value typed again: no new token, no new version
        else:
            headers[name] = {"secret": secrets.encrypt(value)}
    return headers, errors


def checkable_headers(headers: dict[str, Any]) -> dict[str, str]:
    """Stored headers as the engine will send them, for its check before saving.

    A value the form cannot read (a bundle withheld it, or the keys changed) is checked by
    name only: the editor already asks for it to be typed again.
    """
    return {name: _stored_value(entry) or "unknown" for name, entry in headers.items()}


def _stored_value(entry: dict[str, Any]) -> str | None:
    try:
        return secrets.decrypt(entry["secret"])
    except (secrets.SecretError, KeyError, TypeError):
        return None


def redisplayed_headers(text: str, stored: dict[str, Any]) -> str:
    """Posted header lines shown again after an error: values typed are not echoed back.

    Like a password field, a value has to be typed again; masks of stored values stay.
    """
    stored_by_name = {name.lower(): entry for name, entry in stored.items()}
    lines = []
    for raw in text.split("\n"):
        name, colon, value = raw.removesuffix("\r").partition(":")
        value = value.strip(" \t")
        entry = stored_by_name.get(name.strip().lower())
        if colon and value and not (entry is not None and value == shown_header_value(entry)):
            raw = f"{name.strip()}: "
        lines.append(raw.removesuffix("\r"))
    return "\n".join(lines)


class HeadersField(forms.CharField):
    """The headers textarea; when a form is shown again it never echoes a value typed."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stored: dict[str, Any] = {}

    def bound_data(self, data: Any, initial: Any) -> Any:
        return redisplayed_headers(str(data or ""), self.stored)


# The settings' fields (timeout, retries, approval, limits), built from their one definition.
if TYPE_CHECKING:
    ToolSettingsFields = forms.Form
else:
    ToolSettingsFields = type("ToolSettingsFields", (forms.Form,), tool_settings.form_fields())


class ToolForm(ToolSettingsFields):
    """The editor: the definition, the implementation and its settings, and a version message."""

    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs=MONO))
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000
    )
    parameters = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={**MONO, "rows": 16, "data-code-editor": "json"}),
        max_length=200_000,
    )
    strict = forms.BooleanField(
        required=False, help_text="OpenAI strict mode: arguments always match the schema."
    )
    implementation_kind = forms.ChoiceField(
        choices=ImplementationKind.choices, initial=ImplementationKind.MOCK, label="Implementation"
    )
    mock_response = forms.CharField(
        required=False,
        label="Mock response",
        widget=forms.Textarea(attrs={**MONO, "rows": 4, "data-code-editor": "json"}),
        help_text="JSON; {{ argument }} inside strings is replaced by the call's argument.",
        max_length=100_000,
    )
    mock_latency_ms = forms.CharField(
        required=False,
        max_length=30,
        initial="50",
        label="Mock latency (ms)",
        help_text="A fixed delay such as 120, or a uniform range such as 80-160.",
    )
    http_url = forms.URLField(
        required=False, label="Webhook URL", max_length=2000, assume_scheme="https"
    )
    http_method = forms.ChoiceField(choices=HTTP_METHODS, initial="POST", label="HTTP method")
    http_headers = HeadersField(
        required=False,
        strip=False,  # keep line numbers as the person sees them
        label="Headers",
        max_length=20_000,
        widget=forms.Textarea(attrs={**MONO, "rows": 3, "placeholder": "Authorization: Bearer …"}),
        help_text=(
            f"One Name: value per line, at most {MAX_HEADERS}. Values are stored encrypted and "
            f"shown back only as set: leave “{secrets.SET}” as it is to keep the value."
        ),
    )
    python_callable = forms.CharField(
        required=False,
        label="Python callable",
        max_length=300,
        widget=forms.TextInput(attrs={**MONO, "placeholder": "tools_app.demo_tools:calculate"}),
    )
    python_in_process = forms.BooleanField(
        required=False,
        label="Run in the server process (trusted, fast code only)",
        help_text=(
            "Off (recommended): each call runs in a separate worker process that is killed at the "
            "timeout or when it exceeds the memory limit. On: the call runs inside the process "
            "that serves pages and drives runs, a little faster, but nothing can stop it: slow "
            "or CPU-heavy code stalls the whole studio."
        ),
    )
    guards = forms.CharField(
        required=False,
        label="Guards",
        max_length=50_000,
        widget=forms.Textarea(
            attrs={
                **MONO,
                "rows": 6,
                "data-code-editor": "json",
                "placeholder": '[{"kind": "path", "pointer": "/path"}]',
            }
        ),
        help_text=(
            "A JSON list checked before every call; a call that trips a guard is DENIED and "
            "never runs. Empty: no guards."
        ),
    )
    message = forms.CharField(
        required=False,
        max_length=200,
        label="Version message",
        widget=forms.TextInput(attrs={"placeholder": "What changed and why"}),
    )

    def __init__(self, *args: Any, catalog: Catalog, tool: Tool | None = None, **kwargs: Any):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.catalog = catalog
        self.tool = tool
        self.check: schema.ToolCheck | None = None
        self.stored_headers = stored_headers(tool)
        headers_field = self.fields["http_headers"]
        assert isinstance(headers_field, HeadersField)  # a copy of the field declared above
        headers_field.stored = self.stored_headers
        self.header_notes = header_notes(self.stored_headers)

    @classmethod
    def initial_for(cls, tool: Tool | None) -> dict[str, Any]:
        if tool is None:
            return {
                "parameters": json.dumps(
                    {"type": "object", "properties": {}, "required": []}, indent=2
                ),
                "implementation_kind": ImplementationKind.MOCK,
                "mock_latency_ms": 50,
                "http_method": "POST",
            }
        config = tool.implementation_config or {}
        response = config.get("response")
        return {
            "name": tool.name,
            "description": tool.description,
            "parameters": json.dumps(tool.parameters, indent=2),
            "strict": tool.strict,
            "implementation_kind": tool.implementation_kind,
            "mock_response": "" if response is None else json.dumps(response, indent=2),
            "mock_latency_ms": format_latency(config.get("latency_ms", 50)),
            "http_url": config.get("url", ""),
            "http_method": config.get("method", "POST"),
            "http_headers": format_headers(stored_headers(tool)),
            "python_callable": config.get("callable", ""),
            "python_in_process": config.get("in_process") is True,
            **ToolSettings.of(tool).form_initial(),
            "guards": json.dumps(tool.guards, indent=2) if tool.guards else "",
        }

    def taken_names(self) -> list[str]:
        others = self.catalog.tools.all()
        if self.tool is not None and self.tool.pk:
            others = others.exclude(pk=self.tool.pk)
        return list(others.values_list("name", flat=True))

    def run_check(self) -> schema.ToolCheck:
        """The schema checks and lint for whatever was typed, valid or not."""
        data = self.data if self.is_bound else self.initial
        self.check = schema.check_tool(
            name=str(data.get("name", "")).strip(),
            description=str(data.get("description", "")),
            parameters=str(data.get("parameters", "")),
            strict=data.get("strict") in (True, "on", "true", "True", "1"),
            taken_names=self.taken_names(),
            guards=_guards_or_none(data.get("guards")),
        )
        return self.check

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        check = self.run_check()
        for finding in check.errors:
            target = finding.field if finding.field in self.fields else None
            self.add_error(target, finding.message)
        kind = cleaned.get("implementation_kind")
        config: dict[str, Any] = {}
        if kind == ImplementationKind.MOCK:
            raw = (cleaned.get("mock_response") or "").strip()
            if raw:
                value, problem = schema.parse_json(raw)
                if problem is not None:
                    self.add_error("mock_response", problem.message)
                else:
                    config["response"] = value
            try:
                config["latency_ms"] = parse_latency(cleaned.get("mock_latency_ms") or "0")
            except ValueError as exc:
                self.add_error("mock_latency_ms", str(exc))
            self.check_config(kind, config)
        elif kind == ImplementationKind.HTTP:
            if not cleaned.get("http_url"):
                self.add_error("http_url", "An HTTP tool needs the URL to call.")
            config = {"url": cleaned.get("http_url", ""), "method": cleaned.get("http_method")}
            headers, problems = parse_headers(
                cleaned.get("http_headers") or "", self.stored_headers
            )
            for message in problems:
                self.add_error("http_headers", message)
            if headers:
                config["headers"] = headers
            self.check_config(kind, {**config, "headers": checkable_headers(headers)})
        elif kind == ImplementationKind.PYTHON:
            target = (cleaned.get("python_callable") or "").strip()
            config = {"callable": target}
            if cleaned.get("python_in_process"):
                config["in_process"] = True
            refusal = runtime.python_config_problem(config)
            if not target:
                self.add_error("python_callable", "Name the callable, e.g. module:function.")
            elif refusal:
                allowed = ", ".join(settings.FCSTUDIO_TOOL_MODULES) or "none"
                self.add_error(
                    "python_callable",
                    f"Refused: {refusal} (FCSTUDIO_TOOL_MODULES: {allowed}).",
                )
        cleaned["implementation_config"] = config
        if check.parameters is not None:
            cleaned["parameters"] = check.parameters
        return cleaned

    def check_config(self, kind: str, config: dict[str, Any]) -> None:
        """The implementation's own check of the config, its answer put on the field at fault.

        A field that already has an error (its text could not be read) is not told twice.
        """
        try:
            if kind == ImplementationKind.MOCK:
                MockImplementation.from_config(config)
            else:
                HttpImplementation.from_config(config)
        except ConfigError as exc:
            target = CONFIG_FIELDS[kind].get(exc.key)
            if target is None or target not in self.errors:
                self.add_error(target, str(exc))

    def clean_guards(self) -> list[Any]:
        return parse_guards_text(self.cleaned_data.get("guards") or "")

    def apply(self, tool: Tool) -> Tool:
        data = self.cleaned_data
        tool.name = data["name"].strip()
        tool.description = data["description"]
        tool.parameters = data["parameters"]
        tool.strict = data["strict"]
        tool.implementation_kind = data["implementation_kind"]
        tool.implementation_config = data["implementation_config"]
        ToolSettings.from_form(data).apply_to(tool)
        tool.guards = data["guards"]
        return tool


def _guards_or_none(data: Any) -> Any:
    """The guard list as typed, for lint to see which properties are already guarded."""
    if isinstance(data, list):
        return data
    if not isinstance(data, str) or not data.strip():
        return None
    value, problem = schema.parse_json(data)
    return None if problem is not None else value


def parse_guards_text(text: str) -> list[Any]:
    """The guard list typed in the editor; ValidationError naming the bad guard."""
    if not text.strip():
        return []
    value, problem = schema.parse_json(text)
    if problem is not None:
        raise forms.ValidationError(f"Guards: {problem.message}")
    try:
        parse_guards(value)
    except GuardConfigError as exc:
        raise forms.ValidationError(f"Guards: {exc}") from None
    assert isinstance(value, list)
    return value


def stored_headers(tool: Tool | None) -> dict[str, Any]:
    if tool is None or tool.implementation_kind != ImplementationKind.HTTP:
        return {}
    headers = (tool.implementation_config or {}).get("headers")
    return headers if isinstance(headers, dict) else {}


class ImportForm(forms.Form):
    text = forms.CharField(
        required=False,
        label="Paste",
        # A tools array, a function, or JSON lines (BFCL): each line may be its own value.
        widget=forms.Textarea(
            attrs={**MONO, "rows": 12, "data-code-editor": "json", "data-json-lines": ""}
        ),
    )
    file = forms.FileField(required=False, label="…or upload a file")

    def clean(self) -> dict[str, Any]:
        super().clean()
        self.cleaned_data["source"] = pasted_or_uploaded(
            self.cleaned_data, "Paste a tools array, a function, or BFCL lines, or pick a file."
        )
        return self.cleaned_data


class DiffForm(forms.Form):
    a = forms.IntegerField(min_value=1)
    b = forms.IntegerField(min_value=1)


class TryForm(forms.Form):
    arguments = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={**MONO, "rows": 6, "data-code-editor": "json"}),
        max_length=200_000,
        label="Arguments (raw JSON)",
        help_text=(
            "Sent exactly as a model would send them; when given, the form's fields are not"
            " used (nor required). Leave empty to use the form."
        ),
    )
    approve = forms.BooleanField(
        required=False,
        label="I approve running this tool",
        help_text="This tool requires approval: unchecked, the call is DENIED, as in the lab.",
    )


class GuardLabForm(forms.Form):
    """The Guard lab: the guards to try (as typed in the editor) and a person's own lines."""

    guards = forms.CharField(required=False, max_length=50_000)
    lines = forms.CharField(
        required=False,
        max_length=2_000_000,
        label="Your own argument sets",
        widget=forms.Textarea(
            attrs={
                **MONO,
                "rows": 4,
                "placeholder": '{"path": "reports/../../secrets"}',
                "data-code-editor": "json",
                "data-json-lines": "",
            }
        ),
        help_text="One JSON object per line, checked beside the built-in hostile corpus.",
    )

    def clean_guards(self) -> list[Any]:
        return parse_guards_text(self.cleaned_data.get("guards") or "")
