"""Compare models: start a comparison from a conversation, and watch its runs side by side."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from fcstudio.limits import KB, body_limit
from fcstudio.models import Role
from fcstudio.teams import TeamRequest, team_view

from . import quotas
from .comparison import diff_runs
from .comparison_forms import ComparisonForm
from .comparison_runs import create_comparison, run_facts, runs_of
from .models import Comparison, Conversation
from .view_models import load_records, rounds_for
from .waterfall import conversation_waterfall

FORM_BYTES = 16 * KB


@team_view(role=Role.EDITOR)
@body_limit(FORM_BYTES)
@require_http_methods(["GET", "POST"])
def comparison_new(request: TeamRequest, conversation: int) -> HttpResponse:
    source = get_object_or_404(Conversation, team=request.team, pk=conversation)
    form = ComparisonForm(request.POST or None, source=source)
    if request.method == "POST" and form.is_valid():
        try:
            comparison = create_comparison(
                source,
                cut=form.cut_message,
                pairs=form.cleaned_data["pairs"],
                user=request.user,
            )
        except quotas.QuotaExceeded as exc:
            form.add_error(None, f"Nothing was started. {exc}")
        else:
            return redirect("comparison", team=request.team.slug, comparison=comparison.pk)
    return render(
        request, "conversations/comparison_new.html", {"form": form, "conversation": source}
    )


def comparison_context(comparison: Comparison) -> dict[str, Any]:
    """Each run's column (rounds, waterfall) and the diff table, from one read of each run."""
    runs = runs_of(comparison)
    columns = []
    facts = []
    for number, run in enumerate(runs, start=1):
        records = load_records(run)
        columns.append(
            {
                "conversation": run,
                # The round partial's ids, made unique per column (the conversation page's
                # live swaps use them unprefixed).
                "id_prefix": f"run-{number}-",
                "rounds": rounds_for(run, records=records),
                "waterfall": conversation_waterfall(records),
            }
        )
        facts.append(run_facts(run, records))
    return {
        "comparison": comparison,
        "columns": columns,
        "table": diff_runs(facts),
        "active": any(run.is_active for run in runs),
    }


@team_view()
@require_GET
def comparison_detail(request: TeamRequest, comparison: int) -> HttpResponse:
    current = get_object_or_404(
        Comparison.objects.select_related("source"), team=request.team, pk=comparison
    )
    template = "conversations/comparison_detail.html"
    if request.htmx:
        template += "#comparison-body"
    return render(request, template, comparison_context(current))
