"""A message is edited in place: a form for its kind swapped in for it (htmx), saved back to the
message, or cancelled back to it unchanged; the role is never a field. The full edit page serves
the same form when there is no script."""

from __future__ import annotations

import html
import json

import pytest
from django.urls import reverse

from conversations import compose, recording
from conversations.models import Conversation, RunStatus

HX = {"HX-Request": "true"}
OSLO = {
    "id": "c1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
}
LIMA = {
    "id": "c2",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Lima"}'},
}
RESULT = '{"success": true, "result": {"temperature": 3, "sky": "clear"}}'


@pytest.fixture
def conversation(people, provider, tool) -> Conversation:
    data = {"provider": provider, "user": "Weather?", "tools": [tool], "max_rounds": 3}
    created = compose.create_conversation(people.editor.memberships.get().team, people.editor, data)
    for payload in (
        {"role": "assistant", "content": None, "tool_calls": [OSLO, LIMA]},
        {"role": "tool", "tool_call_id": "c1", "content": RESULT},
        {"role": "tool", "tool_call_id": "c2", "content": "Lima: warm"},
    ):
        recording.append_message(created.pk, payload)
    return created


def edit_url(conversation: Conversation, position: int) -> str:
    kwargs = {"team": "acme", "conversation": conversation.pk, "position": position}
    return reverse("message_edit", kwargs=kwargs)


def shown_url(conversation: Conversation, position: int) -> str:
    kwargs = {"team": "acme", "conversation": conversation.pk, "position": position}
    return reverse("message", kwargs=kwargs)


def calls_data(*rows: dict, content: str = "", initial: int = 2) -> dict[str, str]:
    data = {
        "content": content,
        "call-TOTAL_FORMS": str(len(rows)),
        "call-INITIAL_FORMS": str(initial),
    }
    for index, row in enumerate(rows):
        data.update({f"call-{index}-{key}": value for key, value in row.items()})
    return data


def pretty(text: str) -> str:
    """How a JSON text appears inside the form's textarea."""
    return html.escape(json.dumps(json.loads(text), indent=2), quote=True)


def test_a_user_message_is_edited_as_text_only(people, conversation):
    response = people.client_for("editor").get(edit_url(conversation, 0), headers=HX)
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<article class="msg msg-edit role-user"')
    assert f'id="message-{conversation.messages.get(position=0).pk}"' in page
    assert "Weather?</textarea>" in page
    assert 'name="role"' not in page
    assert 'name="tool_calls"' not in page
    assert f'hx-get="{shown_url(conversation, 0)}"' in page


def test_a_saved_user_message_comes_back_as_the_message(people, conversation):
    response = people.client_for("editor").post(
        edit_url(conversation, 0), {"content": "Weather in Oslo?\r\nAnd Lima?"}, headers=HX
    )
    page = response.content.decode()
    assert page.lstrip().startswith('<article class="msg role-user"')
    assert "Weather in Oslo?<br>And Lima?" in page
    assert "edited by hand" in page
    message = conversation.messages.get(position=0)
    assert message.payload == {"role": "user", "content": "Weather in Oslo?\nAnd Lima?"}
    assert message.edited_by == people.editor


def test_an_empty_user_message_is_refused_at_its_field(people, conversation):
    response = people.client_for("editor").post(
        edit_url(conversation, 0), {"content": "  "}, headers=HX
    )
    page = response.content.decode()
    assert response.context["form"].errors["content"] == ["A user message needs content."]
    assert 'aria-invalid="true"' in page
    assert page.lstrip().startswith('<article class="msg msg-edit role-user"')
    assert conversation.messages.get(position=0).content == "Weather?"


def test_a_tool_result_is_shown_as_formatted_json_named_by_its_tool(people, conversation):
    page = people.client_for("editor").get(edit_url(conversation, 2), headers=HX).content.decode()
    assert "Result of get_weather (c1)" in page
    assert f">\n{pretty(RESULT)}</textarea>" in page
    assert 'data-code-editor="json"' in page
    assert '<option value="c1" selected>get_weather (c1)</option>' in page
    assert '<option value="c2">get_weather (c2)</option>' in page
    assert 'name="role"' not in page


