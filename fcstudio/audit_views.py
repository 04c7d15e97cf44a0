"""The audit page: a team's trail for its admins, filtered and paginated."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.apps import apps
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from . import audit
from .forms import AuditFilterForm
from .models import AuditEvent, Role, Team
from .teams import TeamRequest, team_view

EVENTS_PER_PAGE = 50


@team_view(role=Role.ADMIN, write_role=Role.ADMIN)
@require_GET
def audit_log(request: TeamRequest) -> HttpResponse:
    team = request.team
    form = AuditFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {
            "actor": data["actor"].strip(),
            "kind": data["kind"],
            "obj": data["object"].strip(),
            "since": data["since"],
            "until": data["until"],
        }
    events = audit.events_for(team, **filters).select_related("actor_user")
    page = Paginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": [
            (event, url, json.dumps(event.details, ensure_ascii=False, sort_keys=True))
            for event, url in zip(rows, object_urls(team, rows), strict=True)
        ],
        "query": query.urlencode(),
    }
    template = "audit.html"
    if request.htmx:
        template += "#audit-table"
    return render(request, template, context)


def _tool_url(tool: Any) -> str:
    kwargs = {"team": tool.catalog.team.slug, "catalog": tool.catalog.slug, "tool": tool.name}
    return reverse("tool", kwargs=kwargs)


# model label: (how to fetch the team's rows, their URL)
LINKS: dict[str, tuple[Callable[[Any, Team], Any], Callable[[Any], str]]] = {
    "tools_app.tool": (
        lambda qs, team: qs.filter(catalog__team=team).select_related("catalog__team"),
        _tool_url,
    ),
    "tools_app.catalog": (
        lambda qs, team: qs.filter(team=team).select_related("team"),
        lambda c: reverse("catalog", kwargs={"team": c.team.slug, "catalog": c.slug}),
    ),
    "conversations.provider": (
        lambda qs, team: qs.filter(team=team).select_related("team"),
        lambda p: reverse("provider", kwargs={"team": p.team.slug, "provider_id": p.pk}),
    ),
    "conversations.conversation": (
        lambda qs, team: qs.filter(team=team).select_related("team"),
        lambda c: reverse("conversation", kwargs={"team": c.team.slug, "conversation": c.pk}),
    ),
    "conversations.toolexecution": (
        lambda qs, team: qs.filter(batch__team=team).select_related("batch__team"),
        lambda e: reverse("batch", kwargs={"team": e.batch.team.slug, "batch": e.batch_id}),
    ),
    "fcstudio.membership": (
        lambda qs, team: qs.filter(team=team).select_related("team"),
        lambda m: reverse("team", kwargs={"team": m.team.slug}),
    ),
}


def object_urls(team: Team, events: Iterable[AuditEvent]) -> list[str]:
    """For each event, the URL of its object while it still exists in the team, else ""."""
    events = list(events)
    wanted: dict[str, set[int]] = defaultdict(set)
    for event in events:
        if event.object_type in LINKS and event.object_id is not None:
            wanted[event.object_type].add(event.object_id)
    found: dict[tuple[str, int], str] = {}
    for label, ids in wanted.items():
        fetch, url = LINKS[label]
        for obj in fetch(apps.get_model(label).objects.filter(pk__in=ids), team):
            found[(label, obj.pk)] = url(obj)
    return [found.get((event.object_type, event.object_id or 0), "") for event in events]
