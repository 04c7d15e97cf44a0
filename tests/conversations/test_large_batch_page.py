"""A batch of 1,000 calls: the gantt draws every call, the calls table shows 100 at a time."""

from __future__ import annotations

import re

import pytest

from conversations.management.commands.bench_pages import make_batch

CALLS = 1000


@pytest.fixture
def big_batch(team):
    return make_batch(team, CALLS)


def call_numbers(html: str) -> list[int]:
    table = html.split('id="executions"')[1].split("</table>")[0]
    return [int(n) for n in re.findall(r'<tr class="status-\w+">\s*<td>(\d+)</td>', table)]


def test_the_page_draws_every_call_and_lists_the_first_hundred(
    people, big_batch, django_assert_max_num_queries
):
    client = people.client_for("viewer")
    with django_assert_max_num_queries(12):
        response = client.get(f"/t/acme/batches/{big_batch.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('<g class="call ') == CALLS
    assert call_numbers(html) == list(range(1, 101))
    assert "Calls 1\u2013100 of 1000 · page 1 of 10" in html
    assert 'href="?page=2" rel="next"' in html


def test_page_two_comes_as_the_calls_table_alone_for_htmx(
    people, big_batch, django_assert_max_num_queries
):
    client = people.client_for("viewer")
    with django_assert_max_num_queries(10):
        response = client.get(
            f"/t/acme/batches/{big_batch.pk}/", {"page": 2}, headers={"HX-Request": "true"}
        )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="calls">')
    assert "<svg" not in html
    assert call_numbers(html) == list(range(101, 201))
    assert 'href="?page=1" rel="prev"' in html and 'href="?page=3" rel="next"' in html


def test_a_page_past_the_end_shows_the_last(people, big_batch):
    html = people.client_for("viewer").get(f"/t/acme/batches/{big_batch.pk}/?page=99").content
    assert call_numbers(html.decode()) == list(range(901, 1001))


def test_a_small_batch_has_no_pager(people, team):
    small = make_batch(team, 5)
    html = people.client_for("viewer").get(f"/t/acme/batches/{small.pk}/").content.decode()
    assert call_numbers(html) == [1, 2, 3, 4, 5]
    assert 'class="pager"' not in html


def test_the_outsider_gets_404(people, big_batch):
    response = people.client_for("outsider").get(f"/t/acme/batches/{big_batch.pk}/?page=2")
    assert response.status_code == 404
