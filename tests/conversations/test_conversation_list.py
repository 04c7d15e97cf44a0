"""The conversations list comes a page at a time, newest first."""

from __future__ import annotations

from conversations.models import Conversation

LIST = "/t/acme/conversations/"


def test_the_list_is_paginated_newest_first(people, provider, django_assert_max_num_queries):
    Conversation.objects.bulk_create(
        Conversation(team=provider.team, title=f"Chat {n:03d}", provider=provider, model="m")
        for n in range(120)
    )
    client = people.client_for("viewer")
    with django_assert_max_num_queries(8):
        page = client.get(LIST).content.decode()
    assert page.count("<tr><td>") == 50
    assert "Chat 119" in page and "Chat 069" not in page
    assert "Page 1 of 3" in page and 'href="?page=2"' in page
    last = client.get(LIST, {"page": "3"}, headers={"HX-Request": "true"}).content.decode()
    assert last.lstrip().startswith('<div id="conversation-table">')
    assert "Chat 000" in last and "Page 3 of 3" in last and 'rel="next"' not in last


def test_outsiders_see_no_list(people, provider):
    assert people.client_for("outsider").get(LIST).status_code == 404
