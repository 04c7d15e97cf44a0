"""Parse pasted or uploaded text into tool definitions, with a report per tool.

Owns format detection (OpenAI ``tools`` arrays, bare function objects, Chat Completions request
bodies, BFCL JSON lines, JSON lines of functions) and the per-entry repair: legal unique names,
normalised schemas, notes on every change. One bad entry becomes a ``Rejection``; the rest import.

Django-free, and it writes nothing: the caller decides what to save.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from tools_app.schema import (
    EMPTY_PARAMETERS,
    NAME_MAX_LENGTH,
    NAME_PATTERN,
    check_tool,
    legal_name,
    loads,
    normalise_schema,
)

FORMATS = ("openai-tools", "function", "functions", "bfcl-lines", "jsonl-functions", "request-body")


class ImportFormatError(ValueError):
    """The whole input is unusable: empty, too large, not JSON, or of no known shape."""


@dataclass
class ImportedTool:
    name: str
    original_name: str  # the name in the source when it differs from ``name``, else ""
    description: str
    parameters: dict[str, Any]
    strict: bool = False
    changes: list[str] = field(default_factory=list)
    source_index: int = 0  # position among the entries found, 0-based
    source_label: str = ""  # "entry 3", "line 5", "line 5, function 2"


@dataclass
class Rejection:
    source_index: int
    name: str
    reason: str
    source_label: str = ""


@dataclass
class ImportResult:
    format: str
    tools: list[ImportedTool] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def normalised_count(self) -> int:
        return sum(1 for tool in self.tools if tool.changes)


@dataclass
class _Entry:
    value: Any
    label: str


def _describe_type(value: Any) -> str:
    match value:
        case None:
            return "null"
        case bool():
            return "a boolean"
        case int() | float():
            return "a number"
        case str():
            return "a string"
        case list():
            return "a list"
        case dict():
            return "an object"
    return type(value).__name__


def _decode(text: str) -> Any:
    try:
        return loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _is_tools_entry(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("function"), dict)


def _is_bfcl_line(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("function"), list)


def _is_function(value: Any) -> bool:
    return isinstance(value, dict) and "name" in value


def _whole_document(value: Any) -> tuple[str, list[_Entry]]:
    if isinstance(value, list):
        if not value:
            raise ImportFormatError("The list is empty: there is nothing to import.")
        entries = [_Entry(item, f"entry {i + 1}") for i, item in enumerate(value)]
        tools_entries = sum(1 for item in value if _is_tools_entry(item))
        bfcl = sum(1 for item in value if _is_bfcl_line(item))
        if bfcl and bfcl >= tools_entries:
            return "bfcl-lines", _flatten_bfcl(value, "entry")
        return ("openai-tools" if tools_entries * 2 >= len(value) else "functions"), entries
    if not isinstance(value, dict):
        raise ImportFormatError(
            f"The text is {_describe_type(value)}, not a tool definition: expected a tools "
            "array, a function object, or a request body with a tools list."
        )
    if isinstance(value.get("tools"), list) or isinstance(value.get("functions"), list):
        entries = []
        for key in ("tools", "functions"):
            items = value.get(key)
            if isinstance(items, list):
                entries.extend(_Entry(item, f"{key}[{i}]") for i, item in enumerate(items))
        if not entries:
            raise ImportFormatError("The request body's tools list is empty.")
        return "request-body", entries
    if _is_bfcl_line(value):
        return "bfcl-lines", _flatten_bfcl([value], "line")
    if _is_tools_entry(value):
        return "openai-tools", [_Entry(value, "entry 1")]
    if _is_function(value):
        return "function", [_Entry(value, "entry 1")]
    keys = ", ".join(sorted(str(k) for k in value)[:8]) or "none"
    raise ImportFormatError(
        "No tool definition found: the object has no name, function, tools or functions key "
        f"(keys: {keys})."
    )


def _flatten_bfcl(lines: list[Any], unit: str) -> list[_Entry]:
    entries: list[_Entry] = []
    for i, line in enumerate(lines):
        if _is_bfcl_line(line):
            functions = line["function"]
            for j, function in enumerate(functions):
                suffix = f", function {j + 1}" if len(functions) > 1 else ""
                entries.append(_Entry(function, f"{unit} {i + 1}{suffix}"))
        else:
            entries.append(_Entry(line, f"{unit} {i + 1}"))
    return entries


def _json_lines(text: str, first_error: ValueError) -> tuple[str, list[_Entry]]:
    """Entries of a JSON-lines text; unparsable lines become entries that carry their error."""
    values: list[_Entry] = []
    parsed_any = False
    bfcl = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = _decode(line)
        except ValueError as exc:
            values.append(_Entry(_BadLine(_error_text(exc)), f"line {number}"))
            continue
        parsed_any = True
        if _is_bfcl_line(value):
            bfcl = True
            functions = value["function"]
            for j, function in enumerate(functions):
                suffix = f", function {j + 1}" if len(functions) > 1 else ""
                values.append(_Entry(function, f"line {number}{suffix}"))
        elif isinstance(value, list):
            values.extend(
                _Entry(item, f"line {number}, item {j + 1}") for j, item in enumerate(value)
            )
        else:
            values.append(_Entry(value, f"line {number}"))
    if not parsed_any:
        raise ImportFormatError(f"Not valid JSON: {_error_text(first_error)}")
    return ("bfcl-lines" if bfcl else "jsonl-functions"), values


@dataclass
class _BadLine:
    reason: str


def _error_text(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno}, column {exc.colno}."
    return f"{exc}."


def _entries(text: str) -> tuple[str, list[_Entry]]:
    try:
        value = _decode(text)
    except json.JSONDecodeError as exc:
        lines = [line for line in text.splitlines() if line.strip()]
        if exc.msg == "Extra data" or len(lines) > 1:
            try:
                _decode(lines[0])
            except ValueError:
                raise ImportFormatError(f"Not valid JSON: {_error_text(exc)}") from None
            return _json_lines(text, exc)
        raise ImportFormatError(f"Not valid JSON: {_error_text(exc)}") from None
    except ValueError as exc:
        raise ImportFormatError(f"Not usable JSON: {exc}.") from None
    return _whole_document(value)


# Keys of an entry that is, or wraps, a tool definition; an input with none of them anywhere is
# something else (answers, transcripts, data) and is refused whole rather than entry by entry.
_DEFINITION_KEYS = frozenset({"name", "function", "parameters", "input_schema", "type"})


def _refuse_what_is_not_tools(entries: list[_Entry]) -> None:
    parsed = [entry.value for entry in entries if not isinstance(entry.value, _BadLine)]
    if any(isinstance(value, dict) and _DEFINITION_KEYS & set(value) for value in parsed):
        return
    if not any(isinstance(value, dict) for value in parsed):
        return  # numbers, strings: each entry says what it is
    keys: dict[str, None] = {}
    for value in parsed:
        if isinstance(value, dict):
            keys.update(dict.fromkeys(str(key) for key in value))
    shown = ", ".join(list(keys)[:8])
    if "ground_truth" in keys:
        what = "BFCL possible answers (the ground-truth calls for each prompt)"
    elif "messages" in keys or "role" in keys:
        what = "a conversation transcript (import it from Conversations, Import a transcript)"
    else:
        what = "data, not tool definitions"
    raise ImportFormatError(
        f"No tool definition found: this looks like {what}. No entry has a name, parameters "
        f"or function (the entries' keys: {shown})."
    )


def _unwrap(value: Any) -> tuple[dict[str, Any] | None, bool, str]:
    """The function object inside an entry, its strict flag, or a reason it is not one."""
    if isinstance(value, _BadLine):
        return None, False, f"Not valid JSON: {value.reason}"
    if not isinstance(value, dict):
        return None, False, f"The entry is {_describe_type(value)}, not a function object."
    if "function" in value:
        kind = value.get("type", "function")
        if kind != "function":
            return None, False, f"The entry is a {kind!r} tool, not a function tool."
        function = value["function"]
        if not isinstance(function, dict):
            return None, False, f'"function" is {_describe_type(function)}, not an object.'
        strict = function.get("strict") is True or value.get("strict") is True
        return function, strict, ""
    if value.get("type") not in (None, "function") and "name" not in value:
        return None, False, f"The entry is a {value.get('type')!r} tool, not a function tool."
    return value, value.get("strict") is True, ""


def _canonical(function: dict[str, Any]) -> str:
    try:
        return json.dumps(function, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        return repr(function)


def parse_import(
    text: str, *, taken: Collection[str] = (), max_bytes: int = 5_000_000
) -> ImportResult:
    """Every tool found in ``text``: names made legal and unique against ``taken`` and each other.

    Raises ImportFormatError only when the input as a whole is unusable.
    """
    if not isinstance(text, str):
        raise ImportFormatError("Nothing to import: expected text.")
    size = len(text.encode("utf-8", errors="replace"))
    if size > max_bytes:
        raise ImportFormatError(
            f"The import is {size / 1_000_000:.1f} MB; the limit is {max_bytes / 1_000_000:.1f} MB."
        )
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise ImportFormatError("Nothing to import: the text is empty.")
    fmt, entries = _entries(text)
    _refuse_what_is_not_tools(entries)
    result = ImportResult(format=fmt)
    used: set[str] = set(taken)
    next_suffix: dict[str, int] = {}  # legal_name's memory of each name's free suffix
    seen: dict[str, ImportedTool] = {}
    copies: dict[int, int] = {}
    for index, entry in enumerate(entries):
        function, strict, reason = _unwrap(entry.value)
        label = _label_name(entry.value)
        if function is None:
            result.rejected.append(Rejection(index, label, reason, entry.label))
            continue
        key = _canonical(function)
        if key in seen:
            first = seen[key]
            copies[id(first)] = copies.get(id(first), 1) + 1
            continue
        tool = _import_one(function, strict, index, entry.label, used, next_suffix)
        if isinstance(tool, Rejection):
            result.rejected.append(tool)
            continue
        used.add(tool.name)
        seen[key] = tool
        result.tools.append(tool)
    for tool in result.tools:
        if copies.get(id(tool), 1) > 1:
            tool.changes.append(f"appeared {copies[id(tool)]} times identically; imported once")
    return result


def _label_name(value: Any) -> str:
    if isinstance(value, dict):
        inner = value.get("function")
        source = inner if isinstance(inner, dict) else value
        name = source.get("name")
        if isinstance(name, str) and name.strip():
            return name[:100]
    return ""


def _import_one(
    function: dict[str, Any],
    strict: bool,
    index: int,
    label: str,
    used: set[str],
    next_suffix: dict[str, int],
) -> ImportedTool | Rejection:
    changes: list[str] = []
    raw_name = function.get("name")
    if not isinstance(raw_name, str) or not raw_name.strip():
        what = "no name" if raw_name in (None, "") else f"a name that is {_describe_type(raw_name)}"
        if isinstance(raw_name, str):
            what = "a blank name"
        return Rejection(index, "", f"The function has {what}.", label)
    name = legal_name(raw_name, used, next_suffix)
    if name != raw_name:
        if NAME_PATTERN.match(raw_name):
            why = "the name is already taken"
        elif len(raw_name) > NAME_MAX_LENGTH:
            why = f"longer than {NAME_MAX_LENGTH} characters"
        else:
            why = "OpenAI names allow only letters, digits, '_' and '-'"
        changes.append(f"renamed from {raw_name!r} ({why})")
    description = function.get("description")
    if description is None or description == "":
        description = ""
        changes.append("description missing")
    elif not isinstance(description, str):
        if isinstance(description, int | float | bool):
            description = json.dumps(description)
            changes.append("description was not text; converted")
        else:
            description = ""
            changes.append("description was not text; dropped")

    if "parameters" in function:
        parameters: Any = function["parameters"]
    elif "input_schema" in function:
        parameters = function["input_schema"]
        changes.append("input_schema used as parameters")
    else:
        parameters = None
    if parameters is None:
        changes.append("parameters missing; the tool takes no arguments")
        parameters = dict(EMPTY_PARAMETERS, properties={})
    elif isinstance(parameters, str):
        try:
            parameters = _decode(parameters)
        except ValueError as exc:
            return Rejection(
                index,
                raw_name,
                f"The parameters are a string that is not JSON: {_error_text(exc)}",
                label,
            )
        changes.append("parameters were a JSON string; parsed")
    if not isinstance(parameters, dict):
        return Rejection(
            index,
            raw_name,
            f"The parameters are {_describe_type(parameters)}, not a JSON Schema object.",
            label,
        )
    schema, notes = normalise_schema(parameters)
    changes.extend(f"parameters {note}" for note in notes)
    check = check_tool(name=name, description=description, parameters=schema, strict=strict)
    if check.errors:
        return Rejection(index, raw_name, check.errors[0].message, label)
    return ImportedTool(
        name=name,
        original_name=raw_name if name != raw_name else "",
        description=description,
        parameters=schema,
        strict=strict,
        changes=changes,
        source_index=index,
        source_label=label,
    )