def test_a_tool_result_saved_unchanged_keeps_its_exact_text(people, conversation):
    shown = json.dumps(json.loads(RESULT), indent=2).replace("\n", "\r\n")
    people.client_for("editor").post(
        edit_url(conversation, 2), {"tool_call_id": "c1", "content": shown}, headers=HX
    )
    assert conversation.messages.get(position=2).content == RESULT


def test_a_changed_tool_result_is_saved_as_compact_json(people, conversation):
    typed = '{\n  "success": true,\n  "result": {"temperature": -3, "sky": "snow ❄"}\n}'
    response = people.client_for("editor").post(
        edit_url(conversation, 2), {"tool_call_id": "c1", "content": typed}, headers=HX
    )
    page = response.content.decode()
    assert page.lstrip().startswith('<article class="msg role-tool"')
    assert 'result of <code class="tool-name">get_weather</code>' in page
    assert "-3" in page
    assert conversation.messages.get(position=2).payload == {
        "role": "tool",
        "tool_call_id": "c1",
        "content": '{"success": true, "result": {"temperature": -3, "sky": "snow ❄"}}',
    }


def test_a_plain_text_result_is_shown_and_saved_as_typed(people, conversation):
    client = people.client_for("editor")
    page = client.get(edit_url(conversation, 3), headers=HX).content.decode()
    assert ">\nLima: warm</textarea>" in page
    client.post(edit_url(conversation, 3), {"tool_call_id": "c2", "content": "Lima: hot"})
    assert conversation.messages.get(position=3).content == "Lima: hot"


def test_a_result_for_no_call_before_it_is_refused_at_its_field(people, conversation):
    response = people.client_for("editor").post(
        edit_url(conversation, 2), {"tool_call_id": "c9", "content": "{}"}, headers=HX
    )
    assert response.context["form"].errors["tool_call_id"] == [
        "No assistant turn before this one has a tool call with id c9."
    ]
    assert 'aria-invalid="true"' in response.content.decode()
    assert conversation.messages.get(position=2).payload["tool_call_id"] == "c1"


def test_an_assistant_turn_shows_a_row_per_call(people, conversation):
    page = people.client_for("editor").get(edit_url(conversation, 1), headers=HX).content.decode()
    assert page.count('<fieldset class="call-row">') == 2
    assert '<code class="small call-id"' in page and ">c1</code>" in page and ">c2</code>" in page
    assert '<input type="hidden" name="call-0-id" value="c1"' in page
    assert '<option value="get_weather" selected>get_weather</option>' in page
    assert pretty(OSLO["function"]["arguments"]) in page
    assert page.count('data-code-editor="json"') == 2
    assert 'name="role"' not in page


def test_invalid_arguments_are_refused_at_their_field_and_nothing_typed_is_lost(
    people, conversation
):
    broken = '{"city": "Lima",'
    data = calls_data(
        {"id": "c1", "name": "get_weather", "arguments": '{"city": "Bergen"}'},
        {"id": "c2", "name": "get_weather", "arguments": broken},
        content="Let me look.",
    )
    response = people.client_for("editor").post(edit_url(conversation, 1), data, headers=HX)
    rows = response.context["form"].calls.forms
    assert rows[0].errors == {}
    assert rows[1].errors["arguments"][0].startswith("Not valid JSON: Expecting property name")
    page = response.content.decode()
    assert 'name="call-1-arguments"' in page and 'aria-invalid="true"' in page
    assert f">\n{html.escape(broken)}</textarea>" in page
    assert page.count("autofocus") == 1
    assert 'name="call-1-arguments" cols="40" rows="5" class="code"' in page
    assert page.index("autofocus") > page.index('name="call-1-arguments"')
    assert "&quot;Bergen&quot;" in page
    assert ">\nLet me look.</textarea>" in page
    assert conversation.messages.get(position=1).payload["tool_calls"] == [OSLO, LIMA]


