"""A request the upstream refused, recorded through the proxy as a conversation of its own, shows
what the app sent and why it failed, and its tokens as unknown (no usage came back), never 0."""

from __future__ import annotations

from django.urls import reverse

from conversations.recording import RecordedExchange, record_exchange
from conversations.tokens import create_token
from conversations.view_models import conversation_summary
from tests.support.recorded_loop import QUESTION, exchanges, refused_exchange

BAD_ROLE = [*QUESTION, {"role": "robot", "content": "beep"}]
REFUSAL = "Invalid value: 'robot'. Supported values are: 'system', 'assistant', 'user', 'tool'."


def refused(token, messages=BAD_ROLE) -> RecordedExchange:
    return refused_exchange(token, messages, ("bad_request", REFUSAL))


def test_a_refused_first_request_keeps_the_messages_the_app_sent(team, provider):
    token, _ = create_token(team, provider, name="agent")
    call = record_exchange(refused(token))
    conversation = call.conversation
    assert [m.payload for m in conversation.messages.order_by("position")] == BAD_ROLE
    assert (call.ok, call.error_kind, call.round) == (False, "bad_request", 0)
    assert conversation.title == "Weather in Oslo?"
    assert conversation_summary(conversation)["tokens"] is None


def test_a_refused_continuation_adds_nothing_and_its_retry_still_joins(team, provider):
    token, _ = create_token(team, provider, name="agent")
    first, second = exchanges(token)
    record_exchange(first)
    request = second.request["messages"]
    failed = record_exchange(refused(token, request))
    assert failed.conversation.messages.count() == 3  # question and answer; no tool result yet
    assert record_exchange(second).conversation_id == failed.conversation_id
    assert failed.conversation.messages.count() == 5


def test_the_page_shows_the_request_the_error_and_unknown_tokens(people, team, provider):
    token, _ = create_token(team, provider, name="agent")
    conversation = record_exchange(refused(token)).conversation
    url = reverse("conversation", kwargs={"team": "acme", "conversation": conversation.pk})
    page = people.client_for("viewer").get(url).content.decode()
    assert "Weather in Oslo?" in page and "beep" in page
    assert '<span class="badge err">provider bad_request</span>' in page
    assert "Invalid value: &#x27;robot&#x27;." in page
    assert '<dd id="summary-tokens"><span title=' in page and ">unknown</span>" in page
    assert people.client_for("outsider").get(url).status_code == 404


def test_a_conversation_not_yet_run_still_counts_no_tokens(team, provider):
    conversation = team.conversations.create(provider=provider, model="m")
    assert conversation_summary(conversation)["tokens"] == 0
