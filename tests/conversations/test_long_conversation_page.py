"""A conversation of 50 rounds renders in a fixed number of queries: its last ten rounds listed
(test_large_conversation_pages), the totals over all fifty."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations.management.commands.bench_pages import CALLS_PER_ROUND, make_conversation

ROUNDS = 50


def test_fifty_rounds_render_with_a_bounded_number_of_queries(
    people, team, django_assert_max_num_queries
):
    conversation = make_conversation(team, ROUNDS)
    client = people.client_for("editor")
    # the rounds cost a fixed 10; the editor's settings panel and composer a fixed few more
    # 17, plus the comparisons it belongs to and the tool names of calls before the listed rounds.
    with django_assert_max_num_queries(19):
        response = client.get(f"/t/acme/conversations/{conversation.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('<section class="round panel"') == 10
    assert html.count('id="execution-') == 10 * CALLS_PER_ROUND
    assert f'<span class="badge ok">{ROUNDS * CALLS_PER_ROUND} OK</span>' in html  # the summary


def test_the_query_count_does_not_grow_with_the_rounds(people, team):
    client = people.client_for("viewer")
    counts = []
    # Both longer than the ten rounds listed (a listing that starts part-way reads the names of
    # the calls before it: one query more than a short conversation).
    for rounds in (12, 40):
        conversation = make_conversation(team, rounds)
        with CaptureQueriesContext(connection) as captured:
            client.get(f"/t/acme/conversations/{conversation.pk}/")
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]


def test_the_outsider_gets_404(people, team):
    conversation = make_conversation(team, 2)
    response = people.client_for("outsider").get(f"/t/acme/conversations/{conversation.pk}/")
    assert response.status_code == 404
