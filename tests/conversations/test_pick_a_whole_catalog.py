"""Picking a whole catalog in the tool picker: the form's `catalogs` stands for every saved tool
of the catalog, also those the picker never showed; its tools become named tool_choice options."""

from __future__ import annotations

import pytest

from conversations.models import Conversation
from fcstudio.models import Team
from tools_app import catalog as catalog_ops
from tools_app.models import Catalog, Tool

NEW = "/t/acme/conversations/new/"
SEARCH = "/t/acme/conversations/new/tools/"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def office(team, people):
    other = Catalog.objects.create(team=team, name="Office", slug="office")
    for name in ("send_mail", "get_time", "book_room"):
        catalog_ops.save_tool(Tool(catalog=other, name=name, parameters={"type": "object"}))
    Tool.objects.create(catalog=other, name="never_saved", parameters={})
    return other


def builder(provider, tools=(), catalogs=(), **overrides) -> dict:
    data = {
        "provider": str(provider.pk),
        "user": "Hello",
        "tools": [str(t.pk) for t in tools],
        "catalogs": [str(c.pk) for c in catalogs],
        "tool_choice": "auto",
        "strategy": "asyncio",
        "max_rounds": "4",
    }
    data.update(overrides)
    return data


def test_each_group_offers_its_whole_catalog(people, tool, office):
    page = people.client_for("editor").get(SEARCH, {"q": "send"}, headers=HTMX).content.decode()
    # Only send_mail matches, but the catalog's box stands for its three saved tools.
    assert page.count("data-pick=") == 1
    assert (
        f'<input type="checkbox" id="catalog-{office.pk}" data-pick-catalog="{office.pk}" '
        'data-tool-names="book_room get_time send_mail" '
        'data-catalog-label="All of Office (3 tools)">'
    ) in page
    assert 'Office <span class="muted">· whole catalog, 3 tools</span>' in page


def test_a_whole_catalog_gives_all_its_saved_tools(people, provider, tool, office):
    data = builder(provider, [tool], [office], tool_choice="function:book_room")
    response = people.client_for("editor").post(NEW, data)
    assert response.status_code == 302
    conversation = Conversation.objects.get()
    names = sorted(v.tool.name for v in conversation.tool_versions.all())
    assert names == ["book_room", "get_time", "get_weather", "send_mail"]
    assert conversation.tool_choice_value() == {
        "type": "function",
        "function": {"name": "book_room"},
    }


def test_a_tool_picked_also_one_by_one_is_given_once(people, provider, office):
    mail = office.tools.get(name="send_mail")
    response = people.client_for("editor").post(NEW, builder(provider, [mail], [office]))
    assert response.status_code == 302
    assert Conversation.objects.get().tool_versions.count() == 3


def test_a_form_shown_again_keeps_the_catalog_and_offers_its_tools(people, provider, office):
    page = people.client_for("editor").post(NEW, builder(provider, [], [office], user=""))
    html = page.content.decode()
    assert page.status_code == 200
    assert (
        f'<input type="checkbox" name="catalogs" value="{office.pk}" id="pick-catalog-{office.pk}"'
        in html
    )
    assert "All of Office (3 tools)" in html
    for name in ("book_room", "get_time", "send_mail"):
        assert f'value="function:{name}"' in html
    assert "never_saved" not in html


def test_another_teams_catalog_is_refused(people, provider):
    other_team = Team.objects.create(name="Globex", slug="globex")
    theirs = Catalog.objects.create(team=other_team, name="Theirs", slug="theirs")
    catalog_ops.save_tool(Tool(catalog=theirs, name="steal", parameters={"type": "object"}))
    response = people.client_for("editor").post(NEW, builder(provider, [], [theirs]))
    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    assert not Conversation.objects.exists()


def test_more_tools_than_a_request_takes_are_refused(people, provider, tool, office, monkeypatch):
    from conversations import forms

    monkeypatch.setattr(forms, "MAX_PICKED_TOOLS", 3)
    response = people.client_for("editor").post(NEW, builder(provider, [tool], [office]))
    assert "A request takes at most 3 tools; with the whole catalogs these are 4." in (
        response.content.decode()
    )
    assert not Conversation.objects.exists()


def test_a_catalog_too_large_for_one_request_cannot_be_picked_whole(people, team, monkeypatch):
    from conversations import tool_picker

    monkeypatch.setattr(tool_picker, "MAX_PICKED_TOOLS", 2)
    big = Catalog.objects.create(team=team, name="Big", slug="big")
    for n in range(3):
        catalog_ops.save_tool(Tool(catalog=big, name=f"tool_{n}", parameters={"type": "object"}))
    page = people.client_for("editor").get(SEARCH, {"q": "tool_"}, headers=HTMX).content.decode()
    assert 'data-tool-names="" data-catalog-label="All of Big (3 tools)" disabled' in page
    assert "(too many for one request)" in page
