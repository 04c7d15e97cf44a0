"""The Batch lab, batch records with their gantt charts, and a tool's Try it panel."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, Min
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fcstudio.limits import MB, body_limit
from fcstudio.models import Role
from fcstudio.teams import TeamRequest, team_view
from tools_app import schema_form
from tools_app.engine import STRATEGIES, ToolCall
from tools_app.forms import TryForm
from tools_app.models import Tool
from tools_app.views import team_catalog

from .execution import BatchOptions, new_call_id, run_batch
from .forms import BatchForm, FillForm, example_arguments
from .models import Batch, BatchSource
from .timeline import batch_gantt
from .view_models import LiveRow

# The calls box takes up to 2,000,000 characters (256 calls); Try it's raw arguments 200,000.
LAB_BODY_BYTES = 4 * MB
TRY_BODY_BYTES = 1 * MB
# Tool names offered by the lab's fill box; others are typed.
FILL_CHOICES = 200


def _example_calls(tool: Tool, count: int) -> str:
    calls = [
        {"name": tool.name, "arguments": example_arguments(tool.parameters, variant)}
        for variant in range(count)
    ]
    return json.dumps(calls, indent=2)


@team_view(role=Role.VIEWER, write_role=Role.EDITOR)
@body_limit(LAB_BODY_BYTES)
@require_http_methods(["GET", "POST"])
def batch_lab(request: TeamRequest, catalog: str) -> HttpResponse:
    current = team_catalog(request, catalog)
    if request.method == "POST":
        form = BatchForm(request.POST, tool_names=[])
        if form.is_valid():
            calls = form.cleaned_data["calls"]
            # Only the tools the calls name: a catalog may hold thousands.
            tools = list(current.tools.filter(name__in={call.name for call in calls}))
            if "compare" in request.POST:
                group = Batch.new_compare_group()
                for strategy in STRATEGIES:
                    run_batch(
                        team=request.team,
                        tools=tools,
                        calls=calls,
                        options=replace(form.options(), strategy=strategy),
                        user=request.user,
                        compare_group=group,
                    )
                return redirect("batch_compare", team=request.team.slug, group=group)
            batch = run_batch(
                team=request.team,
                tools=tools,
                calls=calls,
                options=form.options(),
                user=request.user,
            )
            return redirect("batch", team=request.team.slug, batch=batch.pk)
    else:
        first = current.tools.first()
        initial = {"calls": _example_calls(first, 8) if first else "[]"}
        form = BatchForm(initial=initial, tool_names=[])
    shown_tools = list(current.tools.values_list("name", flat=True)[:FILL_CHOICES])
    recent = (
        Batch.objects.filter(
            team=request.team,
            source__in=[BatchSource.LAB, BatchSource.TRY],
            executions__tool__catalog=current,
        )
        # Counted over the filtered join: the calls of this catalog, one Try it run's one tool.
        .annotate(calls=Count("executions", distinct=True), tool_name=Min("executions__tool_name"))
        .order_by("-created_at", "-pk")[:15]
    )
    context = {
        "catalog": current,
        "form": form,
        "tools": shown_tools,
        "more_tools": len(shown_tools) == FILL_CHOICES,
        "recent": recent,
        "can_run": request.membership.allows(Role.EDITOR),
    }
    return render(request, "conversations/batch_lab.html", context)


@team_view(role=Role.EDITOR)
@body_limit(LAB_BODY_BYTES)
@require_POST
def batch_fill(request: TeamRequest, catalog: str) -> HttpResponse:
    """Swap the calls box for N example calls of the chosen tool."""
    current = team_catalog(request, catalog)
    form = FillForm(request.POST)
    error = ""
    calls = request.POST.get("calls", "")
    if form.is_valid():
        tool = current.tools.filter(name=form.cleaned_data["tool"]).first()
        if tool is None:
            error = f"No tool “{form.cleaned_data['tool']}” in this catalog."
        else:
            calls = _example_calls(tool, form.cleaned_data["count"])
    else:
        error = " ".join(str(message) for messages in form.errors.values() for message in messages)
    lab = BatchForm(initial={"calls": calls}, tool_names=[])
    return render(
        request, "conversations/batch_lab.html#calls-field", {"form": lab, "fill_error": error}
    )


# The gantt shows every call; the calls table a page of them at a time.
CALLS_PER_PAGE = 100
# What the gantt and the summary need of each call: plain rows, not models with their
# arguments and results, so a 1,000-call chart costs one light query.
GANTT_FIELDS = (
    "tool_name",
    "tool_call_id",
    "status",
    "error_code",
    "attempts",
    "queued_ms",
    "started_ms",
    "finished_ms",
    "retry_marks_ms",
)


def _batch_context(batch: Batch, span_ms: float | None = None) -> dict[str, Any]:
    timed: list[LiveRow] = []
    tool_id = None
    for values in batch.executions.values("tool_id", *GANTT_FIELDS):
        found = values.pop("tool_id")
        tool_id = tool_id or found
        timed.append(LiveRow(**values))
    statuses = Counter(e.error_code or e.status for e in timed)
    tool = Tool.objects.select_related("catalog").filter(pk=tool_id).first() if tool_id else None
    return {
        "batch": batch,
        "call_count": len(timed),
        # Charts compared on one shared scale stay linear: a break in one would misalign it.
        "gantt": batch_gantt(timed, span_ms=span_ms, compress_waits=span_ms is None),
        "statuses": sorted(statuses.items()),
        # Where the breadcrumb's "batches" leads: the lab of the catalog the calls came from.
        "catalog": tool.catalog if tool else None,
    }


def _calls_page(batch: Batch, number: str | None) -> Page:
    calls = batch.executions.select_related("tool_version")
    return Paginator(calls, CALLS_PER_PAGE).get_page(number)


@team_view()
@require_GET
def batch_detail(request: TeamRequest, batch: int) -> HttpResponse:
    record = get_object_or_404(
        Batch.objects.select_related("conversation"), team=request.team, pk=batch
    )
    page = _calls_page(record, request.GET.get("page"))
    if request.htmx:
        context = {"batch": record, "page": page}
        return render(request, "conversations/batch_detail.html#calls-table", context)
    context = {**_batch_context(record), "page": page}
    return render(request, "conversations/batch_detail.html", context)


@team_view()
@require_GET
def batch_compare(request: TeamRequest, group: str) -> HttpResponse:
    batches = list(Batch.objects.filter(team=request.team, compare_group=group).order_by("pk"))
    if not batches:
        raise Http404("No such comparison.")
    span = max((b.wall_ms or 0) for b in batches) or None
    charts = [_batch_context(batch, span_ms=span) for batch in batches]
    context = {"charts": charts, "catalog": charts[0]["catalog"]}
    return render(request, "conversations/batch_compare.html", context)


@team_view(role=Role.EDITOR)
@body_limit(TRY_BODY_BYTES)
@require_POST
def tool_try(request: TeamRequest, catalog: str, tool: str) -> HttpResponse:
    """Run one call of the tool's latest version and show what the model would get back."""
    current = get_object_or_404(
        Tool,
        catalog__team=request.team,
        catalog__slug=catalog,
        name=tool,
    )
    form = TryForm(request.POST)
    generated = schema_form.form_for_schema(
        current.parameters, data=request.POST, required_attribute=False
    )
    context: dict[str, Any] = {"tool": current, "try_form": form, "generated": generated}
    if not form.is_valid():
        return render(request, "tools_app/tool_edit.html#try-result", context)
    # Raw JSON, when given, is the whole call: the form's fields are neither read nor required.
    raw = form.cleaned_data["arguments"].strip()
    context["used"] = "raw" if raw else "form"
    if raw:
        del context["generated"]  # its errors (empty required fields) are not this call's
    if not raw:
        if not generated.is_valid():
            return render(request, "tools_app/tool_edit.html#try-result", context)
        raw = json.dumps(schema_form.arguments_from_form(generated, current.parameters))
    batch = run_batch(
        team=request.team,
        tools=[current],
        calls=[ToolCall(id=new_call_id(), name=current.name, arguments=raw)],
        # As in the lab: an approval-gated tool runs only when the person ticks the box.
        options=BatchOptions(approve_all=form.cleaned_data["approve"]),
        source=BatchSource.TRY,
        user=request.user,
    )
    context["execution"] = batch.executions.get()
    context["batch"] = batch
    return render(request, "tools_app/tool_edit.html#try-result", context)
