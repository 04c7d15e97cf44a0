"""Each model call's raw page: the request body as it was sent and the answer as stored, with
copies as curl and openai-SDK Python that hold the provider's URL and header names but never
the key or a header's value."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from django.urls import reverse

from conversations import compose, consumers, live
from conversations.models import ModelCall, RunStatus
from conversations.providers import set_extra_headers
from conversations.reproduce import curl_command, python_snippet
from conversations.runner import run_conversation
from tests.support.openai_server import Reply

OSLO = [{"id": "call_oslo", "name": "get_weather", "arguments": '{"city": "Oslo"}'}]
KEY = "sk-test-key-123456"
HEADER_SECRET = "org-secret-987654"


@pytest.fixture
def finished(team, people, provider, tool, model_server):
    set_extra_headers(provider, {"X-Org-Secret": HEADER_SECRET})
    provider.save()
    model_server.script(Reply(tool_calls=OSLO), Reply(content="Cold in Oslo."))
    data = {"provider": provider, "user": "Weather in Oslo?", "tools": [tool]}
    conversation = compose.create_conversation(team, people.editor, data)
    assert async_to_sync(run_conversation)(conversation.pk) == RunStatus.FINISHED
    # The secrets did travel, as headers.
    assert model_server.requests[0]["headers"]["authorization"] == f"Bearer {KEY}"
    assert model_server.requests[0]["headers"]["x-org-secret"] == HEADER_SECRET
    return conversation


def raw_url(call: ModelCall) -> str:
    return reverse(
        "model_call_raw",
        kwargs={"team": "acme", "conversation": call.conversation_id, "model_call": call.pk},
    )


def test_the_round_line_links_to_the_raw_page(people, finished):
    first = finished.model_calls.get(round=0)
    page = people.client_for("viewer").get(f"/t/acme/conversations/{finished.pk}/")
    assert f'<a class="raw-link" href="{raw_url(first)}">Raw</a>' in page.content.decode()


def test_the_raw_page_shows_request_and_answer(people, finished, model_server):
    first = finished.model_calls.get(round=0)
    html = people.client_for("viewer").get(raw_url(first)).content.decode()
    sent = model_server.requests[0]["body"]
    assert {k: v for k, v in sent.items() if k not in ("stream", "stream_options")} == first.request
    assert "Weather in Oslo?" in html and "get_weather" in html
    assert "call_oslo" in html and "assembled from the answer" in html
    assert f"{model_server.base_url}/chat/completions" in html
    assert "Copy as curl" in html and "Copy as Python" in html and "js/copy.js" in html


def test_no_secret_in_the_record_the_page_or_the_copies(people, finished, provider):
    header_names = ["X-Org-Secret"]
    for call in finished.model_calls.all():
        stored = json.dumps([call.request, call.response])
        html = people.client_for("viewer").get(raw_url(call)).content.decode()
        curl = curl_command(provider.base_url, call.request, header_names)
        python = python_snippet(provider.base_url, call.request, header_names)
        for text in (stored, html, curl, python):
            assert KEY not in text
            assert KEY[-6:] not in text
            assert HEADER_SECRET not in text
        assert "X-Org-Secret: " in curl and "$X_ORG_SECRET" in curl
        assert "$OPENAI_API_KEY" in html and "os.environ[&quot;X_ORG_SECRET&quot;]" in html


def test_a_call_of_another_conversation_or_team_is_not_found(people, finished, team):
    other = compose.create_conversation(
        team, people.editor, {"provider": finished.provider, "user": "Hi", "tools": []}
    )
    first = finished.model_calls.get(round=0)
    wrong = reverse(
        "model_call_raw",
        kwargs={"team": "acme", "conversation": other.pk, "model_call": first.pk},
    )
    assert people.client_for("viewer").get(wrong).status_code == 404
    assert people.client_for("outsider").get(raw_url(first)).status_code == 404


def test_a_failed_call_says_why_there_is_no_answer(people, finished):
    call = finished.model_calls.get(round=1)
    ModelCall.objects.filter(pk=call.pk).update(
        ok=False, response=None, error_kind="timeout", error_message="No answer in 5 s."
    )
    html = people.client_for("viewer").get(raw_url(call)).content.decode()
    assert "No answer" in html and "No answer in 5 s." in html


def test_the_live_round_line_links_to_the_raw_page_too(finished):
    first = finished.model_calls.get(round=0)
    frame = consumers._model_finished(finished.pk, live.ModelFinished(round=0), True)
    assert f'href="{raw_url(first)}">Raw</a>' in frame
