"""A structural diff of two JSON values, by JSON pointer (RFC 6901): what a replay shows of a
call's old and new result.

Django-free and pure: objects are compared key by key, arrays index by index, anything else by
value (so `1` and `1.0` are the same, `1` and `true` are not). Nesting is followed to a bound,
past which a differing subtree is reported as one change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

MAX_DEPTH = 64
MAX_CHANGES = 500

ChangeKind = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class Change:
    """One difference: at `pointer`, `old` (absent when added) became `new` (absent when
    removed)."""

    kind: ChangeKind
    pointer: str
    old: Any = None
    new: Any = None


def pointer_token(key: str | int) -> str:
    """A key or index as one JSON pointer token (`~` and `/` escaped)."""
    return str(key).replace("~", "~0").replace("/", "~1")


def json_diff(old: Any, new: Any, *, max_changes: int = MAX_CHANGES) -> list[Change]:
    """The changes that turn `old` into `new`, in document order; [] when they are the same.
    At most `max_changes` are listed."""
    changes: list[Change] = []
    _walk(old, new, "", 0, changes, max_changes)
    return changes


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and old == new
    return bool(type(old) is type(new) or _numbers(old, new)) and old == new


def _numbers(*values: Any) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _walk(old: Any, new: Any, pointer: str, depth: int, out: list[Change], limit: int) -> None:
    if len(out) >= limit:
        return
    if depth < MAX_DEPTH and isinstance(old, dict) and isinstance(new, dict):
        for key in old:
            child = f"{pointer}/{pointer_token(key)}"
            if key in new:
                _walk(old[key], new[key], child, depth + 1, out, limit)
            elif len(out) < limit:
                out.append(Change("removed", child, old=old[key]))
        for key in new:
            if key not in old and len(out) < limit:
                out.append(Change("added", f"{pointer}/{pointer_token(key)}", new=new[key]))
        return
    if depth < MAX_DEPTH and isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            child = f"{pointer}/{index}"
            if index >= len(new):
                if len(out) < limit:
                    out.append(Change("removed", child, old=old[index]))
            elif index >= len(old):
                if len(out) < limit:
                    out.append(Change("added", child, new=new[index]))
            else:
                _walk(old[index], new[index], child, depth + 1, out, limit)
        return
    if not _same(old, new):
        out.append(Change("changed", pointer, old=old, new=new))


__all__ = ["Change", "json_diff", "pointer_token"]
