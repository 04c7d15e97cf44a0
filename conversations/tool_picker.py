"""The tool picker (new conversation, settings for the next run): a team's tools found on the
server, a page at a time, grouped by catalog.

A team may hold tens of thousands of tools; the builder never renders them all, only the
matches of a search and the tools already picked. A whole catalog is picked by its id (the
form's `catalogs` field stands for all of its saved tools, rendered or not); each group carries
its catalog's size, and the names of its tools when it fits in one request, so the page can
offer them as named tool_choice options.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber

from fcstudio.models import Team
from tools_app.models import Catalog, Tool

RESULTS_SHOWN = 30


# OpenAI's limit on the tools of one request: a larger catalog cannot be picked whole.
MAX_PICKED_TOOLS = 128


@dataclass(frozen=True)
class CatalogGroup:
    """The matches of one catalog, with what picking the whole catalog would pick."""

    catalog: Catalog
    tools: list[Tool]
    size: int  # its saved tools, matching or not
    names: list[str]  # their names when it can be picked whole (size <= MAX_PICKED_TOOLS)

    @property
    def pickable(self) -> bool:
        return 0 < self.size <= MAX_PICKED_TOOLS


@dataclass(frozen=True)
class ToolSearch:
    query: str
    results: list[Tool]
    total: int

    @property
    def groups(self) -> list[CatalogGroup]:
        return catalog_groups(self.results)


def saved_tools(team: Team) -> QuerySet[Tool]:
    """The tools a conversation may be given: saved (a version exists) in the team's catalogs."""
    return Tool.objects.filter(catalog__team=team, version__gt=0)


def catalog_groups(results: list[Tool]) -> list[CatalogGroup]:
    """`results` (ordered by catalog) grouped by catalog: two queries for any number of groups,
    the sizes, and the names of the catalogs that can be picked whole."""
    by_catalog: dict[int, list[Tool]] = {}
    for tool in results:
        by_catalog.setdefault(tool.catalog_id, []).append(tool)
    if not by_catalog:
        return []
    sizes = dict(
        Tool.objects.filter(catalog_id__in=by_catalog, version__gt=0)
        .values_list("catalog_id")
        .annotate(n=Count("id"))
        .values_list("catalog_id", "n")
    )
    small = [pk for pk, size in sizes.items() if size <= MAX_PICKED_TOOLS]
    names: dict[int, list[str]] = {}
    for catalog_id, name in (
        Tool.objects.filter(catalog_id__in=small, version__gt=0)
        .order_by("name")
        .values_list("catalog_id", "name")
    ):
        names.setdefault(catalog_id, []).append(name)
    return [
        CatalogGroup(tools[0].catalog, tools, sizes.get(pk, 0), names.get(pk, []))
        for pk, tools in by_catalog.items()
    ]


def search_tools(team: Team, query: str, limit: int = RESULTS_SHOWN) -> ToolSearch:
    """Saved tools of the team whose name, catalog or description holds `query`, by catalog.
    With no query, the catalogs take turns (the first tool of each, then the second, ...), so
    that a small catalog is not hidden behind a large one's first page."""
    query = query.strip()[:100]
    tools = saved_tools(team)
    if query:
        tools = tools.filter(
            Q(name__icontains=query)
            | Q(catalog__name__icontains=query)
            | Q(description__icontains=query)
        )
    by_catalog = ("catalog__name", "catalog_id", "name")
    if query:
        ordered = tools.order_by(*by_catalog)
    else:
        ordered = tools.annotate(
            place=Window(RowNumber(), partition_by=[F("catalog_id")], order_by=F("name").asc())
        ).order_by("place", *by_catalog)
    results = list(ordered.select_related("catalog")[:limit])
    if not query:
        results.sort(key=lambda tool: (tool.catalog.name, tool.catalog_id, tool.name))
    total = len(results) if len(results) < limit else tools.count()
    return ToolSearch(query=query, results=results, total=total)
