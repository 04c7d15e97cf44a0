"""A call awaiting a result written by hand is answered on its row, and Continue sends it."""

from __future__ import annotations

from conversations import compose
from conversations.models import Conversation, RunStatus, ToolExecution
from tests.support.openai_server import Reply

HX = {"HX-Request": "true"}


def paused_for_review(people, provider, tool, model_server) -> Conversation:
    conversation = compose.create_conversation(
        people.editor.memberships.get().team,
        people.editor,
        {"provider": provider, "user": "Weather?", "tools": [tool], "review_results": True},
    )
    model_server.script(
        Reply(tool_calls=[{"id": "c1", "name": "get_weather", "arguments": '{"city": "Oslo"}'}]),
        Reply(content="Noted."),
    )
    people.client_for("editor").post(f"/t/acme/conversations/{conversation.pk}/run/")
    conversation.refresh_from_db()
    assert conversation.status == RunStatus.PAUSED
    return conversation


def answer_url(conversation: Conversation, call: ToolExecution) -> str:
    return f"/t/acme/conversations/{conversation.pk}/calls/{call.pk}/answer/"


def test_a_call_paused_for_review_offers_an_answer_box_to_editors(
    people, provider, tool, model_server
):
    conversation = paused_for_review(people, provider, tool, model_server)
    page = f"/t/acme/conversations/{conversation.pk}/"
    assert "Answer this call" in people.client_for("editor").get(page).content.decode()
    assert "Answer this call" not in people.client_for("viewer").get(page).content.decode()


def test_the_answer_is_the_tool_message_continue_sends(people, provider, tool, model_server):
    conversation = paused_for_review(people, provider, tool, model_server)
    call = ToolExecution.objects.get(tool_call_id="c1")
    client = people.client_for("editor")
    response = client.post(answer_url(conversation, call), {"content": '{"temp": -40}'}, headers=HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="round-0-calls"' in html and "Answered by hand" in html
    assert '<div id="messages" hx-swap-oob="true">' in html and "edited by hand" in html
    result = conversation.messages.get(role="tool")
    assert result.payload == {"role": "tool", "tool_call_id": "c1", "content": '{"temp": -40}'}
    assert result.edited_by == people.editor
    client.post(f"/t/acme/conversations/{conversation.pk}/run/")
    sent = model_server.requests[1]["body"]["messages"]
    assert sent[-1] == {"role": "tool", "tool_call_id": "c1", "content": '{"temp": -40}'}


def test_bad_json_is_refused_on_the_row_and_nothing_changes(people, provider, tool, model_server):
    conversation = paused_for_review(people, provider, tool, model_server)
    before = conversation.messages.get(role="tool").payload
    call = ToolExecution.objects.get(tool_call_id="c1")
    response = people.client_for("editor").post(
        answer_url(conversation, call), {"content": '{"temp": -40'}, headers=HX
    )
    html = response.content.decode()
    assert 'class="notice small refusal" role="alert">Not valid JSON:' in html
    assert "line 1, column 13" in html
    assert "{&quot;temp&quot;: -40</textarea>" in html  # what was typed stays to be fixed
    assert 'id="messages"' not in html
    assert conversation.messages.get(role="tool").payload == before


def test_a_call_to_a_tool_nobody_offered_is_answered_by_hand(people, provider, tool, model_server):
    conversation = compose.create_conversation(
        people.editor.memberships.get().team,
        people.editor,
        {"provider": provider, "user": "Book it", "tools": [tool], "max_rounds": 1},
    )
    model_server.script(Reply(tool_calls=[{"id": "c9", "name": "book_hotel", "arguments": "{}"}]))
    client = people.client_for("editor")
    client.post(f"/t/acme/conversations/{conversation.pk}/run/")
    call = ToolExecution.objects.get(tool_call_id="c9")
    assert call.error_code == "FUNCTION_NOT_FOUND"
    page = client.get(f"/t/acme/conversations/{conversation.pk}/").content.decode()
    assert "Answer this call" in page
    client.post(answer_url(conversation, call), {"content": '{"booked": true}'}, headers=HX)
    assert conversation.messages.get(role="tool").payload["content"] == '{"booked": true}'


def test_a_running_conversation_refuses_the_answer(people, provider, tool, model_server):
    conversation = paused_for_review(people, provider, tool, model_server)
    Conversation.objects.filter(pk=conversation.pk).update(status=RunStatus.RUNNING)
    call = ToolExecution.objects.get(tool_call_id="c1")
    response = people.client_for("editor").post(
        answer_url(conversation, call), {"content": "{}"}, headers=HX
    )
    assert response.status_code == 409
    assert "Stop the run" in response.content.decode()


def test_viewers_and_outsiders_cannot_answer(people, provider, tool, model_server):
    conversation = paused_for_review(people, provider, tool, model_server)
    call = ToolExecution.objects.get(tool_call_id="c1")
    url = answer_url(conversation, call)
    assert people.client_for("viewer").post(url, {"content": "{}"}).status_code == 403
    outsider_url = f"/t/elsewhere/conversations/{conversation.pk}/calls/{call.pk}/answer/"
    assert people.client_for("outsider").post(outsider_url, {"content": "{}"}).status_code == 404
    assert people.client_for("outsider").post(url, {"content": "{}"}).status_code == 404


def test_the_pause_redraws_the_last_rounds_rows_with_answer_boxes_for_editors(
    people, provider, tool, model_server
):
    from conversations import live
    from conversations.consumers import render_event

    conversation = paused_for_review(people, provider, tool, model_server)
    event = live.StatusChanged("paused")
    frames = render_event(conversation.pk, event, can_run=True)
    assert '<div id="round-0-calls" class="scroll-x" hx-swap-oob="true">' in frames
    assert "Answer this call" in frames
    assert "Answer this call" not in render_event(conversation.pk, event, can_run=False)
