"""A Django form built from a tool's JSON Schema parameters, and the arguments it yields.

Used by the editor's live form preview and by the "Try it" panel. It owns the mapping from
schema properties to form fields and back; it must accept any schema without raising (shapes it
does not understand become a JSON text field) and it does not validate against the schema itself:
the engine does that with the arguments this module returns.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from tools_app.engine import patterns
from tools_app.schema import loads

MAX_REF_HOPS = 8


class JSONArgumentField(forms.CharField):
    """A monospace textarea holding JSON; cleans to the parsed value (None when empty)."""

    widget = forms.Textarea

    def __init__(self, *, expected: str | None = None, **kwargs: Any) -> None:
        self.expected = expected
        kwargs.setdefault("strip", True)
        super().__init__(**kwargs)
        self.widget.attrs.update(
            {"class": "json-input monospace", "rows": 3, "spellcheck": "false"}
        )

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            parsed = loads(str(text))  # strict, and cleaned (lone surrogates, NUL)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                "Not valid JSON: %(msg)s at line %(line)s, column %(column)s.",
                code="invalid_json",
                params={"msg": exc.msg, "line": exc.lineno, "column": exc.colno},
            ) from None
        except (ValueError, RecursionError):
            raise ValidationError("Not usable JSON.", code="invalid_json") from None
        if self.expected == "array" and not isinstance(parsed, list):
            raise ValidationError("Expected a JSON array, like [1, 2].", code="not_array")
        if self.expected == "object" and not isinstance(parsed, dict):
            raise ValidationError('Expected a JSON object, like {"a": 1}.', code="not_object")
        return parsed

    def validate(self, value: Any) -> None:
        if value is None and self.required:
            raise ValidationError(self.error_messages["required"], code="required")


class OptionalBooleanField(forms.TypedChoiceField):
    """Blank, true or false: an optional boolean argument can be left out."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            choices=[("", "—"), ("true", "true"), ("false", "false")],
            coerce=lambda value: value == "true",
            empty_value=None,
            **kwargs,
        )


def _bound(value: Any) -> float | int | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return value
    return None


def _resolve(schema: Any, root: Mapping[str, Any]) -> Any:
    """Follow local ``$ref``s into ``$defs``/``definitions`` a few hops; give up quietly."""
    for _ in range(MAX_REF_HOPS):
        if not isinstance(schema, dict) or not isinstance(schema.get("$ref"), str):
            return schema
        ref = schema["$ref"]
        target: Any = root
        if not ref.startswith("#"):
            return {}
        for part in ref[1:].split("/")[1:]:
            key = part.replace("~1", "/").replace("~0", "~")
            target = target.get(key) if isinstance(target, dict) else None
        if not isinstance(target, dict):
            return {}
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _single_type(schema: dict[str, Any]) -> tuple[str | None, bool]:
    """The one non-null type of ``schema`` (or of a nullable anyOf), and whether null is allowed."""
    declared = schema.get("type")
    names = [declared] if isinstance(declared, str) else declared
    if isinstance(names, list):
        kinds = [n for n in names if isinstance(n, str) and n != "null"]
        return (kinds[0] if len(kinds) == 1 else None), "null" in names
    options = schema.get("anyOf")
    if isinstance(options, list):
        kept = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
        if len(kept) == 1 and isinstance(kept[0], dict):
            kind, _ = _single_type(kept[0])
            return kind, len(kept) < len(options)
    return None, False


def _field_for(prop: Any, *, required: bool, label: str, root: Mapping[str, Any]) -> forms.Field:
    prop = _resolve(prop, root)
    if not isinstance(prop, dict):
        return JSONArgumentField(required=required, label=label)
    if isinstance(prop.get("anyOf"), list) and "type" not in prop:
        nullable = [
            o for o in prop["anyOf"] if not (isinstance(o, dict) and o.get("type") == "null")
        ]
        if len(nullable) == 1 and isinstance(nullable[0], dict):
            prop = {
                **_resolve(nullable[0], root),
                **{k: v for k, v in prop.items() if k != "anyOf"},
            }
    description = prop.get("description")
    common: dict[str, Any] = {
        "required": required,
        "label": label,
        "help_text": description if isinstance(description, str) else "",
    }
    kind, _ = _single_type(prop)
    enum = prop.get("enum")
    if (
        isinstance(enum, list)
        and enum
        and all(isinstance(v, str | int | float | bool) or v is None for v in enum)
    ):
        return _enum_field(enum, required=required, common=common)
    if kind == "string":
        return _string_field(prop, common)
    if kind == "integer":
        low, high = _bound(prop.get("minimum")), _bound(prop.get("maximum"))
        ex_low, ex_high = _bound(prop.get("exclusiveMinimum")), _bound(prop.get("exclusiveMaximum"))
        if ex_low is not None:
            low = max(math.floor(ex_low) + 1, low if low is not None else -math.inf)
        if ex_high is not None:
            high = min(math.ceil(ex_high) - 1, high if high is not None else math.inf)
        return forms.IntegerField(
            min_value=math.ceil(low) if low is not None else None,
            max_value=math.floor(high) if high is not None else None,
            **common,
        )
    if kind == "number":
        field = forms.FloatField(
            min_value=_bound(prop.get("minimum")), max_value=_bound(prop.get("maximum")), **common
        )
        field.validators.extend(_exclusive_validators(prop))
        return field
    if kind == "boolean":
        if required:
            common["required"] = False  # unchecked means false; a required boolean always has one
            return forms.BooleanField(**common)
        return OptionalBooleanField(**common)
    initial = prop.get("default")
    if initial is not None:
        with contextlib.suppress(TypeError, ValueError):
            common["initial"] = json.dumps(initial)
    return JSONArgumentField(expected=kind if kind in ("array", "object") else None, **common)


