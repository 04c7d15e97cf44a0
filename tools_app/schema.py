"""Validation, lint and normalisation of OpenAI tool definitions.

This module owns what the tool editor and the importers say about a tool's name, description and
JSON Schema parameters: errors that block saving (bad JSON, a schema the Draft 2020-12
meta-schema rejects, an illegal or duplicate name, strict-mode rules), warnings that only advise
(vague names, missing descriptions, free strings that want an enum, ...), and the repair of
near-JSON-Schema dialects such as BFCL's ``"type": "dict"``.

It must stay free of Django and must never raise on hostile input: every function here accepts
any JSON value where a schema is expected and answers with findings or notes instead.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote

from tools_app.engine import patterns, untrusted

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
NAME_MAX_LENGTH = 64

#: A tools entry costing more than this many tokens earns a ``large_schema`` warning.
LARGE_SCHEMA_TOKENS = 1_000
#: Deeper schemas are refused (and cut by ``normalise_schema``): no model needs them and the
#: meta-schema validator recurses once per level.
MAX_DEPTH = 48
#: Walks stop after this many schema nodes, so a huge schema costs bounded time.
MAX_NODES = 20_000
#: At most this many meta-schema errors are reported; the first ones are enough to act on.
MAX_SCHEMA_ERRORS = 20

EMPTY_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}

# OpenAI structured outputs, function calling with "strict": true. Keywords outside this set make
# the API refuse the tool.
STRICT_SUPPORTED_KEYWORDS = frozenset(
    {
        "type",
        "description",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "anyOf",
        "$ref",
        "$defs",
        "definitions",
        "title",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
    }
)

BOUND_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One error or warning about a tool definition, addressed to a form field and a path."""

    level: Level
    code: str
    message: str
    path: str = ""
    why: str = ""
    field: str = ""
    line: int | None = None
    column: int | None = None


@dataclass
class ToolCheck:
    """Everything ``check_tool`` found. ``parameters`` is None when the JSON did not parse."""

    parameters: dict[str, Any] | None
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    token_estimate: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def hint_groups(self) -> list[HintGroup]:
        return group_hints(self.warnings)


@dataclass(frozen=True)
class HintGroup:
    """Warnings of one kind, shown as one card: what they share (the why) said once."""

    code: str
    title: str
    why: str
    findings: tuple[Finding, ...]

    @property
    def subjects(self) -> list[str]:
        """What each warning is about: a property's name, or "the tool" for the tool itself."""
        return [
            finding.path.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")
            if finding.path
            else "the tool"
            for finding in self.findings
        ]


def group_hints(warnings: Iterable[Finding]) -> list[HintGroup]:
    """One group per kind of warning, in the order each kind first appears."""
    by_code: dict[str, list[Finding]] = {}
    for finding in warnings:
        by_code.setdefault(finding.code, []).append(finding)
    return [
        HintGroup(
            code=code,
            title=HINT_TITLES.get(code, code.replace("_", " ").capitalize()),
            why=next((f.why for f in findings if f.why), ""),
            findings=tuple(findings),
        )
        for code, findings in by_code.items()
    ]


# --------------------------------------------------------------------------- helpers


