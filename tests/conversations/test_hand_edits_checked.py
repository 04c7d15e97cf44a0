"""Hand edits are checked: a tool result must answer a call, a call must name an offered tool, and
a history broken anyway fails the run with the reason instead of a provider's 400."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conversations import compose, recording
from conversations.models import Conversation, RunStatus
from conversations.runner import history_problem


def make(people, provider, tool) -> Conversation:
    data = {"provider": provider, "user": "Weather?", "tools": [tool], "max_rounds": 3}
    return compose.create_conversation(people.editor.memberships.get().team, people.editor, data)


def add_url(conversation: Conversation) -> str:
    return reverse("message_add", kwargs={"team": "acme", "conversation": conversation.pk})


def edit_url(conversation: Conversation, position: int) -> str:
    kwargs = {"team": "acme", "conversation": conversation.pk, "position": position}
    return reverse("message_edit", kwargs=kwargs)


CALL = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}


def with_call(conversation: Conversation) -> None:
    recording.append_message(
        conversation.pk, {"role": "assistant", "content": None, "tool_calls": [CALL]}
    )


def field_errors(response, field: str) -> list[str]:
    return list(response.context["message_form"].errors.get(field, []))


def test_a_tool_result_for_no_call_is_refused_on_its_field(people, provider, tool):
    conversation = make(people, provider, tool)
    with_call(conversation)
    response = people.client_for("editor").post(
        add_url(conversation), {"role": "tool", "tool_call_id": "nope", "content": "{}"}
    )
    assert response.status_code == 200
    assert field_errors(response, "tool_call_id") == [
        "No assistant turn before this one has a tool call with id nope."
    ]
    assert '<details class="panel" id="add-message" open>' in response.content.decode()
    assert conversation.messages.count() == 2


def test_a_tool_result_for_a_call_is_added(people, provider, tool):
    conversation = make(people, provider, tool)
    with_call(conversation)
    people.client_for("editor").post(
        add_url(conversation), {"role": "tool", "tool_call_id": "c1", "content": "{}"}
    )
    assert conversation.messages.last().payload["tool_call_id"] == "c1"


def test_a_call_to_a_tool_never_offered_is_refused_on_its_field(people, provider, tool):
    conversation = make(people, provider, tool)
    calls = '[{"name": "launch_rocket", "arguments": {}}]'
    response = people.client_for("editor").post(
        add_url(conversation), {"role": "assistant", "tool_calls": calls}
    )
    assert field_errors(response, "tool_calls") == [
        "launch_rocket is not among the tools offered to the model (offered: get_weather)."
    ]
    assert conversation.messages.count() == 1


def test_an_edit_may_only_answer_a_call_made_before_it(people, provider, tool):
    conversation = make(people, provider, tool)
    with_call(conversation)
    recording.append_message(conversation.pk, {"role": "tool", "tool_call_id": "c1"})
    later = {**CALL, "id": "c2"}
    recording.append_message(
        conversation.pk, {"role": "assistant", "content": None, "tool_calls": [later]}
    )
    response = people.client_for("editor").post(
        edit_url(conversation, 2), {"tool_call_id": "c2", "content": "{}"}
    )
    assert response.status_code == 200
    assert list(response.context["form"].errors["tool_call_id"]) == [
        "No assistant turn before this one has a tool call with id c2."
    ]
    assert conversation.messages.get(position=2).payload["tool_call_id"] == "c1"


def test_an_edited_call_to_an_unknown_tool_is_refused(people, provider, tool):
    conversation = make(people, provider, tool)
    with_call(conversation)
    response = people.client_for("editor").post(
        edit_url(conversation, 1),
        {
            "content": "",
            "call-TOTAL_FORMS": "1",
            "call-INITIAL_FORMS": "1",
            "call-0-id": "c1",
            "call-0-name": "nope",
            "call-0-arguments": "{}",
        },
    )
    calls = response.context["form"].calls
    assert calls.forms[0].errors["name"] == [
        "nope is not among the tools offered to the model (offered: get_weather)."
    ]
    assert conversation.messages.get(position=1).payload["tool_calls"] == [CALL]


@pytest.mark.parametrize(
    ("messages", "problem"),
    [
        (
            [{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "c1"}],
            "Message 2 is a tool result for 'c1', which answers no open tool call",
        ),
        (
            [
                {"role": "assistant", "tool_calls": [CALL]},
                {"role": "user", "content": "x"},
            ],
            "Message 1 has tool calls without a result (c1) before message 2.",
        ),
        (
            [{"role": "assistant", "tool_calls": [CALL, CALL]}],
            "Message 1 has two tool calls with the id 'c1'.",
        ),
        (
            [
                {"role": "assistant", "tool_calls": [CALL]},
                {"role": "tool", "tool_call_id": "c1"},
                {"role": "tool", "tool_call_id": "c1"},
            ],
            "Message 3 is a tool result for 'c1'",
        ),
    ],
)
def test_history_problems_are_named(messages, problem):
    assert problem in history_problem(messages)


def test_a_consistent_history_has_no_problem():
    messages = [
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "c1"},
        {"role": "assistant", "content": "done"},
    ]
    assert history_problem(messages) is None


def test_an_inconsistent_history_fails_the_run_before_the_provider_is_asked(
    people, provider, tool, model_server
):
    conversation = make(people, provider, tool)
    # A stray tool result, as a hand edit of an earlier version of the page could leave.
    recording.append_message(conversation.pk, {"role": "tool", "tool_call_id": "x", "content": ""})
    people.client_for("editor").post(
        reverse("conversation_run", kwargs={"team": "acme", "conversation": conversation.pk})
    )
    conversation.refresh_from_db()
    assert conversation.status == RunStatus.FAILED
    assert conversation.failure == (
        "The history cannot be sent: Message 2 is a tool result for 'x', which answers no open "
        "tool call of the assistant turn before it."
    )
    assert model_server.requests == []
