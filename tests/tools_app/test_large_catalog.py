"""Thousands of tools: the catalog page and the conversation builder stay small and cheap."""

from __future__ import annotations

import pytest

from tools_app.models import Catalog, Tool

CATALOG = "/t/acme/c/travel/"
NEW_CONVERSATION = "/t/acme/conversations/new/"
SEARCH = "/t/acme/conversations/new/tools/"
TOOLS = 5_000
PARAMETERS = {"type": "object", "properties": {"q": {"type": "string", "description": "Query."}}}


@pytest.fixture
def many_tools(catalog, team):
    other = Catalog.objects.create(team=team, name="Office", slug="office")
    Tool.objects.bulk_create(
        Tool(
            catalog=catalog if n % 2 else other,
            name=f"tool_{n:05d}",
            description=f"Tool number {n}, which does a thing worth a sentence or two of text.",
            parameters=PARAMETERS,
            version=1,
        )
        for n in range(TOOLS)
    )
    return TOOLS


def test_the_catalog_page_shows_one_page_of_its_tools(
    people, many_tools, django_assert_max_num_queries
):
    client = people.client_for("viewer")
    with django_assert_max_num_queries(12):
        response = client.get(CATALOG)
    page = response.content.decode()
    assert len(response.content) < 100_000
    assert page.count("<tr>") == 1 + 50
    assert 'id="tool-count">2500 tools' in page
    assert "Page 1 of 50" in page
    assert 'href="?page=2"' in page


def test_page_two_and_a_filtered_page_come_as_htmx_fragments(people, many_tools):
    client = people.client_for("viewer")
    fragment = client.get(CATALOG, {"page": "2"}, headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith('<div id="tool-table">')
    assert "tool_00101" in fragment and "tool_00001" not in fragment
    assert "Page 2 of 50" in fragment and "<html" not in fragment
    filtered = client.get(CATALOG, {"q": "tool_012"}, headers={"HX-Request": "true"})
    text = filtered.content.decode()
    # tool_01201, 01203, … : the odd ones of 0120x-0129x are in this catalog.
    assert "50 of 2500 tools" in text
    assert "Page 1 of 1" not in text and 'rel="next"' not in text


def test_a_page_past_the_end_shows_the_last(people, many_tools):
    page = people.client_for("viewer").get(CATALOG, {"page": "999"}).content.decode()
    assert "Page 50 of 50" in page and "tool_04999" in page


def test_the_conversation_builder_stays_small(
    people, provider, many_tools, django_assert_max_num_queries
):
    client = people.client_for("editor")
    with django_assert_max_num_queries(12):
        response = client.get(NEW_CONVERSATION)
    assert len(response.content) < 60_000
    page = response.content.decode()
    assert "30 of 5000 tools shown" in page
    assert page.count('value="function:') == 0


def test_the_picker_finds_a_tool_by_name(
    people, provider, many_tools, django_assert_max_num_queries
):
    client = people.client_for("editor")
    with django_assert_max_num_queries(8):
        response = client.get(SEARCH, {"q": "tool_04321"}, headers={"HX-Request": "true"})
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<div id="tool-results"')
    assert "tool_04321 (Travel)" in fragment
    assert fragment.count("data-pick=") == 1
    assert len(response.content) < 2_000
