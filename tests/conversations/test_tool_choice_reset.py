"""A forced tool_choice (required, or one named function) is sent until a round obeys it, then
auto, so that the model can answer; "keep forcing" sends it every round, to the round limit."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync

from conversations import compose
from conversations.models import Conversation, RunStatus
from conversations.runner import run_conversation, tool_choice_for
from tests.support.openai_server import Reply

NAMED = {"type": "function", "function": {"name": "get_weather"}}
NEW = "/t/acme/conversations/new/"


@pytest.fixture
def obedient_server(model_server):
    """Like a llama-cpp-python server behind a model that always obeys a forced choice."""
    model_server.reject_null_content = True
    model_server.obey_forced_choice = True
    model_server.forced_arguments = '{"city": "Oslo"}'
    return model_server


def start(team, people, provider, tool, **options):
    data = {"provider": provider, "user": "Weather in Oslo?", "tools": [tool], "max_rounds": 4}
    return compose.create_conversation(team, people.editor, {**data, **options})


def run(conversation) -> str:
    return async_to_sync(run_conversation)(conversation.pk)


def sent_choices(server) -> list:
    return [request["body"]["tool_choice"] for request in server.requests]


@pytest.mark.parametrize("choice", ["function:get_weather", "required"])
def test_a_forced_choice_yields_to_auto_after_the_round_that_obeyed_it(
    team, people, provider, tool, obedient_server, choice
):
    obedient_server.script(Reply(content="It is 12 degrees in Oslo."))
    conversation = start(team, people, provider, tool, tool_choice=choice)

    assert run(conversation) == RunStatus.FINISHED

    forced = NAMED if choice.startswith("function:") else "required"
    assert sent_choices(obedient_server) == [forced, "auto"]
    assert conversation.messages.last().payload["content"] == "It is 12 degrees in Oslo."
    assert [c.tool_choice_sent for c in conversation.model_calls.all()] == [
        "get_weather" if choice.startswith("function:") else "required",
        "auto",
    ]


def test_keep_forcing_sends_the_choice_every_round_until_the_round_limit(
    team, people, provider, tool, obedient_server
):
    conversation = start(
        team, people, provider, tool, tool_choice="function:get_weather", keep_tool_choice=True
    )

    assert run(conversation) == RunStatus.STOPPED

    conversation.refresh_from_db()
    assert conversation.failure == "Reached the limit of 4 rounds."
    assert sent_choices(obedient_server) == [NAMED] * 4
    assert conversation.batches.count() == 4


def test_a_round_that_called_another_tool_did_not_obey_a_named_choice(team, people, provider, tool):
    conversation = start(team, people, provider, tool, tool_choice="function:get_weather")
    other = {"id": "c1", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
    messages = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "tool_calls": [other]},
        {"role": "tool", "tool_call_id": "c1", "content": "{}"},
    ]
    assert tool_choice_for(conversation, messages) == NAMED
    obeyed = {**other, "function": {"name": "get_weather", "arguments": "{}"}}
    messages[1] = {"role": "assistant", "content": None, "tool_calls": [other, obeyed]}
    assert tool_choice_for(conversation, messages) == "auto"


def test_a_new_user_message_forces_the_choice_again(team, people, provider, tool):
    conversation = start(team, people, provider, tool, tool_choice="required")
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    messages = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "{}"},
        {"role": "assistant", "content": "Sunny."},
    ]
    assert tool_choice_for(conversation, messages) == "auto"
    assert tool_choice_for(conversation, [*messages, {"role": "user", "content": "And Lima?"}]) == (
        "required"
    )


@pytest.mark.parametrize("choice", ["auto", "none"])
def test_unforced_choices_are_sent_as_they_are(team, people, provider, tool, choice):
    conversation = start(team, people, provider, tool, tool_choice=choice)
    assert tool_choice_for(conversation, [{"role": "user", "content": "Hi"}]) == choice


def test_the_builder_saves_keep_forcing(people, provider, tool):
    form = {
        "provider": str(provider.pk),
        "user": "Weather in Oslo?",
        "tools": [str(tool.pk)],
        "tool_choice": "function:get_weather",
        "strategy": "asyncio",
        "max_rounds": "4",
        "draft": "1",
    }
    client = people.client_for("editor")
    assert "Keep forcing tool_choice" in client.get(NEW).content.decode()
    client.post(NEW, {**form, "keep_tool_choice": "on"})
    client.post(NEW, form)
    assert [c.keep_tool_choice for c in Conversation.objects.order_by("pk")] == [True, False]
    assert people.client_for("outsider").post(NEW, form).status_code == 404
    assert Conversation.objects.count() == 2


def test_the_page_shows_the_choice_sent_in_each_round(
    team, people, provider, tool, obedient_server
):
    obedient_server.script(Reply(content="Mild."))
    conversation = start(team, people, provider, tool, tool_choice="function:get_weather")
    run(conversation)
    page = people.client_for("viewer").get(f"/t/acme/conversations/{conversation.pk}/")
    html = page.content.decode()
    assert html.count('class="tool-choice-sent"') == 2
    assert html.index('tool-choice-sent">get_weather<') < html.index('tool-choice-sent">auto<')
    assert "until obeyed, then auto" in html
    outsider = people.client_for("outsider").get(f"/t/acme/conversations/{conversation.pk}/")
    assert outsider.status_code == 404
