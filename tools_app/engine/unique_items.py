"""``uniqueItems`` in linear time.

jsonschema's own keyword sorts the array when it can and otherwise compares every pair of items:
an array of mixed types or of objects (which the model writes) costs O(n²) comparisons, seconds
for a few thousand items on the serving event loop. Here each item is turned into a hashable
canonical form, with JSON Schema's equality (``1`` and ``1.0`` are equal, ``true`` and ``1`` are
not, objects are equal by their keys and values in any order, arrays by their items in order),
and the array is unique when a set of those forms is as long as the array.

Nesting deeper than `MAX_DEPTH` is not compared: `ItemsTooDeep` is raised, which the validation
reports as the schema that cannot be applied to these arguments, rather than recursing on.

This module must not import Django.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterator
from typing import Any

from jsonschema.exceptions import ValidationError

MAX_DEPTH = 100

_NULL = ("null",)
_NAN = ("nan",)


class ItemsTooDeep(ValueError):
    """An array item nested too deeply for ``uniqueItems`` to compare."""


def canonical(value: Any, depth: int = 0) -> Hashable:
    """A hashable form of `value` (parsed JSON) equal for, and only for, JSON-equal values."""
    if depth > MAX_DEPTH:
        raise ItemsTooDeep(f"uniqueItems compares items nested at most {MAX_DEPTH} levels deep")
    if value is None:
        return _NULL
    if value is True or value is False:
        return ("bool", value)
    if isinstance(value, int):
        return ("number", value)
    if isinstance(value, float):
        if math.isnan(value):
            return _NAN  # not JSON; every NaN counts as the same value
        if value.is_integer():
            return ("number", int(value))  # exact: 1.0 is 1, 1e300 is int(1e300)
        return ("number", value)
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, (list, tuple)):
        return ("array", tuple(canonical(item, depth + 1) for item in value))
    if isinstance(value, dict):
        return (
            "object",
            frozenset(
                (canonical(key, depth + 1), canonical(item, depth + 1))
                for key, item in value.items()
            ),
        )
    raise TypeError(f"uniqueItems cannot compare a {type(value).__name__}")


def all_unique(items: list[Any]) -> bool:
    seen: set[Hashable] = set()
    for item in items:
        form = canonical(item)
        if form in seen:
            return False
        seen.add(form)
    return True


def unique_items(
    validator: Any, unique: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    """The ``uniqueItems`` keyword, with jsonschema's message."""
    if unique and validator.is_type(instance, "array") and not all_unique(instance):
        yield ValidationError(f"{instance!r} has non-unique elements")
