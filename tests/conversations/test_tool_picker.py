"""The builder's tool picker: search on the server, picked tools kept, tool_choice from them."""

from __future__ import annotations

import pytest

from conversations.models import Conversation
from tools_app import catalog as catalog_ops
from tools_app.models import Catalog, Tool

NEW = "/t/acme/conversations/new/"
SEARCH = "/t/acme/conversations/new/tools/"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def office(team, people):
    other = Catalog.objects.create(team=team, name="Office", slug="office")
    for name, description in [("send_mail", "Send an email."), ("get_time", "Time in a city.")]:
        catalog_ops.save_tool(
            Tool(catalog=other, name=name, description=description, parameters={"type": "object"})
        )
    return other


def test_search_matches_names_catalogs_and_descriptions_grouped_by_catalog(people, tool, office):
    client = people.client_for("editor")
    by_name = client.get(SEARCH, {"q": "mail"}, headers=HTMX).content.decode()
    assert "send_mail (Office)" in by_name and "get_weather" not in by_name
    by_description = client.get(SEARCH, {"q": "city"}, headers=HTMX).content.decode()
    assert "get_time (Office)" in by_description and "get_weather (Travel)" in by_description
    assert by_description.index("Office") < by_description.index("Travel")
    by_catalog = client.get(SEARCH, {"q": "office"}, headers=HTMX).content.decode()
    assert by_catalog.count("data-pick=") == 2


def test_with_no_search_a_small_catalog_shows_beside_a_large_one(people, team, office, provider):
    """The page opens on tools of every catalog (they take turns), not on the first page of
    the catalog that sorts first."""
    large = Catalog.objects.create(team=team, name="A large catalog", slug="large")
    for n in range(40):
        catalog_ops.save_tool(Tool(catalog=large, name=f"tool_{n:02}", parameters={}))
    page = people.client_for("editor").get(NEW).content.decode()
    assert "send_mail (Office)" in page and "get_time (Office)" in page
    assert "tool_00 (A large catalog)" in page and "tool_27 (A large catalog)" in page
    assert "tool_28 (A large catalog)" not in page
    assert "of 42 tools shown; search to find the others." in page
    found = people.client_for("editor").get(SEARCH, {"q": "tool_"}, headers=HTMX)
    assert "tool_29 (A large catalog)" in found.content.decode()  # a search pages as before


def test_a_search_that_matches_nothing_says_so(people, tool):
    page = people.client_for("editor").get(SEARCH, {"q": "zzz"}, headers=HTMX).content.decode()
    assert "No tool matches “zzz”." in page


def test_unsaved_tools_and_other_teams_tools_are_not_found(people, tool, office):
    Tool.objects.create(catalog=office, name="draft_only", parameters={})
    page = people.client_for("editor").get(SEARCH, {"q": "draft"}).content.decode()
    assert "draft_only" not in page
    assert people.client_for("outsider").get(SEARCH, {"q": "get"}).status_code == 404


def test_the_picker_needs_the_builders_role(people, tool):
    assert people.client_for("viewer").get(SEARCH, {"q": "get"}).status_code == 403
    assert people.client_for("anonymous").get(SEARCH).status_code == 302


def builder(provider, tools, **overrides) -> dict:
    data = {
        "provider": str(provider.pk),
        "user": "Hello",
        "tools": [str(t.pk) for t in tools],
        "tool_choice": "auto",
        "strategy": "asyncio",
        "max_rounds": "4",
    }
    data.update(overrides)
    return data


def test_a_form_shown_again_keeps_the_picked_tools_and_offers_only_them(
    people, provider, tool, office
):
    mail = office.tools.get(name="send_mail")
    response = people.client_for("editor").post(NEW, builder(provider, [tool, mail], user=""))
    page = response.content.decode()
    assert response.status_code == 200
    assert f'name="tools" value="{tool.pk}" id="pick-{tool.pk}"' in page
    assert f'name="tools" value="{mail.pk}" id="pick-{mail.pk}"' in page
    assert 'value="function:get_weather"' in page and 'value="function:send_mail"' in page
    assert 'value="function:get_time"' not in page


def test_a_picked_tool_can_be_the_forced_choice(people, provider, tool, office):
    mail = office.tools.get(name="send_mail")
    data = builder(provider, [tool, mail], tool_choice="function:send_mail")
    response = people.client_for("editor").post(NEW, data)
    assert response.status_code == 302
    conversation = Conversation.objects.get()
    assert conversation.tool_choice_value() == {
        "type": "function",
        "function": {"name": "send_mail"},
    }
    assert conversation.tool_versions.count() == 2


def test_more_tools_than_a_request_takes_are_refused(people, provider, tool, monkeypatch):
    from conversations import forms

    monkeypatch.setattr(forms, "MAX_PICKED_TOOLS", 0)
    response = people.client_for("editor").post(NEW, builder(provider, [tool]))
    assert "A request takes at most 0 tools." in response.content.decode()
    assert not Conversation.objects.exists()
