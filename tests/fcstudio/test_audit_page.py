"""The audit page: a team's trail for its admins, filtered, paged, linked to live objects."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fcstudio import audit
from fcstudio.audit_views import EVENTS_PER_PAGE
from fcstudio.models import AuditEvent

URL = "/t/acme/audit/"


@pytest.mark.parametrize(("who", "status"), [("viewer", 403), ("editor", 403), ("outsider", 404)])
def test_only_admins_see_it(people, who, status):
    assert people.client_for(who).get(URL).status_code == status


def test_only_admins_see_the_link_on_the_team_page(people):
    assert URL in people.client_for("admin").get("/t/acme/").content.decode()
    assert URL not in people.client_for("editor").get("/t/acme/").content.decode()


def test_rows_link_to_objects_that_still_exist(people, tool, catalog):
    people.client_for("editor").post("/t/acme/c/travel/tools/get_weather/delete/")
    audit.record(catalog.team, audit.Kind.CATALOG_EDIT, people.admin, catalog)
    page = people.client_for("admin").get(URL).content.decode()
    assert '<a href="/t/acme/c/travel/">Travel</a>' in page
    assert "get_weather" in page
    assert 'href="/t/acme/c/travel/tools/get_weather/"' not in page  # deleted: no link


def test_filters_narrow_by_kind_actor_object_and_time(people, tool, catalog):
    team = catalog.team
    audit.record(team, audit.Kind.CATALOG_EDIT, people.admin, catalog, {"slug": "travel"})
    admin = people.client_for("admin")

    def shown(**filters: str) -> set[str]:
        html = admin.get(URL, filters).content.decode()
        return {kind for kind in ("tool.create", "catalog.edit") if f"<code>{kind}</code>" in html}

    assert shown(kind="catalog.edit") == {"catalog.edit"}
    assert shown(actor="edd") == {"tool.create"}
    assert shown(object="get_we") == {"tool.create"}
    later = (timezone.localtime() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert shown(since=later) == set()
    assert shown(until=later) == {"tool.create", "catalog.edit"}


def test_an_htmx_filter_gets_the_table_alone(people, tool):
    response = people.client_for("admin").get(
        URL, {"kind": "tool.create"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="audit-table">')
    assert "<html" not in html and "<code>tool.create</code>" in html


def test_pages_keep_the_filters(people, team):
    for n in range(EVENTS_PER_PAGE + 5):
        audit.record(team, audit.Kind.RUN_START, people.admin, None, {"n": n})
    admin = people.client_for("admin")
    first = admin.get(URL, {"kind": "run.start"}).content.decode()
    assert "Page 1 of 2" in first and "kind=run.start&amp;page=2" in first
    second = admin.get(URL, {"kind": "run.start", "page": "2"}).content.decode()
    assert second.count("<code>run.start</code>") == 5


def test_another_teams_events_are_not_shown(people, team):
    other = people.outsider.memberships.get().team
    audit.record(other, audit.Kind.CATALOG_CREATE, people.outsider, None, {"slug": "secret-plans"})
    assert "secret-plans" not in people.client_for("admin").get(URL).content.decode()
    assert AuditEvent.objects.filter(team=other).exists()


def test_a_long_actor_or_object_name_may_break_anywhere(people, catalog):
    name = "support_bot_for_the_staging_environment_" * 2
    audit.record(catalog.team, audit.Kind.PROXY_EXCHANGE, f"token:{name}", catalog)
    page = people.client_for("admin").get(URL).content.decode()
    assert f'<td class="long-name">token:{name}</td>' in page
    assert '<td class="long-name"><a href="/t/acme/c/travel/">Travel</a>' in page
    assert people.client_for("outsider").get(URL).status_code == 404