def _greater_than(limit: float) -> Callable[[float | None], None]:
    def above(value: float | None) -> None:
        if value is not None and value <= limit:
            raise ValidationError(f"Must be greater than {limit}.", code="min_value")

    return above


def _less_than(limit: float) -> Callable[[float | None], None]:
    def below(value: float | None) -> None:
        if value is not None and value >= limit:
            raise ValidationError(f"Must be less than {limit}.", code="max_value")

    return below


def _exclusive_validators(prop: dict[str, Any]) -> list[Any]:
    validators = []
    ex_low, ex_high = _bound(prop.get("exclusiveMinimum")), _bound(prop.get("exclusiveMaximum"))
    if ex_low is not None:
        validators.append(_greater_than(ex_low))
    if ex_high is not None:
        validators.append(_less_than(ex_high))
    return validators


def _enum_field(enum: list[Any], *, required: bool, common: dict[str, Any]) -> forms.Field:
    blank = [] if required else [("", "—")]
    if all(isinstance(v, str) for v in enum):
        choices = blank + [(v, v) for v in dict.fromkeys(enum)]
        return forms.ChoiceField(choices=choices, **common)
    by_key = {json.dumps(v): v for v in enum}
    return forms.TypedChoiceField(
        choices=blank + [(key, key) for key in by_key],
        coerce=lambda key: by_key[key],
        empty_value=None,
        **common,
    )


def _string_field(prop: dict[str, Any], common: dict[str, Any]) -> forms.Field:
    fmt = prop.get("format")
    if fmt == "date":
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if fmt == "date-time":
        return forms.DateTimeField(
            widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), **common
        )
    if fmt == "email":
        return forms.EmailField(**common)
    if fmt in ("uri", "url", "iri"):
        return forms.URLField(assume_scheme="https", **common)
    min_length = prop.get("minLength")
    max_length = prop.get("maxLength")
    field = forms.CharField(
        min_length=min_length if isinstance(min_length, int) and min_length >= 0 else None,
        max_length=max_length if isinstance(max_length, int) and max_length >= 0 else None,
        strip=False,
        **common,
    )
    pattern = prop.get("pattern")
    if isinstance(pattern, str):
        # The schema editor reports patterns RE2 refuses; the form just skips the check. Never
        # Python's re: a pattern like ^(a+)+$ would backtrack for ever on a typed value.
        with contextlib.suppress(patterns.UnsupportedPattern):
            field.validators.append(
                RegexValidator(
                    patterns.compile_pattern(pattern),
                    message=f"Must match the pattern {pattern}.",
                )
            )
    default = prop.get("default")
    if isinstance(default, str):
        field.initial = default
    return field


def _field_name(prop_name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-zA-Z0-9_]+", "_", prop_name).strip("_") or "field"
    if base[0].isdigit():
        base = "p_" + base
    name, counter = base, 2
    while name in taken:
        name, counter = f"{base}_{counter}", counter + 1
    return name


class SchemaForm(forms.Form):
    """A form generated from a parameters schema.

    ``schema_property_names`` maps each field name to its property name (property names can be
    any string; field names are made safe for HTML and Python).
    """

    schema_property_names: dict[str, str]


def form_for_schema(
    schema: dict[str, Any],
    data: Mapping[str, Any] | None = None,
    prefix: str = "arg",
    *,
    required_attribute: bool = True,
) -> SchemaForm:
    """An unsaved form with one field per property of ``schema``, in the schema's order.

    ``required_attribute=False`` leaves requiredness to the server: Try it's raw JSON box may
    stand in for the whole form, so the browser must not refuse a submit with empty fields.
    """
    form = SchemaForm(data=data, prefix=prefix)
    form.use_required_attribute = required_attribute
    form.fields = {}
    mapping: dict[str, str] = {}
    form.schema_property_names = mapping
    if not isinstance(schema, dict):
        return form
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return form
    required_list = schema.get("required")
    required = (
        set(r for r in required_list if isinstance(r, str))
        if isinstance(required_list, list)
        else set()
    )
    for prop_name, prop in properties.items():
        name = _field_name(str(prop_name), set(mapping))
        mapping[name] = str(prop_name)
        try:
            field = _field_for(
                prop, required=prop_name in required, label=str(prop_name), root=schema
            )
        except (TypeError, ValueError, RecursionError):
            field = JSONArgumentField(required=prop_name in required, label=str(prop_name))
        form.fields[name] = field
    return form


def arguments_from_form(form: forms.Form, schema: dict[str, Any]) -> dict[str, Any]:
    """The arguments object from a valid form, omitting optional fields left empty."""
    mapping: dict[str, str] = getattr(form, "schema_property_names", None) or {
        name: name for name in form.fields
    }
    required_list = schema.get("required") if isinstance(schema, dict) else None
    required = set(required_list) if isinstance(required_list, list) else set()
    arguments: dict[str, Any] = {}
    for field_name, prop_name in mapping.items():
        value = form.cleaned_data.get(field_name)
        field = form.fields.get(field_name)
        if isinstance(field, forms.BooleanField):
            arguments[prop_name] = bool(value)
            continue
        if (value is None or value == "") and prop_name not in required:
            continue
        if value is None:
            continue
        if isinstance(value, datetime.date):
            value = value.isoformat()
        arguments[prop_name] = value
    return arguments
