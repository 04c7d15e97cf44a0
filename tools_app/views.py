"""Catalog and tool editor pages. Thin: parse with a form, call tools_app.catalog, render."""

from __future__ import annotations

import difflib
import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from fcstudio.limits import MB, body_limit, overlong_fields
from fcstudio.models import Role
from fcstudio.teams import TeamRequest, team_view

from . import catalog as catalog_ops
from . import importers, schema, schema_form
from .engine import GuardSet
from .engine.guard_lab import hostile_cases, run_lab, user_cases
from .forms import CatalogForm, DiffForm, GuardLabForm, ImportForm, ToolForm, TryForm
from .models import Catalog, Tool

# The editor's fields allow about 330,000 characters; percent-encoded JSON is at most a few
# bytes a character. Longer fields that fit are caught by `overlong_fields`.
EDITOR_BODY_BYTES = 2 * MB
SMALL_FORM_BYTES = 64 * 1024
TOOLS_PER_PAGE = 50


def team_catalog(request: TeamRequest, slug: str) -> Catalog:
    """The catalog of the request's team (set by team_view), or 404."""
    return get_object_or_404(Catalog, team=request.team, slug=slug)


def _tool(request: TeamRequest, catalog: str, tool: str) -> Tool:
    return get_object_or_404(
        Tool.objects.select_related("catalog"),
        catalog__team=request.team,
        catalog__slug=catalog,
        name=tool,
    )


@team_view(role=Role.EDITOR)
@body_limit(SMALL_FORM_BYTES)
@require_http_methods(["GET", "POST"])
def catalog_new(request: TeamRequest) -> HttpResponse:
    form = CatalogForm(request.POST or None, team=request.team)
    if request.method == "POST" and form.is_valid():
        new = form.save(commit=False)
        new.team = request.team
        catalog_ops.save_catalog(new, actor=request.user)
        messages.success(request, f"Catalog “{new.name}” created.")
        return redirect("catalog", team=new.team.slug, catalog=new.slug)
    return render(request, "tools_app/catalog_new.html", {"form": form})


@team_view(role=Role.EDITOR)
@body_limit(SMALL_FORM_BYTES)
@require_http_methods(["GET", "POST"])
def catalog_edit(request: TeamRequest, catalog: str) -> HttpResponse:
    current = team_catalog(request, catalog)
    form = CatalogForm(request.POST or None, instance=current, team=request.team)
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        catalog_ops.save_catalog(saved, actor=request.user)
        messages.success(request, f"Catalog “{saved.name}” saved.")
        return redirect("catalog", team=saved.team.slug, catalog=saved.slug)
    context = {"form": form, "catalog": current, "tool_count": current.tools.count()}
    return render(request, "tools_app/catalog_edit.html", context)


@team_view(role=Role.ADMIN, write_role=Role.ADMIN)
@body_limit(SMALL_FORM_BYTES)
@require_POST
def catalog_delete(request: TeamRequest, catalog: str) -> HttpResponse:
    current = team_catalog(request, catalog)
    catalog_ops.delete_catalog(current, actor=request.user)
    messages.success(request, f"Deleted the catalog “{current.name}” and its tools.")
    return redirect("team", team=request.team.slug)


@team_view()
@require_GET
def catalog_detail(request: TeamRequest, catalog: str) -> HttpResponse:
    current = team_catalog(request, catalog)
    query = request.GET.get("q", "").strip()[:100]
    tools = current.tools.all()
    if query:
        tools = tools.filter(
            Q(name__icontains=query)
            | Q(original_name__icontains=query)
            | Q(description__icontains=query)
        )
    page = Paginator(tools, TOOLS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "catalog": current,
        "tools": page.object_list,
        "page": page,
        "query": query,
        "total": current.tools.count(),
    }
    template = "tools_app/catalog_detail.html"
    if request.htmx:
        template += "#tool-table"
    return render(request, template, context)


def _checks_context(form: ToolForm) -> dict[str, Any]:
    check = form.check or form.run_check()
    context: dict[str, Any] = {"check": check, "entry_json": "", "preview": None}
    if check.parameters is not None and not check.errors:
        data = form.data if form.is_bound else form.initial
        entry = schema.tools_entry(
            name=str(data.get("name", "")).strip(),
            description=str(data.get("description", "")),
            parameters=check.parameters,
            strict=data.get("strict") in (True, "on", "true", "1"),
        )
        context["entry_json"] = json.dumps(entry, indent=2)
        context["preview"] = schema_form.form_for_schema(check.parameters, prefix="preview")
    return context


