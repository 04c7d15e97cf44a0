"""A fast acceptance check for the plain schemas most tools have.

Validating arguments with jsonschema costs tens of microseconds per call, most of the engine's
own cost per call. Tool schemas are usually plain: an object of typed properties, ``required``,
``additionalProperties``, ``enum``, bounds. `compile_fast_check` turns such a schema into a
closure that answers "certainly valid" quickly; the engine still asks jsonschema whenever the
closure says no (for the error report) and for every schema using anything outside that subset
(``$ref``, combinators, ``pattern``, ``format``, ...), so jsonschema stays the authority and the
fast path can only ever skip work, never accept what jsonschema would refuse
(tests/engine/test_fastcheck.py checks this against jsonschema on random schemas).

This module must not import Django.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeGuard

Check = Callable[[Any], bool]

_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "$comment",
        "deprecated",
        "readOnly",
        "writeOnly",
    }
)
_SUPPORTED = _ANNOTATIONS | {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "enum",
    "const",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "items",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
}


class Unsupported(Exception):
    pass


def compile_fast_check(schema: Any) -> Check | None:
    """A closure accepting exactly the instances `schema` accepts, or None if not plain enough."""
    try:
        return _compile(schema)
    except (Unsupported, TypeError, ValueError, RecursionError):
        return None


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _type_check(name: str) -> Check:
    if name == "object":
        return lambda v: isinstance(v, dict)
    if name == "string":
        return lambda v: isinstance(v, str)
    if name == "integer":
        return lambda v: (
            (isinstance(v, int) and not isinstance(v, bool))
            or (isinstance(v, float) and v.is_integer())
        )
    if name == "number":
        return _is_number
    if name == "boolean":
        return lambda v: isinstance(v, bool)
    if name == "null":
        return lambda v: v is None
    if name == "array":
        return lambda v: isinstance(v, list)
    raise Unsupported(name)


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality as JSON Schema means it: 1 == 1.0, but true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if _is_number(a) and _is_number(b):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _number(schema: dict[str, Any], key: str) -> float | int | None:
    value = schema.get(key)
    if value is None:
        return None
    if not _is_number(value):
        raise Unsupported(key)
    return value


def _count(schema: dict[str, Any], key: str) -> int | None:
    value = schema.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise Unsupported(key)
    return value


def _equal_to(expected: Any) -> Check:
    return lambda v: json_equal(v, expected)


def _compile(schema: Any) -> Check:
    if schema is True:
        return lambda v: True
    if schema is False:
        return lambda v: False
    if not isinstance(schema, dict) or not set(schema) <= _SUPPORTED:
        raise Unsupported("keywords")
    checks: list[Check] = []

    if "type" in schema:
        names = schema["type"]
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list) or not names:
            raise Unsupported("type")
        alternatives = [_type_check(name) for name in names]
        checks.append(alternatives[0] if len(alternatives) == 1 else _any_of(alternatives))

    if "enum" in schema:
        options = schema["enum"]
        if not isinstance(options, list):
            raise Unsupported("enum")
        checks.append(_any_of([_equal_to(option) for option in options]))
    if "const" in schema:
        checks.append(_equal_to(schema["const"]))

    minimum, maximum = _number(schema, "minimum"), _number(schema, "maximum")
    above, below = _number(schema, "exclusiveMinimum"), _number(schema, "exclusiveMaximum")
    if any(bound is not None for bound in (minimum, maximum, above, below)):

        def check_bounds(v: Any) -> bool:
            if not _is_number(v):
                return True
            return (
                (minimum is None or v >= minimum)
                and (maximum is None or v <= maximum)
                and (above is None or v > above)
                and (below is None or v < below)
            )

        checks.append(check_bounds)

    min_length, max_length = _count(schema, "minLength"), _count(schema, "maxLength")
    if min_length is not None or max_length is not None:
        low, high = min_length or 0, max_length
        checks.append(
            lambda v: not isinstance(v, str) or (low <= len(v) and (high is None or len(v) <= high))
        )

    if "items" in schema:
        item = _compile(schema["items"])

        def check_items(v: Any) -> bool:
            if isinstance(v, list):
                for x in v:
                    if not item(x):
                        return False
            return True

        checks.append(check_items)
    min_items, max_items = _count(schema, "minItems"), _count(schema, "maxItems")
    if min_items is not None or max_items is not None:
        low_i, high_i = min_items or 0, max_items
        checks.append(
            lambda v: (
                not isinstance(v, list)
                or (low_i <= len(v) and (high_i is None or len(v) <= high_i))
            )
        )

    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        raise Unsupported("properties")
    compiled = {name: _compile(sub) for name, sub in properties.items()}
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(name, str) for name in required):
        raise Unsupported("required")
    additional = (
        _compile(schema["additionalProperties"]) if "additionalProperties" in schema else None
    )
    min_props, max_props = _count(schema, "minProperties"), _count(schema, "maxProperties")
    if (
        compiled
        or required
        or additional is not None
        or min_props is not None
        or max_props is not None
    ):

        def check_object(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            for name in required:
                if name not in v:
                    return False
            if min_props is not None and len(v) < min_props:
                return False
            if max_props is not None and len(v) > max_props:
                return False
            for name, value in v.items():
                sub = compiled.get(name)
                if sub is not None:
                    if not sub(value):
                        return False
                elif additional is not None and not additional(value):
                    return False
            return True

        checks.append(check_object)

    if not checks:
        return lambda v: True
    if len(checks) == 1:
        return checks[0]
    return _all_of(checks)


def _all_of(checks: list[Check]) -> Check:
    def check_all(v: Any) -> bool:
        for check in checks:  # noqa: SIM110 - a plain loop: no generator on the hot path
            if not check(v):
                return False
        return True

    return check_all


def _any_of(checks: list[Check]) -> Check:
    def check_any(v: Any) -> bool:
        for check in checks:  # noqa: SIM110 - a plain loop: no generator on the hot path
            if check(v):
                return True
        return False

    return check_any
