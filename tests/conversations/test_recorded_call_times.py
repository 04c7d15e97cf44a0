"""A recorded conversation's app-run calls are timed only by the gap between two requests: the
page says that each call's time is its round's gap, and why their sum is unknown, instead of
showing times beside an "unknown" sum without a word."""

from __future__ import annotations

from django.urls import reverse

from conversations.recording import record_exchange
from conversations.tokens import create_token
from conversations.view_models import conversation_summary
from tests.support.recorded_loop import exchanges


def a_recorded_loop(team, provider):
    token, _ = create_token(team, provider, name="agent")
    first, second = exchanges(token)  # the second request starts 900 ms after the first ended
    record_exchange(first)
    return record_exchange(second).conversation


def test_the_summary_knows_the_rounds_time_not_the_calls_sum(team, provider):
    summary = conversation_summary(a_recorded_loop(team, provider))
    assert (summary["tool_sum_ms"], summary["speedup"]) == (None, None)
    assert (summary["app_rounds"], summary["app_rounds_ms"]) == (1, 900.0)
    assert summary["tool_wall_ms"] == 900.0


def test_the_page_says_why_the_sum_is_unknown_and_marks_each_calls_time(people, team, provider):
    conversation = a_recorded_loop(team, provider)
    url = reverse("conversation", kwargs={"team": "acme", "conversation": conversation.pk})
    page = people.client_for("viewer").get(url).content.decode()
    assert (
        '<dd class="small muted" id="summary-sum-why">the app ran these calls itself; '
        "only the whole round's 900 ms is known</dd>"
    ) in page
    assert page.count("the round's gap</div>") == 1
    assert people.client_for("outsider").get(url).status_code == 404


def test_a_run_of_the_studios_own_says_nothing_of_gaps(people, team, provider):
    conversation = team.conversations.create(provider=provider, model="m")
    summary = conversation_summary(conversation)
    assert (summary["tool_sum_ms"], summary["app_rounds"]) == (None, 0)
    url = reverse("conversation", kwargs={"team": "acme", "conversation": conversation.pk})
    page = people.client_for("viewer").get(url).content.decode()
    assert "summary-sum-why" not in page and "the round's gap" not in page
