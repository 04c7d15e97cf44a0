"""The catalog's domain operations: save a tool as a new version, import, export, bundles.

Views, management commands and the demo loader all call these, so a tool saved from any of them
gets the same checks and the same version history. Nothing here renders or parses requests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from fcstudio import audit, secrets

from . import importers, runtime, schema
from .engine.guards import GuardConfigError, parse_guards
from .models import SNAPSHOT_DEFAULTS, Catalog, ImplementationKind, Tool, ToolVersion
from .tool_settings import ToolSettings, import_problem
from .wire import wire_tools

BUNDLE_FORMAT = "fcstudio.bundle"
BUNDLE_VERSION = 1
DEFAULT_MOCK_CONFIG: dict[str, Any] = {"latency_ms": 50}
# How a header's secret value appears where it may not: bundles withhold it, pages mask it.
WITHHELD: dict[str, Any] = {"secret": None}
SHOWN_SECRET = f"{secrets.MASK} (secret)"
SHOWN_CHANGED_SECRET = f"{secrets.MASK} (secret, changed)"


@dataclass
class ImportedRow:
    name: str
    original_name: str
    outcome: str  # "created", "updated" or "unchanged"
    changes: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    format: str
    rows: list[ImportedRow]
    rejected: list[importers.Rejection]

    @property
    def imported(self) -> int:
        return len(self.rows)

    @property
    def normalised(self) -> int:
        return sum(1 for row in self.rows if row.changes)

    def counts(self) -> dict[str, int]:
        return {
            "imported": self.imported,
            "normalised": self.normalised,
            "rejected": len(self.rejected),
            "created": sum(1 for row in self.rows if row.outcome == "created"),
            "updated": sum(1 for row in self.rows if row.outcome == "updated"),
            "unchanged": sum(1 for row in self.rows if row.outcome == "unchanged"),
        }


def save_tool(tool: Tool, *, author: Any = None, message: str = "") -> ToolVersion | None:
    """Save the working copy and freeze it as the next version; None when nothing changed."""
    version = _save_version(tool, author=author, message=message)
    if version is not None:
        kind = audit.Kind.TOOL_CREATE if version.number == 1 else audit.Kind.TOOL_EDIT
        audit.record(tool.catalog.team_id, kind, author, tool, {"version": version.number})
    return version


def _save_version(tool: Tool, *, author: Any, message: str) -> ToolVersion | None:
    # Imports save many tools at once: they are one `catalog.import` event, not one per tool.
    with transaction.atomic():
        latest = tool.versions.first() if tool.pk else None
        if latest is not None and {**SNAPSHOT_DEFAULTS, **latest.snapshot} == _normalised_snapshot(
            tool
        ):
            return None
        tool.version = (latest.number if latest else 0) + 1
        tool.save()
        return ToolVersion.objects.create(
            tool=tool,
            number=tool.version,
            snapshot=_normalised_snapshot(tool),
            author=author if getattr(author, "is_authenticated", False) else None,
            message=message[:200],
        )


def _normalised_snapshot(tool: Tool) -> dict[str, Any]:
    # A JSON round trip makes the snapshot compare equal to what the database gives back.
    return json.loads(json.dumps(tool.snapshot()))


def redacted_snapshot(snapshot: dict[str, Any], shown: Any = WITHHELD) -> dict[str, Any]:
    """A copy of a snapshot fit to show or export: every HTTP header value replaced by `shown`.

    Stored values are Fernet tokens, ciphertext, but they still stay on the server; the history
    page shows SHOWN_SECRET, bundles carry WITHHELD.
    """
    implementation = snapshot.get("implementation")
    if not isinstance(implementation, dict) or not isinstance(implementation.get("headers"), dict):
        return snapshot
    headers = {name: json.loads(json.dumps(shown)) for name in implementation["headers"]}
    return {**snapshot, "implementation": {**implementation, "headers": headers}}


def tools_entry(tool: Tool) -> dict[str, Any]:
    return schema.tools_entry(
        name=tool.name,
        description=tool.description,
        parameters=tool.parameters,
        strict=tool.strict,
    )


def export_openai(catalog: Catalog) -> list[dict[str, Any]]:
    return wire_tools([tools_entry(tool) for tool in catalog.tools.order_by("name")])


def save_catalog(catalog: Catalog, *, actor: Any = None) -> None:
    """Save a new or edited catalog (its fields already set, e.g. by CatalogForm)."""
    created = catalog.pk is None
    catalog.save()
    kind = audit.Kind.CATALOG_CREATE if created else audit.Kind.CATALOG_EDIT
    audit.record(catalog.team_id, kind, actor, catalog, {"slug": catalog.slug})


def delete_catalog(catalog: Catalog, *, actor: Any = None) -> None:
    audit.record(catalog.team_id, audit.Kind.CATALOG_DELETE, actor, catalog, {"slug": catalog.slug})
    catalog.delete()


def delete_tool(tool: Tool, *, actor: Any = None) -> None:
    details = {"catalog": tool.catalog.slug, "version": tool.version}
    audit.record(tool.catalog.team_id, audit.Kind.TOOL_DELETE, actor, tool, details)
    tool.delete()


def export_bundle(catalog: Catalog) -> dict[str, Any]:
    tools = []
    for tool in catalog.tools.order_by("name").prefetch_related("versions__author"):
        snapshot = redacted_snapshot(_normalised_snapshot(tool))
        snapshot["versions"] = [
            {
                "number": version.number,
                "message": version.message,
                "author": version.author.get_username() if version.author else None,
                "created_at": version.created_at.isoformat(),
                "snapshot": redacted_snapshot(version.snapshot),
            }
            for version in sorted(tool.versions.all(), key=lambda v: v.number)
        ]
        tools.append(snapshot)
    return {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "catalog": {
            "name": catalog.name,
            "slug": catalog.slug,
            "description": catalog.description,
        },
        "tools": tools,
    }


def is_bundle(value: Any) -> bool:
    return isinstance(value, dict) and value.get("format") == BUNDLE_FORMAT


def import_text(catalog: Catalog, text: str, *, author: Any = None) -> ImportReport:
    """Import any supported format into the catalog, all valid tools or nothing.

    Tools whose name is already in the catalog are updated (a new version when anything
    changed, keeping their implementation), except that a name changed to fit updates only the
    tool imported from the same original name; the rest are created with a mock implementation so
    they can be tried at once. Raises importers.ImportFormatError when the input as a whole is
    unusable.
    """
    try:
        whole = json.loads(text)
    except (ValueError, RecursionError):
        whole = None
    report = (
        _import_bundle(catalog, whole, author=author)
        if is_bundle(whole)
        else _import_formats(catalog, text, author=author)
    )
    audit.record(catalog.team_id, audit.Kind.CATALOG_IMPORT, author, catalog, report.counts())
    return report


def _import_formats(catalog: Catalog, text: str, *, author: Any) -> ImportReport:
    result = importers.parse_import(text)
    rows: list[ImportedRow] = []
    with transaction.atomic():
        existing = {tool.name: tool for tool in catalog.tools.select_for_update()}
        renamed: dict[str, Tool] = {}
        for known in sorted(existing.values(), key=lambda t: t.name):
            if known.original_name:
                renamed.setdefault(known.original_name, known)
        taken = set(existing) | {imported.name for imported in result.tools}
        next_suffix: dict[str, int] = {}
        for imported in result.tools:
            target = _import_target(imported, existing, renamed)
            created = target is None
            changes = list(imported.changes)
            if target is not None:
                tool = target
            else:
                name = imported.name
                if name in existing:
                    name = schema.legal_name(imported.original_name, taken, next_suffix)
                    other = existing[imported.name]
                    source = f" (from {other.original_name!r})" if other.original_name else ""
                    changes.append(
                        f"`{imported.name}` is another tool in the catalog{source}; "
                        f"named `{name}` instead"
                    )
                    taken.add(name)
                tool = Tool(
                    catalog=catalog,
                    name=name,
                    implementation_kind=ImplementationKind.MOCK,
                    implementation_config=dict(DEFAULT_MOCK_CONFIG),
                )
            tool.original_name = imported.original_name
            tool.description = imported.description
            tool.parameters = imported.parameters
            tool.strict = imported.strict
            version = _save_version(tool, author=author, message=f"Imported ({result.format})")
            outcome = "created" if created else ("updated" if version else "unchanged")
            rows.append(ImportedRow(tool.name, imported.original_name, outcome, changes))
    return ImportReport(result.format, rows, result.rejected)


def _import_target(
    imported: importers.ImportedTool, existing: dict[str, Tool], renamed: dict[str, Tool]
) -> Tool | None:
    """The catalog's tool an imported one updates, or None to create it.

    A name kept as the source spelled it updates the tool of that name. A name changed to fit
    (`get.stock price` → `get_stock_price`) updates only a tool imported from the same source
    name, so it never takes over an unrelated tool that happens to have the cleaned-up name.
    """
    if not imported.original_name:
        return existing.get(imported.name)
    same = existing.get(imported.name)
    if same is not None and same.original_name == imported.original_name:
        return same
    return renamed.get(imported.original_name)


def _import_bundle(catalog: Catalog, bundle: dict[str, Any], *, author: Any) -> ImportReport:
    entries = bundle.get("tools")
    if not isinstance(entries, list):
        raise importers.ImportFormatError("The bundle has no list of tools.")
    usernames = {
        entry.get("author")
        for item in entries
        if isinstance(item, dict)
        for entry in item.get("versions") or []
        if isinstance(entry, dict)
    }
    users = {u.get_username(): u for u in get_user_model().objects.filter(username__in=usernames)}
    rows: list[ImportedRow] = []
    rejected: list[importers.Rejection] = []
    accepted: list[tuple[dict[str, Any], Tool, list[str]]] = []
    with transaction.atomic():
        existing = {tool.name: tool for tool in catalog.tools.select_for_update()}
        seen: set[str] = set()
        for index, item in enumerate(entries):
            problem = _bundle_entry_problem(item, seen)
            if problem:
                label = item.get("name", "") if isinstance(item, dict) else ""
                rejected.append(importers.Rejection(index, str(label), problem))
                continue
            seen.add(item["name"])
            tool = existing.get(item["name"]) or Tool(catalog=catalog)
            notes = _apply_snapshot(tool, item)
            accepted.append((item, tool, notes))
        for item, tool, notes in accepted:
            if tool.pk is None and _has_history(item):
                tool.version = max(v["number"] for v in item["versions"])
                tool.save()
                for entry in item["versions"]:
                    ToolVersion.objects.create(
                        tool=tool,
                        number=entry["number"],
                        snapshot=entry["snapshot"],
                        message=str(entry.get("message", ""))[:200],
                        author=users.get(entry.get("author")),
                        created_at=_parse_time(entry.get("created_at")),
                    )
                rows.append(ImportedRow(tool.name, tool.original_name, "created", notes))
                continue
            created = tool.pk is None
            version = _save_version(tool, author=author, message="Imported (bundle)")
            outcome = "created" if created else ("updated" if version else "unchanged")
            rows.append(ImportedRow(tool.name, tool.original_name, outcome, notes))
    return ImportReport("bundle", rows, rejected)


def _parse_time(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return timezone.now()
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)


def _has_history(item: dict[str, Any]) -> bool:
    versions = item.get("versions")
    return (
        isinstance(versions, list)
        and bool(versions)
        and all(
            isinstance(v, dict)
            and isinstance(v.get("number"), int)
            and v["number"] > 0
            and isinstance(v.get("snapshot"), dict)
            for v in versions
        )
        and len({v["number"] for v in versions}) == len(versions)
    )


def _bundle_entry_problem(item: Any, seen: set[str]) -> str:
    if not isinstance(item, dict):
        return "A bundle entry must be an object."
    name = item.get("name")
    if not isinstance(name, str):
        return "The entry has no name."
    if name in seen:
        return f"The bundle names `{name}` twice."
    implementation = item.get("implementation")
    if not isinstance(implementation, dict) or implementation.get("kind") not in (
        ImplementationKind.values
    ):
        return "The entry has no implementation of a known kind (mock, http, python)."
    settings_problem = import_problem(item) or next(
        (
            f"Version {entry.get('number')}: {problem}"
            for entry in item.get("versions") or []
            if isinstance(entry, dict)
            and isinstance(entry.get("snapshot"), dict)
            and (problem := import_problem(entry["snapshot"]))
        ),
        "",
    )
    if settings_problem:
        return settings_problem
    refusal = _python_refusal(implementation) or next(
        (
            f"Version {entry.get('number')}: {problem}"
            for entry in item.get("versions") or []
            if isinstance(entry, dict)
            and isinstance(entry.get("snapshot"), dict)
            and (problem := _python_refusal(entry["snapshot"].get("implementation")))
        ),
        "",
    )
    if refusal:
        return refusal
    headers = implementation.get("headers", {})
    if not isinstance(headers, dict) or not all(
        isinstance(value, str)
        or (
            isinstance(value, dict)
            and set(value) == {"secret"}
            and isinstance(value["secret"], (str, type(None)))
        )
        for value in headers.values()
    ):
        return '`implementation.headers` must map header names to {"secret": …} objects.'
    try:
        parse_guards(item.get("guards", []))
    except GuardConfigError as exc:
        return f"`guards`: {exc}"
    check = schema.check_tool(
        name=name,
        description=str(item.get("description", "")),
        parameters=item.get("parameters", {}),
        strict=bool(item.get("strict", False)),
    )
    if check.errors:
        return check.errors[0].message
    return ""


def _python_refusal(implementation: Any) -> str:
    """Why a python implementation cannot be imported here (its callable is checked now)."""
    if not isinstance(implementation, dict) or implementation.get("kind") != "python":
        return ""
    config = {key: value for key, value in implementation.items() if key != "kind"}
    problem = runtime.python_config_problem(config)
    return f"The Python callable is refused: {problem}." if problem else ""


def _apply_snapshot(tool: Tool, item: dict[str, Any]) -> list[str]:
    """Copy a bundle entry onto the tool; return notes about what needs a person's attention."""
    implementation = dict(item["implementation"])
    notes: list[str] = []
    if "headers" in implementation:
        stored = tool.implementation_config.get("headers") if tool.pk else None
        implementation["headers"], notes = _imported_headers(
            implementation["headers"], stored if isinstance(stored, dict) else {}
        )
    tool.name = item["name"]
    tool.original_name = str(item.get("original_name", ""))[:255]
    tool.description = str(item.get("description", ""))
    tool.parameters = item.get("parameters", {})
    tool.strict = bool(item.get("strict", False))
    tool.implementation_kind = implementation.pop("kind")
    tool.implementation_config = implementation
    ToolSettings.from_snapshot(item).apply_to(tool)
    tool.guards = item.get("guards") or []
    return notes


def _imported_headers(
    incoming: dict[str, Any], stored: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """Bundles withhold header values: keep the one this tool already has, else leave it empty.

    A plain string value (a hand-written bundle) is encrypted on the way in.
    """
    stored_by_name = {name.lower(): value for name, value in stored.items()}
    headers: dict[str, Any] = {}
    notes: list[str] = []
    for name, value in incoming.items():
        if isinstance(value, str):
            headers[name] = {"secret": secrets.encrypt(value)}
        elif value.get("secret") is not None:
            headers[name] = {"secret": value["secret"]}
        else:
            kept = stored_by_name.get(name.lower())
            if isinstance(kept, dict) and kept.get("secret"):
                headers[name] = kept
            else:
                headers[name] = dict(WITHHELD)
                notes.append(
                    f"Header {name}: the bundle withholds its value; enter it in the editor."
                )
    return headers, notes
