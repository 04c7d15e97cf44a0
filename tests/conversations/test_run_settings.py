"""Settings for the next run, changed from the conversation page: in place before any model call,
on a fork after, so the record of what was sent stays true."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conversations import compose
from conversations.models import Conversation
from tests.support.openai_server import Reply
from tools_app import catalog as catalog_ops
from tools_app.models import Tool


def make(people, provider, tool) -> Conversation:
    data = {"provider": provider, "user": "Weather?", "tools": [tool], "max_rounds": 3}
    return compose.create_conversation(people.editor.memberships.get().team, people.editor, data)


def url(name: str, conversation: Conversation) -> str:
    return reverse(name, kwargs={"team": "acme", "conversation": conversation.pk})


def settings_data(provider, tool, **overrides) -> dict:
    data = {
        "provider": str(provider.pk),
        "model": "test-model",
        "tools": [str(tool.pk)],
        "tool_choice": "auto",
        "parallel_tool_calls": "on",
        "max_rounds": "3",
    }
    data.update(overrides)
    return data


def test_before_any_model_call_the_settings_change_in_place(people, provider, tool):
    conversation = make(people, provider, tool)
    response = people.client_for("editor").post(
        url("conversation_settings", conversation),
        settings_data(provider, tool, model="other-model", temperature="0.5", max_rounds="9"),
    )
    assert response["Location"] == url("conversation", conversation)
    conversation.refresh_from_db()
    assert (conversation.model, conversation.temperature, conversation.max_rounds) == (
        "other-model",
        0.5,
        9,
    )
    assert Conversation.objects.count() == 1


def test_with_history_the_change_lands_on_a_fork(people, provider, tool, model_server):
    conversation = make(people, provider, tool)
    model_server.script(Reply(content="Sunny."))
    client = people.client_for("editor")
    client.post(url("conversation_run", conversation))

    response = client.post(
        url("conversation_settings", conversation),
        settings_data(provider, tool, model="other-model", tool_choice="function:get_weather"),
        follow=True,
    )

    copy = Conversation.objects.exclude(pk=conversation.pk).get()
    assert response.redirect_chain[-1][0] == url("conversation", copy)
    assert "with the new settings" in response.content.decode()
    assert "<code>other-model</code>" in response.content.decode()
    assert copy.forked_from == conversation
    assert (copy.model, copy.tool_choice, copy.tool_choice_name) == (
        "other-model",
        "function",
        "get_weather",
    )
    assert [m.payload for m in copy.messages.all()] == [
        m.payload for m in conversation.messages.all()
    ]
    conversation.refresh_from_db()
    assert conversation.model == "test-model" and conversation.tool_choice == "auto"


def test_a_kept_tool_keeps_its_pinned_version_and_an_added_one_brings_its_latest(
    people, provider, tool, catalog
):
    conversation = make(people, provider, tool)
    pinned = conversation.tool_versions.get()
    tool.description = "Changed since."
    catalog_ops.save_tool(tool, author=people.editor, message="Second")
    clock = Tool(catalog=catalog, name="get_time", description="Time.", parameters={})
    catalog_ops.save_tool(clock, author=people.editor, message="First")

    people.client_for("editor").post(
        url("conversation_settings", conversation),
        settings_data(provider, tool, tools=[str(tool.pk), str(clock.pk)]),
    )

    assert set(conversation.tool_versions.all()) == {pinned, clock.versions.get()}


def test_unchanged_settings_change_nothing(people, provider, tool, model_server):
    conversation = make(people, provider, tool)
    model_server.script(Reply(content="Sunny."))
    client = people.client_for("editor")
    client.post(url("conversation_run", conversation))
    response = client.post(
        url("conversation_settings", conversation), settings_data(provider, tool)
    )
    assert response["Location"] == url("conversation", conversation)
    assert Conversation.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"tools": [], "tool_choice": "required"}, "tool_choice required needs at least one tool."),
        ({"temperature": "3"}, "less than or equal to 2"),
        ({"max_rounds": "0"}, "greater than or equal to 1"),
    ],
)
def test_invalid_settings_are_answered_on_the_form(people, provider, tool, overrides, message):
    conversation = make(people, provider, tool)
    response = people.client_for("editor").post(
        url("conversation_settings", conversation), settings_data(provider, tool, **overrides)
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert '<details class="panel" id="run-settings" open>' in page
    conversation.refresh_from_db()
    assert conversation.max_rounds == 3 and conversation.temperature is None


def test_the_model_field_suggests_the_models_test_connection_listed(people, provider, tool):
    conversation = make(people, provider, tool)
    admin = people.client_for("admin")
    admin.post(reverse("provider_test", kwargs={"team": "acme", "provider_id": provider.pk}))
    provider.refresh_from_db()
    assert provider.known_models  # the scripted server lists its models

    page = admin.get(url("conversation", conversation)).content.decode()

    assert 'list="known-models"' in page
    for name in provider.known_models:
        assert f'<option value="{name}">' in page


@pytest.mark.parametrize(("who", "status"), [("viewer", 403), ("outsider", 404)])
def test_only_editors_change_settings(people, provider, tool, who, status):
    conversation = make(people, provider, tool)
    response = people.client_for(who).post(
        url("conversation_settings", conversation), settings_data(provider, tool, model="x")
    )
    assert response.status_code == status
    conversation.refresh_from_db()
    assert conversation.model == "test-model"
