"""The comparison page (polled every second while its runs are active) reads each run in a
fixed number of queries, however many tool calls the runs made: the diff table's arguments
come from the calls already read, not one query a call."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conversations.models import Batch, BatchSource, Comparison, Conversation, ToolExecution


def comparison_with_calls(team, provider, calls: int) -> Comparison:
    source = Conversation.objects.create(team=team, title="s", provider=provider, model="m")
    comparison = Comparison.objects.create(team=team, source=source, title="s", message_count=2)
    runs = []
    for title in ("a", "b"):
        run = Conversation.objects.create(team=team, title=title, provider=provider, model="m")
        batch = Batch.objects.create(
            team=team, conversation=run, round=0, source=BatchSource.RECORDED, strategy="asyncio"
        )
        ToolExecution.objects.bulk_create(
            ToolExecution(
                batch=batch,
                position=n,
                tool_call_id=f"c{n}",
                tool_name="get_weather",
                parsed_arguments={"city": f"City {n}"},
                status="ok",
            )
            for n in range(calls)
        )
        runs.append(run)
    comparison.runs.set(runs)
    return comparison


def queries_for_page(people, comparison: Comparison) -> tuple[int, str]:
    url = reverse("comparison", kwargs={"team": comparison.team.slug, "comparison": comparison.pk})
    client = people.client_for("viewer")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return len(queries.captured_queries), response.content.decode()


def test_the_page_costs_the_same_queries_for_one_call_or_twenty(people, team, provider):
    one, _ = queries_for_page(people, comparison_with_calls(team, provider, 1))
    twenty, page = queries_for_page(people, comparison_with_calls(team, provider, 20))
    assert twenty == one
    assert "City 19" in page