def test_arguments_must_be_an_object(people, conversation):
    data = calls_data(
        {"id": "c1", "name": "get_weather", "arguments": "[1]"},
        {"id": "c2", "name": "get_weather", "arguments": LIMA["function"]["arguments"]},
    )
    response = people.client_for("editor").post(edit_url(conversation, 1), data, headers=HX)
    assert response.context["form"].calls.forms[0].errors["arguments"] == [
        'Arguments are a JSON object, like {"city": "Oslo"}.'
    ]


def test_calls_are_changed_removed_and_added_keeping_their_ids(people, conversation):
    # c2 was cut off before its result: it may be removed (one with a result may not).
    conversation.messages.filter(position=3).delete()
    client = people.client_for("editor")
    rows = [
        {"id": "c1", "name": "get_weather", "arguments": pretty(OSLO["function"]["arguments"])},
        {"id": "c2", "name": "get_weather", "arguments": "{}", "DELETE": "on"},
    ]
    rows[0]["arguments"] = html.unescape(rows[0]["arguments"])
    added = client.post(
        edit_url(conversation, 1), {**calls_data(*rows), "add_call": "1"}, headers=HX
    )
    page = added.content.decode()
    assert page.count('<fieldset class="call-row">') == 3
    assert 'name="call-TOTAL_FORMS" value="3"' in page
    assert "new (its id is made on save)" in page
    assert '<select name="call-2-name" autofocus' in page
    assert conversation.messages.get(position=1).payload["tool_calls"] == [OSLO, LIMA]

    rows.append({"id": "", "name": "get_weather", "arguments": '{"city": "Bergen"}'})
    client.post(edit_url(conversation, 1), calls_data(*rows), headers=HX)
    calls = conversation.messages.get(position=1).payload["tool_calls"]
    assert calls[0] == OSLO  # shown indented, saved unchanged: its exact text is kept
    assert len(calls) == 2
    assert calls[1]["id"].startswith("call_")
    assert calls[1]["function"] == {"name": "get_weather", "arguments": '{"city": "Bergen"}'}