def _too_large_checks(problems: list[str]) -> dict[str, Any]:
    findings = [schema.Finding("error", "too_large", f"{p} Not checked.") for p in problems]
    return {"check": schema.ToolCheck(None, errors=findings), "entry_json": "", "preview": None}


def _editor(request: TeamRequest, current: Catalog, tool: Tool | None) -> HttpResponse:
    can_edit = request.membership.allows(Role.EDITOR)
    status = 200
    problems = overlong_fields(ToolForm, request.POST) if request.method == "POST" else []
    for problem in problems:
        messages.error(request, f"{problem} Nothing was saved.")
    if problems:
        # Shown again as stored: echoing the oversized fields would make the page as large.
        form = ToolForm(initial=ToolForm.initial_for(tool), catalog=current, tool=tool)
        status = 413
    elif request.method == "POST":
        form = ToolForm(request.POST, catalog=current, tool=tool)
        if form.is_valid():
            target = form.apply(tool or Tool(catalog=current))
            version = catalog_ops.save_tool(
                target, author=request.user, message=form.cleaned_data["message"]
            )
            if version is None:
                messages.info(request, "No changes to save.")
            else:
                messages.success(request, f"Saved {target.name} as version {version.number}.")
            url = target_url(target)
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    else:
        form = ToolForm(initial=ToolForm.initial_for(tool), catalog=current, tool=tool)
    context = {"form": form, "catalog": current, "tool": tool, "can_edit": can_edit}
    context.update(_too_large_checks(problems) if problems else _checks_context(form))
    if tool is not None and can_edit:
        context["lab_form"] = GuardLabForm()
        context["try_form"] = TryForm()
        context["try_generated"] = schema_form.form_for_schema(
            tool.parameters, required_attribute=False
        )
    # A form shown again with its errors is a 200, as Django's own views do.
    return render(request, "tools_app/tool_edit.html", context, status=status)


def target_url(tool: Tool) -> str:
    kwargs = {"team": tool.catalog.team.slug, "catalog": tool.catalog.slug, "tool": tool.name}
    return reverse("tool", kwargs=kwargs)


@team_view(role=Role.EDITOR)
@body_limit(EDITOR_BODY_BYTES)
@require_http_methods(["GET", "POST"])
def tool_new(request: TeamRequest, catalog: str) -> HttpResponse:
    return _editor(request, team_catalog(request, catalog), None)


@team_view()
@body_limit(EDITOR_BODY_BYTES)
@require_http_methods(["GET", "POST"])
def tool_edit(request: TeamRequest, catalog: str, tool: str) -> HttpResponse:
    current = _tool(request, catalog, tool)
    return _editor(request, current.catalog, current)


@team_view(role=Role.EDITOR)
@body_limit(EDITOR_BODY_BYTES)
@require_POST
def tool_check(request: TeamRequest, catalog: str) -> HttpResponse:
    """The live check while typing: errors, lint, the form preview and the tools entry."""
    current = team_catalog(request, catalog)
    problems = overlong_fields(ToolForm, request.POST)
    if problems:
        context = _too_large_checks(problems)
        return render(request, "tools_app/tool_edit.html#checks", context, status=413)
    tool = None
    if request.POST.get("tool_id", "").isdigit():
        tool = current.tools.filter(pk=int(request.POST["tool_id"])).first()
    form = ToolForm(request.POST, catalog=current, tool=tool)
    return render(request, "tools_app/tool_edit.html#checks", _checks_context(form))


@team_view(role=Role.EDITOR)
@body_limit(SMALL_FORM_BYTES)
@require_POST
def tool_guard_lab(request: TeamRequest, catalog: str, tool: str) -> HttpResponse:
    """Hostile argument sets against the guards typed in the editor; the tool never runs."""
    current = _tool(request, catalog, tool)
    form = GuardLabForm(request.POST)
    report = None
    if form.is_valid():
        guards = GuardSet.from_config(form.cleaned_data["guards"])
        cases = hostile_cases(current.parameters) + user_cases(form.cleaned_data["lines"])
        report = run_lab(guards, cases)
    context = {"lab_form": form, "report": report, "tool": current}
    return render(request, "tools_app/partials/guard_lab_result.html", context)