def pointer(*parts: str | int) -> str:
    """A JSON pointer from unescaped parts."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def join_pointer(base: str, *parts: str | int) -> str:
    return base + pointer(*parts)


def _shorten(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _type_names(schema: dict[str, Any]) -> list[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [t for t in declared if isinstance(t, str)]
    return []


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_object_schema(schema: dict[str, Any]) -> bool:
    return "object" in _type_names(schema) or isinstance(schema.get("properties"), dict)


def _required_names(schema: dict[str, Any]) -> list[str]:
    required = schema.get("required")
    if not isinstance(required, list):
        return []
    return [r for r in required if isinstance(r, str)]


def declares_property(schema: dict[str, Any], name: str) -> bool:
    """Whether ``name``, listed in the schema's ``required``, is one of its ``properties``.

    The one rule for the editor's check (`required_findings`) and the importer's repair: a
    required name that is not a property is never described to the model, so every call it
    makes fails validation. A schema with neither ``properties`` nor an object type (an
    ``anyOf`` branch saying which of its parent's properties are required) declares them all.
    """
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return "object" not in _type_names(schema)
    return name in properties


def _json_dumps(value: Any) -> str | None:
    """Compact JSON for ``value``, or None when it is not JSON (cycles, sets, NaN)."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None


def _depth(value: Any) -> int:
    """Nesting depth of dicts and lists, counted without recursion; stops past MAX_DEPTH."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    seen = 0
    while stack:
        node, level = stack.pop()
        seen += 1
        if seen > MAX_NODES * 10:
            break
        if isinstance(node, dict):
            children: Collection[Any] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


# Keywords whose value is one schema, a list of schemas, or a name → schema map.
SCHEMA_KEYWORDS = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
    "additionalItems",
    "contentSchema",
)
SCHEMA_LIST_KEYWORDS = ("anyOf", "oneOf", "allOf", "prefixItems", "items")
SCHEMA_MAP_KEYWORDS = (
    "properties",
    "$defs",
    "definitions",
    "patternProperties",
    "dependentSchemas",
)


def iter_subschemas(schema: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(pointer, node)`` for every dict schema reachable by keyword, the root first.

    ``$ref`` is not followed, so cycles through references cost nothing; the walk is iterative,
    depth- and size-bounded, and tolerates any value where a schema was expected.
    """
    stack: list[tuple[str, Any, int]] = [(path, schema, 0)]
    visited: set[int] = set()
    count = 0
    while stack:
        here, node, level = stack.pop()
        if not isinstance(node, dict) or id(node) in visited or level > MAX_DEPTH:
            continue
        visited.add(id(node))
        count += 1
        if count > MAX_NODES:
            return
        yield here, node
        children: list[tuple[str, Any]] = []
        for key in SCHEMA_KEYWORDS:
            if isinstance(node.get(key), dict):
                children.append((join_pointer(here, key), node[key]))
        for key in SCHEMA_LIST_KEYWORDS:
            if isinstance(node.get(key), list):
                children.extend(
                    (join_pointer(here, key, i), sub) for i, sub in enumerate(node[key])
                )
        for key in SCHEMA_MAP_KEYWORDS:
            if isinstance(node.get(key), dict):
                children.extend(
                    (join_pointer(here, key, str(name)), sub) for name, sub in node[key].items()
                )
        stack.extend((p, sub, level + 1) for p, sub in reversed(children))


# --------------------------------------------------------------------------- parsing


def loads(text: str) -> Any:
    """Untrusted JSON text, parsed strictly and cleaned (`tools_app.engine.untrusted`).

    NaN, Infinity and numbers too large for a float raise ValueError; a lone surrogate or NUL
    in a string comes back as its visible escape (``\\ud800``), so it can be saved and shown.
    """
    return untrusted.clean_json(untrusted.loads(text))


def parse_json(text: str) -> tuple[Any, Finding | None]:
    """Parse the parameters text; on failure the Finding carries line and column."""
    if not isinstance(text, str) or not text.strip():
        return None, Finding(
            "error",
            "empty_parameters",
            'Parameters are empty; a tool without arguments uses {"type": "object", '
            '"properties": {}}.',
            field="parameters",
        )
    try:
        return loads(text), None
    except json.JSONDecodeError as exc:
        return None, Finding(
            "error",
            "invalid_json",
            f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
            field="parameters",
            line=exc.lineno,
            column=exc.colno,
        )
    except ValueError as exc:  # NaN / Infinity / 1e999, refused by untrusted.loads
        return None, Finding("error", "invalid_json", f"Not valid JSON: {exc}.", field="parameters")
    except RecursionError:
        return None, Finding(
            "error", "too_deep", "Not usable: the JSON is nested too deeply.", field="parameters"
        )


# --------------------------------------------------------------------------- errors


def name_findings(name: str, taken_names: Collection[str] = ()) -> list[Finding]:
    """Errors about the tool name: empty, illegal characters, too long, already in the catalog."""
    if not isinstance(name, str) or not name:
        return [Finding("error", "bad_name", "The name is empty.", field="name")]
    findings: list[Finding] = []
    illegal = sorted(set(re.sub(r"[a-zA-Z0-9_-]", "", name)))
    if illegal:
        shown = " ".join(repr(c) for c in illegal[:10])
        findings.append(
            Finding(
                "error",
                "bad_name",
                f"The name may only use letters, digits, '_' and '-'; it contains {shown}.",
                field="name",
            )
        )
    if len(name) > NAME_MAX_LENGTH:
        findings.append(
            Finding(
                "error",
                "bad_name",
                f"The name is {len(name)} characters long; the limit is {NAME_MAX_LENGTH}.",
                field="name",
            )
        )
    if not findings and name in taken_names:
        findings.append(
            Finding(
                "error",
                "duplicate_name",
                f"The catalog already has a tool named `{name}`.",
                field="name",
            )
        )
    return findings


def schema_findings(parameters: Any) -> list[Finding]:
    """Errors that make ``parameters`` unusable as a tool's parameters schema."""
    if _depth(parameters) > MAX_DEPTH:
        return [
            Finding(
                "error",
                "too_deep",
                f"The schema is nested more than {MAX_DEPTH} levels deep.",
                field="parameters",
            )
        ]
    if _json_dumps(parameters) is None:
        return [
            Finding(
                "error",
                "not_json",
                "The parameters are not plain JSON (NaN or values JSON cannot hold).",
                field="parameters",
            )
        ]
    findings: list[Finding] = []
    for error in patterns.meta_validator().iter_errors(parameters):
        path = pointer(*error.absolute_path)
        where = f" at {path}" if path else ""
        unsupported = patterns.unsupported_pattern_message(error)
        if unsupported is not None:
            findings.append(
                Finding(
                    "error",
                    "unsupported_pattern",
                    f"Pattern{where}: {_shorten(unsupported, 300)}",
                    path=path,
                    field="parameters",
                )
            )
        else:
            findings.append(
                Finding(
                    "error",
                    "not_a_schema",
                    f"Not a valid JSON Schema{where}: {_shorten(error.message)}.",
                    path=path,
                    field="parameters",
                )
            )
        if len(findings) >= MAX_SCHEMA_ERRORS:
            break
    findings.sort(key=lambda f: f.path)
    if not findings:
        findings.extend(ref_findings(parameters))
        findings.extend(required_findings(parameters))
    if not isinstance(parameters, dict) or parameters.get("type") != "object":
        findings.append(
            Finding(
                "error",
                "top_level_not_object",
                'The parameters must be an object schema: the top level needs "type": "object".',
                field="parameters",
            )
        )
    return findings


def required_findings(parameters: Any) -> list[Finding]:
    """Errors for ``required`` names that are not among their object's properties."""
    findings: list[Finding] = []
    for path, node in iter_subschemas(parameters):
        missing = [name for name in _required_names(node) if not declares_property(node, name)]
        if not missing:
            continue
        names = list(dict.fromkeys(missing))
        listed = ", ".join(f"`{name}`" for name in names[:10])
        verb, them = ("is", "it") if len(names) == 1 else ("are", "them")
        where = f" at {path}" if path else ""
        findings.append(
            Finding(
                "error",
                "required_not_a_property",
                f"{listed} {verb} required{where} but not among the properties: the model is "
                f"never told about {them}, so every call fails validation. Add {them} to "
                f"properties or remove {them} from required.",
                path=join_pointer(path, "required"),
                field="parameters",
            )
        )
    return findings


def _resolve_local(root: Any, ref: str, anchors: dict[str, Any]) -> Any:
    """The node a local ``$ref`` points at, or None."""
    fragment = unquote(ref[1:])
    if not fragment.startswith("/") and fragment:
        return anchors.get(fragment)
    node = root
    for part in fragment.split("/")[1:] if fragment else []:
        key = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node


# Applicators that apply a subschema to the same instance: a cycle through these never ends.
_SAME_INSTANCE = ("allOf", "anyOf", "oneOf", "not", "if", "then", "else")


def ref_findings(parameters: Any) -> list[Finding]:
    """Errors about ``$ref``: remote targets, targets that do not exist, endless cycles."""
    nodes = list(iter_subschemas(parameters))
    if any("$id" in node for path, node in nodes if path):
        return []  # nested base URIs: resolution is the validator's business
    anchors = {node["$anchor"]: node for _, node in nodes if isinstance(node.get("$anchor"), str)}
    findings: list[Finding] = []
    edges: dict[int, list[dict[str, Any]]] = {}
    paths = {id(node): path for path, node in nodes}
    for path, node in nodes:
        targets: list[Any] = []
        ref = node.get("$ref")
        if isinstance(ref, str):
            here = join_pointer(path, "$ref")
            if not ref.startswith("#"):
                findings.append(
                    Finding(
                        "error",
                        "remote_ref",
                        f"Only local references (#/$defs/...) are supported; {here} points at "
                        f"{_shorten(ref, 60)}.",
                        path=here,
                        field="parameters",
                    )
                )
            else:
                target = _resolve_local(parameters, ref, anchors)
                if not isinstance(target, dict | bool):
                    findings.append(
                        Finding(
                            "error",
                            "unresolved_ref",
                            f"The reference {_shorten(ref, 60)} at {here} points at no schema.",
                            path=here,
                            field="parameters",
                        )
                    )
                targets.append(target)
        for key in _SAME_INSTANCE:
            sub = node.get(key)
            targets.extend(sub if isinstance(sub, list) else [sub])
        edges[id(node)] = [t for t in targets if isinstance(t, dict) and id(t) in paths]
    # Iterative depth-first search for a cycle among same-instance edges.
    state: dict[int, int] = {}
    for _, start in nodes:
        if state.get(id(start)):
            continue
        stack = [(start, iter(edges.get(id(start), ())))]
        state[id(start)] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[id(node)] = 2
                stack.pop()
            elif state.get(id(child)) == 1:
                where = paths[id(child)] or "the top level"
                findings.append(
                    Finding(
                        "error",
                        "ref_cycle",
                        f"The references around {where} form a cycle that never reaches a "
                        "type; validation would never end.",
                        path=paths[id(child)],
                        field="parameters",
                    )
                )
                return findings
            elif not state.get(id(child)):
                state[id(child)] = 1
                stack.append((child, iter(edges.get(id(child), ()))))
    return findings


def strict_findings(parameters: dict[str, Any]) -> list[Finding]:
    """Errors under OpenAI strict mode: closed objects, every property required, known keywords."""
    findings: list[Finding] = []
    if not isinstance(parameters, dict):
        return findings
    if "anyOf" in parameters:
        findings.append(
            Finding(
                "error",
                "strict_root_any_of",
                "Strict mode: the top level must be an object, not anyOf.",
                path="/anyOf",
                field="parameters",
            )
        )
    for path, node in iter_subschemas(parameters):
        for key in node:
            if key not in STRICT_SUPPORTED_KEYWORDS:
                findings.append(
                    Finding(
                        "error",
                        "strict_unsupported_keyword",
                        f"Strict mode does not support `{key}`"
                        f"{' at ' + path if path else ' at the top level'}.",
                        path=join_pointer(path, str(key)),
                        field="parameters",
                    )
                )
        if not _is_object_schema(node):
            continue
        where = path or "the top level"
        if node.get("additionalProperties") is not False:
            findings.append(
                Finding(
                    "error",
                    "strict_additional_properties",
                    f'Strict mode: the object at {where} needs "additionalProperties": false.',
                    path=join_pointer(path, "additionalProperties"),
                    field="parameters",
                )
            )
        properties = node.get("properties")
        if isinstance(properties, dict):
            required = set(_required_names(node))
            missing = [str(name) for name in properties if name not in required]
            if missing:
                listed = ", ".join(f"`{m}`" for m in missing[:10])
                findings.append(
                    Finding(
                        "error",
                        "strict_required",
                        f"Strict mode: every property must be required; {where} leaves out "
                        f"{listed} (make optional ones nullable instead).",
                        path=join_pointer(path, "required"),
                        field="parameters",
                    )
                )
    return findings


# --------------------------------------------------------------------------- lint

WHY = {
    "vague_name": "The model chooses tools by name first; a name that says what the tool does "
    "is picked more reliably.",
    "missing_description": "The description is the model's only documentation; without it the "
    "model guesses when and how to call.",
    "short_description": "One word rarely tells the model when to use this or what to pass.",
    "wants_enum": "Models pick among enum values reliably; free strings invite guesses.",
    "wants_format": "A format tells the model the exact shape expected and lets the engine "
    "validate it.",
    "unbounded_number": "Bounds tell the model the sensible range and catch absurd values before "
    "the tool runs.",
    "optional_without_default": "When an argument is left out the model should know what "
    "happens; state the default.",
    "large_schema": "Every tools entry is sent with every request: a large schema costs tokens "
    "and dilutes the model's attention.",
}

HINT_TITLES = {
    "vague_name": "A vague name",
    "missing_description": "No description",
    "short_description": "One-word descriptions",
    "wants_enum": "Free strings that look like a fixed set",
    "wants_format": "Strings that want a format",
    "unbounded_number": "Numbers without bounds",
    "optional_without_default": "Optional without a default",
    "large_schema": "A large schema",
}

VAGUE_NAMES = frozenset(
    {
        "func",
        "function",
        "do_thing",
        "dothing",
        "do_stuff",
        "do_it",
        "doit",
        "tool",
        "test",
        "helper",
        "run",
        "process",
        "execute",
        "handle",
        "handler",
        "action",
        "main",
        "misc",
        "thing",
        "stuff",
        "foo",
        "bar",
        "baz",
        "call",
        "api",
        "query",
    }
)
ENUM_NAME_TOKENS = frozenset(
    {
        "unit",
        "units",
        "mode",
        "status",
        "type",
        "kind",
        "format",
        "level",
        "sort",
        "order",
        "currency",
        "language",
        "lang",
    }
)
ENUM_DESCRIPTION = re.compile(
    r"\bone of\b|\beither\b|e\.g\.,?\s*['\"]|\bcelsius or fahrenheit\b"
    r"|['\"][^'\"\n]{1,30}['\"]\s*(?:,|or)\s*['\"][^'\"\n]{1,30}['\"]",
    re.IGNORECASE,
)
DEFAULT_MENTION = re.compile(r"\bdefault", re.IGNORECASE)


def name_tokens(name: str) -> list[str]:
    """``startDate`` / ``start_date`` / ``start-date`` → ``["start", "date"]``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return [t for t in re.split(r"[^a-zA-Z0-9]+", spaced.lower()) if t]


def _wanted_format(name: str, description: str) -> str | None:
    tokens = name_tokens(name)
    if not tokens:
        return None
    if "email" in tokens:
        return "email"
    if {"datetime", "timestamp"} & set(tokens) or (len(tokens) > 1 and tokens[-1] == "at"):
        return "date-time"
    if {"date", "birthday", "dob"} & set(tokens):
        return "date"
    if {"url", "uri", "link", "website", "homepage"} & set(tokens):
        return "uri"
    if "uuid" in tokens or (tokens[-1] == "id" and "uuid" in description.lower()):
        return "uuid"
    return None


def _description_findings(
    description: Any, *, subject: str, path: str, field: str
) -> list[Finding]:
    text = description.strip() if isinstance(description, str) else ""
    if not text:
        return [
            Finding(
                "warning",
                "missing_description",
                f"{subject} has no description.",
                path=path,
                why=WHY["missing_description"],
                field=field,
            )
        ]
    if len(text.split()) == 1:
        return [
            Finding(
                "warning",
                "short_description",
                f"{subject} is described in one word; say what it means and when to use it.",
                path=path,
                why=WHY["short_description"],
                field=field,
            )
        ]
    return []


def _property_findings(
    prop_name: str, prop: dict[str, Any], *, path: str, required: bool
) -> list[Finding]:
    findings: list[Finding] = []
    subject = f"Property `{prop_name}`"

    def warn(code: str, message: str) -> None:
        findings.append(
            Finding("warning", code, message, path=path, why=WHY[code], field="parameters")
        )

    description = prop.get("description")
    described = description if isinstance(description, str) else ""
    if "$ref" not in prop:
        findings.extend(
            _description_findings(description, subject=subject, path=path, field="parameters")
        )
    types = _type_names(prop)
    constrained = any(k in prop for k in ("enum", "const"))
    if "string" in types and not constrained and not any(k in prop for k in ("format", "pattern")):
        tokens = name_tokens(prop_name)
        # The head noun decides: ``sort_order`` wants an enum, ``order_id`` does not.
        if tokens and (tokens[-1] in ENUM_NAME_TOKENS or tokens[0] == "sort"):
            warn(
                "wants_enum",
                f"{subject} is a free string whose name suggests a fixed set of values — "
                "consider an enum.",
            )
        elif ENUM_DESCRIPTION.search(described):
            warn(
                "wants_enum",
                f"{subject} is a free string; its description lists choices — consider an enum.",
            )
        wanted = _wanted_format(prop_name, described)
        if wanted:
            warn(
                "wants_format",
                f'{subject} looks like a {wanted}; add "format": "{wanted}".',
            )
    if (
        {"number", "integer"} & set(types)
        and not constrained
        and not any(k in prop for k in BOUND_KEYWORDS)
    ):
        warn(
            "unbounded_number",
            f"{subject} is a number without minimum or maximum.",
        )
    if not required and "default" not in prop and not DEFAULT_MENTION.search(described):
        warn(
            "optional_without_default",
            f"{subject} is optional but neither its description nor a default says what "
            "happens when it is left out.",
        )
    return findings


# Argument guards a property's name or description calls for: (kind, words, what it looks like).
GUARD_HINTS: tuple[tuple[str, frozenset[str], str], ...] = (
    (
        "path",
        frozenset(
            {"path", "paths", "file", "files", "filename", "filepath", "dir", "directory", "folder"}
        ),
        "a file path",
    ),
    ("shell", frozenset({"command", "commands", "cmd", "shell", "script"}), "a command"),
    ("sql", frozenset({"sql", "query", "queries"}), "a query"),
    ("url", frozenset({"url", "urls", "uri", "link", "links", "endpoint", "webhook"}), "a URL"),
)
GUARD_WHY = {
    "path": "A model can be talked into `../../etc/passwd` or an absolute path; a path guard "
    "refuses traversal and absolute paths before the tool runs.",
    "shell": "Text from a conversation can carry `; rm -rf /` or `$(…)`; a shell guard refuses "
    "metacharacters before anything reaches a shell.",
    "sql": "A prompt injection can append `; DROP TABLE …` or hide a write in a comment; an sql "
    "guard lets through only one read-only SELECT (if this is not SQL, guard its length).",
    "url": "A model can be steered to `file://` or to cloud metadata addresses; a url guard keeps "
    "calls to the schemes and hosts you list.",
}
_WORDS = re.compile(r"[a-z]+")


def guard_findings(parameters: dict[str, Any], guards: Any = None) -> list[Finding]:
    """Suggest argument guards for string properties that look like paths, commands, queries or
    URLs, unless a guard of that kind already covers them."""
    existing = [
        (g.get("kind"), g.get("pointer", ""))
        for g in (guards if isinstance(guards, list) else [])
        if isinstance(g, dict) and isinstance(g.get("pointer", ""), str)
    ]
    findings: list[Finding] = []
    for path, node in iter_subschemas(parameters):
        argument = _argument_pointer(path)
        if argument is None or not argument or not ({"string", "array"} & set(_type_names(node))):
            continue
        prop_name = argument.rsplit("/", 1)[-1]
        if prop_name == "*":
            continue
        if "array" in _type_names(node):
            items = node.get("items")
            if not isinstance(items, dict) or "string" not in _type_names(items):
                continue
            argument += "/*"
        description = node.get("description")
        words = set(name_tokens(prop_name))
        if isinstance(description, str):
            words |= set(_WORDS.findall(description.lower()[:2000]))
        for kind, hints, looks_like in GUARD_HINTS:
            if not words & hints:
                continue
            if any(k == kind and _covers(p, argument) for k, p in existing):
                continue
            findings.append(
                Finding(
                    "warning",
                    "wants_guard",
                    f"Property `{prop_name}` looks like {looks_like}; add a guard "
                    f'{{"kind": "{kind}", "pointer": "{argument}"}}.',
                    path=path,
                    why=GUARD_WHY[kind],
                    field="guards",
                )
            )
    return findings


def _argument_pointer(schema_path: str) -> str | None:
    """`/properties/files/items` → `/files/*`; None for paths through other keywords."""
    parts = schema_path.split("/")[1:] if schema_path else []
    argument: list[str] = []
    index = 0
    while index < len(parts):
        if parts[index] == "properties" and index + 1 < len(parts):
            argument.append(parts[index + 1])
            index += 2
        elif parts[index] == "items":
            argument.append("*")
            index += 1
        else:
            return None
    return "".join("/" + part for part in argument)


def _covers(guard_pointer: str, argument: str) -> bool:
    if not guard_pointer:
        return True
    guard_parts, parts = guard_pointer.split("/"), argument.split("/")
    return len(guard_parts) <= len(parts) and all(
        g in ("*", p) for g, p in zip(guard_parts, parts, strict=False)
    )


def lint(
    name: str, description: str, parameters: dict[str, Any], guards: Any = None
) -> list[Finding]:
    """Warnings that never block saving, each with a ``why`` for the author."""
    findings: list[Finding] = []
    tokens = name_tokens(name) if isinstance(name, str) else []
    plain = "_".join(tokens)
    if (
        isinstance(name, str)
        and name
        and (plain in VAGUE_NAMES or len(name) <= 3 or re.search(r"\d$", name))
    ):
        findings.append(
            Finding(
                "warning",
                "vague_name",
                f"The name `{name}` does not say what the tool does.",
                why=WHY["vague_name"],
                field="name",
            )
        )
    findings.extend(
        _description_findings(description, subject="The tool", path="", field="description")
    )
    for path, node in iter_subschemas(parameters):
        properties = node.get("properties")
        if not isinstance(properties, dict):
            continue
        required = set(_required_names(node))
        for prop_name, prop in properties.items():
            if isinstance(prop, dict):
                findings.extend(
                    _property_findings(
                        str(prop_name),
                        prop,
                        path=join_pointer(path, "properties", str(prop_name)),
                        required=prop_name in required,
                    )
                )
    tokens_cost = estimate_tokens(
        tools_entry(name=str(name), description=str(description), parameters=parameters)
    )
    if tokens_cost > LARGE_SCHEMA_TOKENS:
        findings.append(
            Finding(
                "warning",
                "large_schema",
                f"This tool costs about {tokens_cost} tokens in every request; consider "
                "trimming it.",
                why=WHY["large_schema"],
                field="parameters",
            )
        )
    findings.extend(guard_findings(parameters, guards))
    return findings


# --------------------------------------------------------------------------- entry points


def tools_entry(
    *, name: str, description: str, parameters: dict[str, Any], strict: bool = False
) -> dict[str, Any]:
    """The element of a Chat Completions ``tools`` array for this tool."""
    function: dict[str, Any] = {
        "name": name,
        "description": description,
        "parameters": parameters,
    }
    if strict:
        function["strict"] = True
    return {"type": "function", "function": function}


def estimate_tokens(entry: Any) -> int:
    """Rough prompt cost: compact JSON length / 4, the usual English-text rule of thumb.

    0 when ``entry`` is not JSON (such a tool has errors anyway).
    """
    text = _json_dumps(entry)
    return math.ceil(len(text) / 4) if text is not None else 0


def check_tool(
    *,
    name: str,
    description: str,
    parameters: str | dict[str, Any],
    strict: bool = False,
    taken_names: Collection[str] = (),
    guards: Any = None,
) -> ToolCheck:
    """Everything the editor shows about a tool: errors block saving, warnings advise."""
    errors: list[Finding] = []
    warnings: list[Finding] = []
    errors.extend(name_findings(name, taken_names))
    if isinstance(parameters, str):
        parsed, problem = parse_json(parameters)
        if problem:
            errors.append(problem)
            entry = tools_entry(name=name, description=description, parameters={}, strict=strict)
            return ToolCheck(None, errors, warnings, estimate_tokens(entry) + len(parameters) // 4)
    else:
        parsed = parameters
    schema_errors = schema_findings(parsed)
    errors.extend(schema_errors)
    usable = isinstance(parsed, dict) and not any(
        f.code in ("not_json", "too_deep") for f in schema_errors
    )
    if strict and usable:
        errors.extend(strict_findings(parsed))
    if usable:
        warnings.extend(lint(name, description, parsed, guards))
    entry = tools_entry(name=name, description=description, parameters=parsed, strict=strict)
    return ToolCheck(
        parsed if isinstance(parsed, dict) else None,
        errors,
        warnings,
        estimate_tokens(entry),
    )


def legal_name(
    name: str, taken: Collection[str] = (), next_suffix: dict[str, int] | None = None
) -> str:
    """A name OpenAI accepts, close to ``name`` and not in ``taken``.

    Legal names are kept as they are; others are transliterated to ASCII where a letter has a
    base letter, and get the remaining illegal runs replaced by ``_``. A taken name gets the
    first free suffix ``_2``, ``_3``, …; a caller naming many tools against a ``taken`` that only
    grows passes the same ``next_suffix`` to each call, which remembers where each name's search
    stopped, so that n tools of one name cost n look-ups, not n²/2.
    """
    text = name if isinstance(name, str) else str(name)
    if not NAME_PATTERN.match(text):
        # A letter keeps its base letter (é → e, fullwidth → ASCII); the rest are separators.
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in decomposed if not unicodedata.combining(c))
        text = re.sub(r"[^a-zA-Z0-9_-]+", "_", text)
        text = re.sub(r"_+", "_", text).strip("_")[:NAME_MAX_LENGTH].strip("_") or "tool"
    if text not in taken:
        return text
    counter = 2 if next_suffix is None else next_suffix.get(text, 2)
    while True:
        suffix = f"_{counter}"
        stem = text[: NAME_MAX_LENGTH - len(suffix)].rstrip("_") or "tool"
        candidate = stem + suffix
        if candidate not in taken:
            if next_suffix is not None:
                next_suffix[text] = counter  # the caller may not take it
            return candidate
        counter += 1


# --------------------------------------------------------------------------- normalisation

TYPE_ALIASES: dict[str, str | None] = {
    "object": "object",
    "dict": "object",
    "map": "object",
    "mapping": "object",
    "hash": "object",
    "number": "number",
    "float": "number",
    "double": "number",
    "decimal": "number",
    "integer": "integer",
    "int": "integer",
    "long": "integer",
    "string": "string",
    "str": "string",
    "text": "string",
    "boolean": "boolean",
    "bool": "boolean",
    "array": "array",
    "list": "array",
    "tuple": "array",
    "set": "array",
    "null": "null",
    "none": "null",
    "nonetype": "null",
    "nil": "null",
    "any": None,
}
JSON_TYPES = ("object", "number", "integer", "string", "boolean", "array", "null")

_STRING_KEYWORDS = (
    "description",
    "title",
    "$comment",
    "format",
    "contentEncoding",
    "contentMediaType",
)
_REF_KEYWORDS = (
    "$ref",
    "$schema",
    "$id",
    "$dynamicRef",
    "$dynamicAnchor",
    "$anchor",
    "$recursiveRef",
    "$recursiveAnchor",
)
_NON_NEGATIVE_INT_KEYWORDS = (
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "minContains",
    "maxContains",
)
_BOOL_KEYWORDS = ("uniqueItems", "deprecated", "readOnly", "writeOnly")
_ANCHOR = re.compile(r"^[A-Za-z_][-A-Za-z0-9._]*$")
_INTEGER_TEXT = re.compile(r"^\s*[-+]?\d+\s*$")
_NUMBER_TEXT = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def _valid_regex(value: Any) -> bool:
    """Whether ``value`` is a regular expression at all, so that normalising keeps it.

    A real one that RE2 cannot match (a backreference) is kept too: the check then reports it
    with its pointer, rather than the import dropping it quietly. ``re`` only compiles here.
    """
    if not isinstance(value, str):
        return False
    if patterns.problem(value) is None:
        return True
    try:
        re.compile(value)
    except (re.error, RecursionError, OverflowError, ValueError):
        return False
    return True


def _describe(value: Any) -> str:
    text = _json_dumps(value)
    return _shorten(text if text is not None else repr(value), 40)


def _matches_type(value: Any, type_name: str) -> bool:
    match type_name:
        case "object":
            return isinstance(value, dict)
        case "array":
            return isinstance(value, list)
        case "string":
            return isinstance(value, str)
        case "boolean":
            return isinstance(value, bool)
        case "null":
            return value is None
        case "integer":
            return _is_number(value) and float(value).is_integer()
        case "number":
            return _is_number(value)
    return True


_NO_COERCION = object()


def _coerce(value: Any, type_name: str) -> Any:
    """``value`` turned losslessly into ``type_name``, or ``_NO_COERCION``."""
    if isinstance(value, str):
        text = value.strip()
        if type_name == "integer" and _INTEGER_TEXT.match(text):
            return int(text)
        if type_name == "number" and _NUMBER_TEXT.match(text):
            number = float(text)
            if math.isfinite(number):
                return int(number) if _INTEGER_TEXT.match(text) else number
        if type_name == "boolean" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if type_name == "null" and text.lower() in ("null", "none"):
            return None
        if type_name in ("array", "object") and text[:1] in "[{":
            try:
                parsed = loads(text)
            except (ValueError, RecursionError):
                return _NO_COERCION
            if _matches_type(parsed, type_name) and _depth(parsed) <= MAX_DEPTH:
                return parsed
        return _NO_COERCION
    if type_name == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if type_name == "string" and (_is_number(value) and math.isfinite(value)):
        return json.dumps(value)
    return _NO_COERCION


class _Normaliser:
    def __init__(self) -> None:
        self.notes: list[str] = []

    def note(self, path: str, text: str) -> None:
        self.notes.append(f"{path or 'top level'}: {text}")

    def schema(self, value: Any, path: str, level: int) -> Any:
        """A valid schema (dict or bool) for ``value``."""
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in TYPE_ALIASES:
            fixed = self.schema({"type": value}, path, level)
            self.note(path, f"bare type name {_describe(value)} → schema")
            return fixed
        if not isinstance(value, dict):
            self.note(path, f"{_describe(value)} is not a schema; replaced by {{}}")
            return {}
        if level > MAX_DEPTH:
            self.note(path, "nested too deeply; replaced by {}")
            return {}
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                self.note(path, f"non-string key {_describe(key)} removed")
                continue
            here = join_pointer(path, key)
            if key == "items" and isinstance(item, list):
                self.tuple_items(value, item, out, path, level)
                continue
            fixed = self.keyword(key, item, here, level)
            if fixed is not _DROP:
                out[key] = fixed
        self.required(out, path)
        self.default(out, path)
        return out

    def keyword(self, key: str, value: Any, path: str, level: int) -> Any:
        if key == "type":
            return self.type_(value, path)
        if key in ("properties", "$defs", "definitions", "dependentSchemas", "patternProperties"):
            return self.schema_map(key, value, path, level)
        if key in ("anyOf", "oneOf", "allOf", "prefixItems"):
            return self.schema_list(key, value, path, level)
        if key in SCHEMA_KEYWORDS:
            if isinstance(value, dict | bool):
                return self.schema(value, path, level + 1)
            self.note(path, f"{_describe(value)} is not a schema; removed")
            return _DROP
        if key == "required":
            return value  # checked once properties are known, in ``required``
        if key in _STRING_KEYWORDS or key in _REF_KEYWORDS:
            return self.string_keyword(key, value, path)
        if key == "pattern":
            if _valid_regex(value):
                return value
            self.note(path, f"invalid pattern {_describe(value)} removed")
            return _DROP
        if key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"):
            return self.number_keyword(key, value, path)
        if key in _NON_NEGATIVE_INT_KEYWORDS:
            return self.count_keyword(value, path)
        if key in _BOOL_KEYWORDS:
            if isinstance(value, bool):
                return value
            coerced = _coerce(value, "boolean")
            if coerced is not _NO_COERCION:
                self.note(path, f"{_describe(value)} → {_describe(coerced)}")
                return coerced
            self.note(path, f"{_describe(value)} is not a boolean; removed")
            return _DROP
        if key in ("enum", "examples"):
            if isinstance(value, list):
                return value
            self.note(path, f"{_describe(value)} is not a list; removed")
            return _DROP
        if key == "dependentRequired":
            return self.dependent_required(value, path)
        if key == "dependencies":
            return self.dependencies(value, path, level)
        if key == "$vocabulary":
            if isinstance(value, dict) and all(isinstance(v, bool) for v in value.values()):
                return value
            self.note(path, f"{_describe(value)} is not a vocabulary map; removed")
            return _DROP
        return value

    def tuple_items(
        self, schema: dict[str, Any], items: list[Any], out: dict[str, Any], path: str, level: int
    ) -> None:
        """Draft 4 tuple validation (``items`` as a list) becomes 2020-12 ``prefixItems``."""
        here = join_pointer(path, "items")
        if "prefixItems" in schema:
            self.note(here, "a list of schemas next to prefixItems; removed")
            return
        fixed = self.schema_list("prefixItems", items, here, level)
        if fixed is not _DROP:
            out["prefixItems"] = fixed
            self.note(here, "list of schemas → prefixItems")

    def dependencies(self, value: Any, path: str, level: int) -> Any:
        if not isinstance(value, dict):
            self.note(path, f"{_describe(value)} is not an object; removed")
            return _DROP
        out: dict[str, Any] = {}
        for name, sub in value.items():
            here = join_pointer(path, str(name))
            if isinstance(sub, list) and all(isinstance(s, str) for s in sub):
                if len(set(sub)) == len(sub):
                    out[str(name)] = sub
                else:
                    out[str(name)] = list(dict.fromkeys(sub))
                    self.note(here, "repeated names kept once")
            elif isinstance(sub, dict | bool):
                out[str(name)] = self.schema(sub, here, level + 1)
            else:
                self.note(here, f"{_describe(sub)} is neither a schema nor a name list; removed")
        return out

    def type_(self, value: Any, path: str) -> Any:
        names = value if isinstance(value, list) else [value]
        fixed: list[str] = []
        drop_all = False
        for name in names:
            if not isinstance(name, str):
                self.note(path, f"type {_describe(name)} is not a type name; removed")
                continue
            target: str | None
            if name in JSON_TYPES:
                target = name
            elif name.strip().lower() in TYPE_ALIASES:
                target = TYPE_ALIASES[name.strip().lower()]
                if target is None:
                    self.note(path, f"type {name!r} allows anything; type constraint removed")
                    drop_all = True
                    continue
                extra = " (a tuple: items are not checked by position)" if name == "tuple" else ""
                self.note(path, f"type {name!r} → {target!r}{extra}")
            else:
                self.note(path, f"unknown type {name!r} removed")
                continue
            if target in fixed:
                self.note(path, f"type {target!r} listed twice; kept once")
                continue
            fixed.append(target)
        if drop_all or not fixed:
            if not drop_all:
                self.note(path, "no usable type left; type constraint removed")
            return _DROP
        if isinstance(value, list) and len(fixed) > 1:
            return fixed
        if isinstance(value, list) and len(fixed) == 1 and len(value) == 1:
            return fixed
        return fixed[0] if len(fixed) == 1 else fixed

    def schema_map(self, key: str, value: Any, path: str, level: int) -> Any:
        if not isinstance(value, dict):
            self.note(path, f"{_describe(value)} is not an object; removed")
            return _DROP
        out: dict[str, Any] = {}
        for name, sub in value.items():
            if key == "patternProperties" and not _valid_regex(name):
                self.note(path, f"invalid pattern {_describe(name)} removed")
                continue
            out[str(name)] = self.schema(sub, join_pointer(path, str(name)), level + 1)
        return out

    def schema_list(self, key: str, value: Any, path: str, level: int) -> Any:
        if not isinstance(value, list) or not value:
            self.note(path, f"{_describe(value)} is not a non-empty list of schemas; removed")
            return _DROP
        return [self.schema(sub, join_pointer(path, i), level + 1) for i, sub in enumerate(value)]

    def string_keyword(self, key: str, value: Any, path: str) -> Any:
        if isinstance(value, str):
            if key in ("$anchor", "$dynamicAnchor", "$recursiveAnchor"):
                if _ANCHOR.match(value):
                    return value
                self.note(path, f"invalid anchor {_describe(value)} removed")
                return _DROP
            if key == "$id" and not re.match(r"^[^#]*#?$", value):
                self.note(path, "$id with a fragment removed")
                return _DROP
            return value
        if key in ("description", "title") and (_is_number(value) or isinstance(value, bool)):
            text = _json_dumps(value) or str(value)
            self.note(path, f"{_describe(value)} → {text!r}")
            return text
        self.note(path, f"{_describe(value)} is not a string; removed")
        return _DROP

    def number_keyword(self, key: str, value: Any, path: str) -> Any:
        if _is_number(value) and math.isfinite(value):
            if key == "multipleOf" and value <= 0:
                self.note(path, "multipleOf must be positive; removed")
                return _DROP
            return value
        if isinstance(value, bool) and key.startswith("exclusive"):
            # Draft 4's boolean form; ``required``-time repair is not worth it: drop it.
            self.note(path, f"boolean {key} (draft 4) removed")
            return _DROP
        coerced = _coerce(value, "number")
        if coerced is not _NO_COERCION and not (key == "multipleOf" and coerced <= 0):
            self.note(path, f"{_describe(value)} → {_describe(coerced)}")
            return coerced
        self.note(path, f"{_describe(value)} is not a number; removed")
        return _DROP

    def count_keyword(self, value: Any, path: str) -> Any:
        if _is_number(value) and float(value).is_integer() and value >= 0:
            return value
        coerced = _coerce(value, "integer")
        if coerced is not _NO_COERCION and coerced >= 0:
            self.note(path, f"{_describe(value)} → {coerced}")
            return coerced
        self.note(path, f"{_describe(value)} is not a non-negative integer; removed")
        return _DROP

    def dependent_required(self, value: Any, path: str) -> Any:
        if isinstance(value, dict) and all(
            isinstance(v, list) and all(isinstance(s, str) for s in v) and len(set(v)) == len(v)
            for v in value.values()
        ):
            return value
        self.note(path, f"{_describe(value)} is not a map of name lists; removed")
        return _DROP

    def required(self, out: dict[str, Any], path: str) -> None:
        if "required" not in out:
            return
        here = join_pointer(path, "required")
        value = out["required"]
        if isinstance(value, str):
            self.note(here, f"{value!r} was a string; made a list")
            value = [value]
        elif isinstance(value, bool):
            # Draft 3 put "required": true on each property; the parent's list carries it now.
            self.note(here, "boolean required (draft 3) removed")
            del out["required"]
            return
        elif not isinstance(value, list):
            self.note(here, f"{_describe(value)} is not a list of names; removed")
            del out["required"]
            return
        kept: list[str] = []
        for name in value:
            if not isinstance(name, str):
                self.note(here, f"{_describe(name)} is not a property name; removed")
            elif name in kept:
                self.note(here, f"{name!r} listed twice; kept once")
            elif not declares_property(out, name):
                self.note(here, f"{name!r} is not among the properties; removed")
            else:
                kept.append(name)
        if kept or not value:
            out["required"] = kept
        else:
            del out["required"]

    def default(self, out: dict[str, Any], path: str) -> None:
        if "default" not in out or "type" not in out:
            return
        here = join_pointer(path, "default")
        value = out["default"]
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        if any(_matches_type(value, t) for t in types):
            return
        for type_name in types:
            coerced = _coerce(value, type_name)
            if coerced is not _NO_COERCION:
                self.note(here, f"{_describe(value)} → {_describe(coerced)} to match the type")
                out["default"] = coerced
                return
        self.note(here, f"{_describe(value)} does not match type {_describe(out['type'])}; removed")
        del out["default"]


_DROP = object()


def normalise_schema(schema: Any) -> tuple[dict[str, Any], list[str]]:
    """A valid Draft 2020-12 object schema for ``schema``, and notes on what changed.

    Repairs dialects (BFCL's ``dict``/``float``/``tuple``/``any``, Python type names), keyword
    values of the wrong shape, ``required`` names that are not properties, and defaults of the
    wrong type (coerced when lossless, otherwise dropped). Idempotent, and never raises.
    """
    if schema is None:
        return dict(EMPTY_PARAMETERS, properties={}), ["top level: no schema; no arguments"]
    if not isinstance(schema, dict):
        return dict(EMPTY_PARAMETERS, properties={}), [
            f"top level: {_describe(schema)} is not a schema; replaced by an empty object schema"
        ]
    if _json_dumps(schema) is None:
        return dict(EMPTY_PARAMETERS, properties={}), [
            "top level: not plain JSON; replaced by an empty object schema"
        ]
    normaliser = _Normaliser()
    try:
        result = normaliser.schema(schema, "", 0)
    except RecursionError:
        return dict(EMPTY_PARAMETERS, properties={}), [
            "top level: nested too deeply; replaced by an empty object schema"
        ]
    assert isinstance(result, dict)
    if "type" not in result and not any(k in result for k in ("anyOf", "oneOf", "allOf", "$ref")):
        result = {"type": "object", **result}
        normaliser.note("", "type 'object' added")
        normaliser.default(result, "")
        normaliser.required(result, "")
    if not schema_findings_are_valid(result):
        return dict(EMPTY_PARAMETERS, properties={}), [
            *normaliser.notes,
            "top level: still not a valid schema; replaced by an empty object schema",
        ]
    return result, normaliser.notes


def schema_findings_are_valid(schema: Any) -> bool:
    """Whether the Draft 2020-12 meta-schema accepts ``schema`` (regex formats checked)."""
    if _depth(schema) > MAX_DEPTH + 2:
        return False
    try:
        # A pattern RE2 cannot match is still a schema: keep it, so the check can say why.
        errors = patterns.meta_validator().iter_errors(schema)
        return all(patterns.unsupported_pattern_message(error) for error in errors)
    except RecursionError:
        return False