def test_an_untouched_new_row_is_left_out(people, conversation):
    rows = [
        {"id": "c1", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
        {"id": "c2", "name": "get_weather", "arguments": '{"city": "Lima"}'},
        {"id": "", "name": "", "arguments": ""},
    ]
    response = people.client_for("editor").post(edit_url(conversation, 1), calls_data(*rows))
    assert response.status_code == 302
    assert len(conversation.messages.get(position=1).payload["tool_calls"]) == 2


def test_cancel_puts_back_the_message_unchanged(people, conversation):
    client = people.client_for("editor")
    client.get(edit_url(conversation, 2), headers=HX)
    message = conversation.messages.get(position=2)
    response = client.get(shown_url(conversation, 2), headers=HX)
    page = response.content.decode()
    assert page.lstrip().startswith(f'<article class="msg role-tool" id="message-{message.pk}"')
    assert 'result of <code class="tool-name">get_weather</code>' in page
    assert f'hx-get="{edit_url(conversation, 2)}"' in page
    assert "edited by hand" not in page
    assert conversation.messages.get(position=2).payload == message.payload
    assert message.edited_at is None


def test_without_script_the_edit_page_serves_the_same_form(people, conversation):
    client = people.client_for("editor")
    page = client.get(edit_url(conversation, 2)).content.decode()
    assert "<h1>Edit message 3" in page
    assert "Result of get_weather (c1)" in page
    conversation_url = reverse(
        "conversation", kwargs={"team": "acme", "conversation": conversation.pk}
    )
    assert f'href="{conversation_url}#message-' in page
    response = client.post(edit_url(conversation, 2), {"tool_call_id": "c1", "content": "{}"})
    assert response.status_code == 302
    assert response["Location"] == conversation_url


def test_a_viewer_sees_the_message_but_may_not_edit_it(people, conversation):
    client = people.client_for("viewer")
    assert client.get(edit_url(conversation, 0), headers=HX).status_code == 403
    assert client.post(edit_url(conversation, 0), {"content": "x"}, headers=HX).status_code == 403
    shown = client.get(shown_url(conversation, 0), headers=HX)
    assert shown.status_code == 200
    assert "Edit</a>" not in shown.content.decode()
    assert conversation.messages.get(position=0).content == "Weather?"


def test_an_outsider_gets_404(people, conversation):
    client = people.client_for("outsider")
    assert client.get(edit_url(conversation, 0), headers=HX).status_code == 404
    assert client.post(edit_url(conversation, 0), {"content": "x"}).status_code == 404
    assert client.get(shown_url(conversation, 0), headers=HX).status_code == 404


def test_a_missing_message_is_404(people, conversation):
    client = people.client_for("editor")
    assert client.get(edit_url(conversation, 9), headers=HX).status_code == 404
    assert client.get(shown_url(conversation, 9), headers=HX).status_code == 404


def test_a_recorded_conversation_names_its_calls_freely(people, conversation):
    Conversation.objects.filter(pk=conversation.pk).update(recorded=True)
    client = people.client_for("editor")
    page = client.get(edit_url(conversation, 1), headers=HX).content.decode()
    assert '<input type="text" name="call-0-name" value="get_weather"' in page
    rows = [
        {"id": "c1", "name": "lookup_booking", "arguments": '{"ref": "X1"}'},
        {"id": "c2", "name": "get_weather", "arguments": '{"city": "Lima"}'},
    ]
    client.post(edit_url(conversation, 1), calls_data(*rows), headers=HX)
    calls = conversation.messages.get(position=1).payload["tool_calls"]
    assert calls[0]["function"] == {"name": "lookup_booking", "arguments": '{"ref": "X1"}'}


def test_a_running_conversation_keeps_the_form_open_with_the_reason(people, conversation):
    Conversation.objects.filter(pk=conversation.pk).update(status=RunStatus.RUNNING)
    response = people.client_for("editor").post(
        edit_url(conversation, 0), {"content": "changed"}, headers=HX
    )
    page = response.content.decode()
    assert page.lstrip().startswith('<article class="msg msg-edit role-user"')
    assert "Stop the run before changing its messages." in page
    assert ">\nchanged</textarea>" in page
    assert conversation.messages.get(position=0).content == "Weather?"


def test_a_system_message_is_edited_as_text_only(people, conversation):
    recording.append_message(conversation.pk, {"role": "system", "content": "Be brief."})
    client = people.client_for("editor")
    page = client.get(edit_url(conversation, 4), headers=HX).content.decode()
    assert "Be brief.</textarea>" in page and 'name="tool_call_id"' not in page
    client.post(edit_url(conversation, 4), {"content": "Be terse.", "role": "user"}, headers=HX)
    assert conversation.messages.get(position=4).payload == {
        "role": "system",
        "content": "Be terse.",
    }


def test_content_parts_saved_unchanged_are_kept_as_parts(people, conversation):
    parts = [{"type": "text", "text": "Weather?"}, {"type": "image_url", "image_url": {"url": "x"}}]
    message = conversation.messages.get(position=0)
    message.payload = {"role": "user", "content": parts}
    message.save()
    client = people.client_for("editor")
    page = client.get(edit_url(conversation, 0), headers=HX).content.decode()
    # As stored: PostgreSQL's jsonb gives the keys back in its own order.
    shown = json.dumps(conversation.messages.get(position=0).payload["content"], indent=2)
    assert html.escape(shown) in page
    client.post(edit_url(conversation, 0), {"content": shown.replace("\n", "\r\n")}, headers=HX)
    assert conversation.messages.get(position=0).payload == {"role": "user", "content": parts}
