"""A large conversation's page lists its last rounds only (at most ten, and no more than a
hundred calls), with the totals over all of them; "Show earlier rounds" brings the rounds
before, a batch at a time, in front of those listed. The queries do not grow with the size."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations.management.commands.bench_pages import make_conversation

URL = "/t/acme/conversations/{}/"


def rounds_in(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<section class="round panel" id="round-(\d+)">', html)]


@pytest.fixture
def thirty_rounds(team):
    return make_conversation(team, rounds=30, calls_per_round=4)


def test_the_page_lists_the_last_ten_rounds_and_counts_them_all(people, thirty_rounds):
    html = people.client_for("viewer").get(URL.format(thirty_rounds.pk)).content.decode()
    assert rounds_in(html) == list(range(20, 30))
    # Messages of those rounds only: an assistant turn (4 calls) and 4 results each.
    assert html.count('class="msg role-assistant"') == 10
    assert html.count('class="msg role-tool"') == 40
    assert "Plan a trip through fifty cities." not in html
    assert "Rounds 1\u201320 are not listed below" in html
    assert f'hx-get="/t/acme/conversations/{thirty_rounds.pk}/earlier/?before=20"' in html
    # The totals still count every call: 30 rounds of 4.
    assert '<span class="badge ok">120 OK</span>' in html


def test_earlier_rounds_come_in_front_a_batch_at_a_time(people, thirty_rounds):
    client = people.client_for("viewer")
    url = URL.format(thirty_rounds.pk) + "earlier/"
    html = client.get(url, {"before": 20}).content.decode()
    assert rounds_in(html) == list(range(10, 20))
    assert '<div id="messages" hx-swap-oob="afterbegin">' in html
    assert '<div id="rounds" hx-swap-oob="afterbegin">' in html
    assert '<div id="earlier-rounds" hx-swap-oob="true">' in html
    assert "earlier/?before=10" in html and "Rounds 1\u201310 are not listed below" in html
    assert html.count('class="msg role-assistant"') == 10

    html = client.get(url, {"before": 10}).content.decode()
    assert rounds_in(html) == list(range(10))
    assert "Plan a trip through fifty cities." in html
    assert "Show earlier rounds" not in html


def test_a_round_of_many_calls_is_listed_alone(people, team):
    conversation = make_conversation(team, rounds=3, calls_per_round=60)
    html = people.client_for("viewer").get(URL.format(conversation.pk)).content.decode()
    assert rounds_in(html) == [2]
    assert html.count('<tr class="status-') == 60
    assert "earlier/?before=2" in html


def test_a_short_conversation_lists_everything(people, team):
    conversation = make_conversation(team, rounds=3)
    html = people.client_for("viewer").get(URL.format(conversation.pk)).content.decode()
    assert rounds_in(html) == [0, 1, 2]
    assert "Plan a trip through fifty cities." in html
    assert "Show earlier rounds" not in html


def test_the_queries_do_not_grow_with_the_conversation(people, team):
    client = people.client_for("viewer")
    counts = []
    for rounds in (12, 60):
        conversation = make_conversation(team, rounds=rounds)
        for path in ("", "earlier/?before=11", "waterfall/"):
            with CaptureQueriesContext(connection) as queries:
                assert client.get(URL.format(conversation.pk) + path).status_code == 200
            counts.append((path, len(queries)))
    assert counts[:3] == counts[3:]


def test_a_bad_round_number_is_refused_and_an_outsider_gets_404(people, thirty_rounds):
    url = URL.format(thirty_rounds.pk) + "earlier/"
    assert people.client_for("viewer").get(url, {"before": "x"}).status_code == 400
    assert people.client_for("outsider").get(url, {"before": 20}).status_code == 404
