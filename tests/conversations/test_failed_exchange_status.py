"""A recorded conversation whose latest request the upstream refused (400, 502) is failed, in the
list and on its page, not finished; an answered retry makes it finished again. "Replay tool
calls" is offered only when the app ran calls to replay."""

from __future__ import annotations

from django.urls import reverse

from conversations.recording import record_exchange
from conversations.tokens import create_token
from tests.support.recorded_loop import QUESTION, exchanges, refused_exchange

REFUSALS = (("bad_request", "Invalid value: 'robot'."), ("server", "502 Bad Gateway"))


def test_a_refused_first_request_is_a_failed_conversation(people, team, provider):
    token, _ = create_token(team, provider, name="agent")
    for kind, text in REFUSALS:
        conversation = record_exchange(refused_exchange(token, QUESTION, (kind, text))).conversation
        assert conversation.status == "failed"
        assert conversation.failure == f"The latest request failed (provider {kind})."
    listing = people.client_for("viewer").get("/t/acme/conversations/").content.decode()
    assert listing.count('<span class="badge status-failed">Failed</span>') == 2
    assert "status-finished" not in listing
    assert people.client_for("outsider").get("/t/acme/conversations/").status_code == 404


def test_the_page_says_failed_and_offers_no_replay_without_calls(people, team, provider):
    token, _ = create_token(team, provider, name="agent")
    conversation = record_exchange(refused_exchange(token, QUESTION, REFUSALS[1])).conversation
    url = reverse("conversation", kwargs={"team": "acme", "conversation": conversation.pk})
    page = people.client_for("editor").get(url).content.decode()
    assert '<span class="badge status-failed" id="status-badge">Failed</span>' in page
    assert 'id="replay-button"' not in page
    assert 'id="nothing-to-replay"' in page
    replay = reverse(
        "conversation_replay", kwargs={"team": "acme", "conversation": conversation.pk}
    )
    assert people.client_for("editor").post(replay).status_code == 400
    assert people.client_for("outsider").get(url).status_code == 404


def test_a_refused_continuation_fails_it_and_the_answered_retry_finishes_it(people, team, provider):
    token, _ = create_token(team, provider, name="agent")
    first, second = exchanges(token)
    conversation = record_exchange(first).conversation
    assert conversation.status == "finished"
    request = second.request["messages"]
    record_exchange(refused_exchange(token, request, REFUSALS[1]))
    conversation.refresh_from_db()
    assert (conversation.status, conversation.failure) == (
        "failed",
        "The latest request failed (provider server).",
    )
    record_exchange(second)
    conversation.refresh_from_db()
    assert (conversation.status, conversation.failure) == ("finished", "")
    url = reverse("conversation", kwargs={"team": "acme", "conversation": conversation.pk})
    page = people.client_for("editor").get(url).content.decode()
    assert '<span class="badge status-finished" id="status-badge">Finished</span>' in page
    assert 'id="replay-button"' in page and 'id="nothing-to-replay"' not in page
