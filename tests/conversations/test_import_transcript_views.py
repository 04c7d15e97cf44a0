"""The import page, the transcript result page (problems, creating unknown tools) and the JSON
Lines export, for every role."""

from __future__ import annotations

import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conversations.models import Conversation
from tools_app.models import Tool

from .transcript_samples import body_with_response, json_lines

IMPORT = reverse("conversation_import", kwargs={"team": "acme"})


def transcript_url(conversation: Conversation) -> str:
    return reverse(
        "conversation_transcript", kwargs={"team": "acme", "conversation": conversation.pk}
    )


def test_an_editor_pastes_a_transcript_and_lands_on_its_result_page(people):
    response = people.client_for("editor").post(IMPORT, {"text": json_lines()})
    conversation = Conversation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == transcript_url(conversation)
    page = people.client_for("editor").get(response["Location"]).content.decode()
    assert "“book_table” is called but not offered in tools." in page
    assert "call “c2” has no tool result." in page
    assert "a tool result for “zz”, which no earlier call has." in page
    assert 'value="book_table"' in page and 'value="get_weather"' in page


def test_an_upload_works_like_a_paste(people):
    upload = SimpleUploadedFile("t.json", body_with_response().encode())
    response = people.client_for("editor").post(IMPORT, {"file": upload})
    assert response.status_code == 302
    assert Conversation.objects.get().recorded


def test_bad_input_is_explained_and_nothing_is_imported(people):
    response = people.client_for("editor").post(IMPORT, {"text": '{"messages": [1e999]}'})
    assert response.status_code == 200
    assert "too large to represent" in response.content.decode()
    assert not Conversation.objects.exists()


def test_an_oversized_body_is_refused_before_reading(people, settings):
    response = people.client_for("editor").post(
        IMPORT,
        {"text": "x"},
        CONTENT_LENGTH=str(settings.FCSTUDIO_MAX_IMPORT_BYTES + 65 * 1024 + 1),
    )
    assert response.status_code == 413
    assert not Conversation.objects.exists()


def test_a_viewer_may_not_import_and_an_outsider_sees_nothing(people):
    assert people.client_for("viewer").get(IMPORT).status_code == 403
    assert people.client_for("viewer").post(IMPORT, {"text": json_lines()}).status_code == 403
    assert people.client_for("outsider").post(IMPORT, {"text": json_lines()}).status_code == 404
    assert not Conversation.objects.exists()


def test_checked_unknown_tools_are_created_in_the_chosen_catalog(people, catalog, tool):
    people.client_for("editor").post(IMPORT, {"text": json_lines()})
    conversation = Conversation.objects.get()
    page = people.client_for("editor").get(transcript_url(conversation)).content.decode()
    assert 'value="get_weather"' not in page  # the catalog has it already
    response = people.client_for("editor").post(
        transcript_url(conversation), {"catalog": catalog.pk, "names": ["book_table"]}
    )
    assert response.status_code == 302
    created = Tool.objects.get(name="book_table")
    assert created.catalog == catalog and created.version == 1
    assert created.parameters == {
        "type": "object",
        "properties": {"people": {"type": "integer"}},
        "required": ["people"],
    }
    page = people.client_for("editor").get(transcript_url(conversation)).content.decode()
    assert "Every tool it uses is in a catalog" in page


def test_a_viewer_sees_the_result_page_but_creates_nothing(people, catalog):
    people.client_for("editor").post(IMPORT, {"text": json_lines()})
    url = transcript_url(Conversation.objects.get())
    assert people.client_for("viewer").get(url).status_code == 200
    response = people.client_for("viewer").post(
        url, {"catalog": catalog.pk, "names": ["book_table"]}
    )
    assert response.status_code == 403
    assert people.client_for("outsider").get(url).status_code == 404
    assert not Tool.objects.exists()


def test_the_conversation_page_shows_the_problems_panel(people):
    people.client_for("editor").post(IMPORT, {"text": json_lines()})
    conversation = Conversation.objects.get()
    url = reverse("conversation", kwargs={"team": "acme", "conversation": conversation.pk})
    page = people.client_for("viewer").get(url).content.decode()
    assert 'id="transcript-problems"' in page
    assert "call “c2” has no tool result." in page


def test_the_json_lines_export_has_one_exchange_a_line(people):
    people.client_for("editor").post(IMPORT, {"text": json_lines()})
    conversation = Conversation.objects.get()
    url = reverse(
        "conversation_export_jsonl", kwargs={"team": "acme", "conversation": conversation.pk}
    )
    response = people.client_for("viewer").get(url)
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="conversation-{conversation.pk}.jsonl"'
    )
    lines = [json.loads(line) for line in response.content.decode().splitlines()]
    assert [line["response"]["choices"][0]["message"]["content"] for line in lines] == [
        None,
        "Paris: 21 degrees.",
    ]
    assert people.client_for("outsider").get(url).status_code == 404