@team_view(role=Role.EDITOR)
@require_POST
def tool_delete(request: TeamRequest, catalog: str, tool: str) -> HttpResponse:
    current = _tool(request, catalog, tool)
    catalog_ops.delete_tool(current, actor=request.user)
    messages.success(request, f"Deleted {current.name} and its history.")
    return redirect("catalog", team=request.team.slug, catalog=catalog)


@team_view()
@require_GET
def tool_history(request: TeamRequest, catalog: str, tool: str) -> HttpResponse:
    current = _tool(request, catalog, tool)
    versions = list(current.versions.select_related("author"))
    diff: list[tuple[str, str]] = []
    form = DiffForm(request.GET or None)
    a = b = None
    if form.is_bound and form.is_valid():
        by_number = {v.number: v for v in versions}
        a, b = by_number.get(form.cleaned_data["a"]), by_number.get(form.cleaned_data["b"])
        if a is None or b is None:
            form.add_error(None, "Pick two versions this tool has.")
        else:
            diff = snapshot_diff(a.snapshot, b.snapshot)
    elif len(versions) >= 2:
        a, b = versions[1], versions[0]
        diff = snapshot_diff(a.snapshot, b.snapshot)
    context = {
        "tool": current,
        "catalog": current.catalog,
        "versions": versions,
        "diff": diff,
        "a": a,
        "b": b,
        "form": form,
    }
    return render(request, "tools_app/tool_history.html", context)


def snapshot_diff(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str]]:
    """A line diff of two snapshots as pretty JSON: (kind, line) with kind add/del/ctx/hunk.

    Header values show as masks, never their tokens; a header whose stored value changed says
    so, so that replacing a secret is not an empty diff.
    """
    shown = catalog_ops.SHOWN_SECRET
    redacted_new = catalog_ops.redacted_snapshot(new, shown)
    old_headers, new_headers = _headers(old), _headers(new)
    for name in new_headers.keys() & old_headers.keys():
        if new_headers[name] != old_headers[name]:
            redacted_new["implementation"]["headers"][name] = catalog_ops.SHOWN_CHANGED_SECRET
    before = _pretty(catalog_ops.redacted_snapshot(old, shown))
    after = _pretty(redacted_new)
    rows: list[tuple[str, str]] = []
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=3)
    for line in lines:
        if line.startswith(("---", "+++")):
            continue
        kind = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "ctx")
        rows.append((kind, line))
    return rows


def _pretty(snapshot: dict[str, Any]) -> str:
    return json.dumps(snapshot, indent=2, sort_keys=True, ensure_ascii=False)


def _headers(snapshot: dict[str, Any]) -> dict[str, Any]:
    implementation = snapshot.get("implementation")
    headers = implementation.get("headers") if isinstance(implementation, dict) else None
    return headers if isinstance(headers, dict) else {}


@team_view(role=Role.EDITOR)
@body_limit(settings.FCSTUDIO_MAX_IMPORT_BYTES + 64 * 1024)
@require_http_methods(["GET", "POST"])
def catalog_import(request: TeamRequest, catalog: str) -> HttpResponse:
    current = team_catalog(request, catalog)
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        try:
            report = catalog_ops.import_text(
                current, form.cleaned_data["source"], author=request.user
            )
        except importers.ImportFormatError as exc:
            form.add_error(None, str(exc))
    context = {"catalog": current, "form": form, "report": report}
    return render(request, "tools_app/catalog_import.html", context)


def json_download(payload: Any, filename: str) -> JsonResponse:
    """Pretty JSON the browser saves as `filename`."""
    response = JsonResponse(payload, safe=False, json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@team_view()
@require_GET
def catalog_export_openai(request: TeamRequest, catalog: str) -> HttpResponse:
    current = team_catalog(request, catalog)
    return json_download(catalog_ops.export_openai(current), f"{current.slug}.tools.json")


@team_view()
@require_GET
def catalog_export_bundle(request: TeamRequest, catalog: str) -> HttpResponse:
    current = team_catalog(request, catalog)
    return json_download(catalog_ops.export_bundle(current), f"{current.slug}.fcstudio.json")
