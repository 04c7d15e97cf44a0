"""The new-conversation tool picker: a team's tools found on the server, a page at a time.

A team may hold tens of thousands of tools; the builder never renders them all, only the
matches of a search and the tools already picked.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from fcstudio.models import Team
from tools_app.models import Tool

RESULTS_SHOWN = 30


@dataclass(frozen=True)
class ToolSearch:
    query: str
    results: list[Tool]
    total: int


def search_tools(team: Team, query: str, limit: int = RESULTS_SHOWN) -> ToolSearch:
    """Saved tools of the team whose name, catalog or description holds `query`, by catalog."""
    query = query.strip()[:100]
    tools = Tool.objects.filter(catalog__team=team, version__gt=0)
    if query:
        tools = tools.filter(
            Q(name__icontains=query)
            | Q(catalog__name__icontains=query)
            | Q(description__icontains=query)
        )
    ordered = tools.select_related("catalog").order_by("catalog__name", "catalog_id", "name")
    results = list(ordered[:limit])
    total = len(results) if len(results) < limit else tools.count()
    return ToolSearch(query=query, results=results, total=total)
