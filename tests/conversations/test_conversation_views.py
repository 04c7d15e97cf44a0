"""Building, running, approving, forking and exporting conversations through their pages."""

from __future__ import annotations

import json

import pytest

from conversations import compose
from conversations.models import Conversation, RunStatus, ToolExecution
from tests.support.openai_server import Reply

NEW = "/t/acme/conversations/new/"


def builder(chosen_provider, tool, **overrides) -> dict:
    data = {
        "provider": str(chosen_provider.pk),
        "user": "Weather in Oslo?",
        "tools": [str(tool.pk)],
        "tool_choice": "auto",
        "parallel_tool_calls": "on",
        "strategy": "asyncio",
        "max_rounds": "4",
    }
    data.update(overrides)
    return data


def test_the_builder_offers_the_teams_providers_tools_and_tool_choices(people, provider, tool):
    page = people.client_for("editor").get(NEW).content.decode()
    assert "Scripted" in page and "get_weather (Travel)" in page
    for value in ("auto", "none", "required"):
        assert f'value="{value}"' in page
    # A tool is a named choice once it is picked (tests/conversations/test_tool_picker.py).
    assert 'value="function:get_weather"' not in page


def test_a_team_without_providers_is_sent_to_add_one(people, tool):
    page = people.client_for("editor").get(NEW).content.decode()
    assert "This team has no provider yet." in page


def test_saving_a_draft_pins_tool_versions_and_writes_the_first_messages(people, provider, tool):
    response = people.client_for("editor").post(
        NEW, builder(provider, tool, system="Be brief.", draft="1")
    )
    conversation = Conversation.objects.get()
    assert response["Location"] == f"/t/acme/conversations/{conversation.pk}/"
    assert conversation.status == RunStatus.DRAFT
    assert list(conversation.tool_versions.all()) == [tool.versions.get()]
    assert [m.payload for m in conversation.messages.all()] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Oslo?"},
    ]
    assert conversation.title == "Weather in Oslo?"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"user": ""}, "This field is required."),
        ({"tools": [], "tool_choice": "required"}, "tool_choice required needs at least one tool."),
        ({"tools": [], "tool_choice": "function:get_weather"}, "needs at least one tool"),
        ({"tool_choice": "function:nope"}, "Select a valid choice."),
        ({"temperature": "3"}, "less than or equal to 2"),
        ({"max_rounds": "0"}, "greater than or equal to 1"),
        ({"provider": "999999"}, "Select a valid choice."),
    ],
)
def test_invalid_builds_are_answered_on_the_form(people, provider, tool, overrides, message):
    response = people.client_for("editor").post(NEW, builder(provider, tool, **overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Conversation.objects.exists()


def test_a_named_tool_choice_must_be_among_the_chosen_tools(people, provider, tool, catalog):
    from tools_app import catalog as catalog_ops
    from tools_app.models import Tool

    other = Tool(catalog=catalog, name="get_time", parameters={"type": "object"})
    catalog_ops.save_tool(other)
    response = people.client_for("editor").post(
        NEW, builder(provider, tool, tool_choice="function:get_time")
    )
    assert "get_time is not among the chosen tools." in response.content.decode()


def test_create_and_run_drives_the_loop_and_the_page_shows_it(people, provider, tool, model_server):
    model_server.script(
        Reply(tool_calls=[{"id": "c1", "name": "get_weather", "arguments": '{"city": "Oslo"}'}]),
        Reply(content="It is sunny in Oslo."),
    )
    client = people.client_for("editor")
    location = client.post(NEW, builder(provider, tool, run="1"))["Location"]
    page = client.get(location).content.decode()
    assert '<span class="badge status-finished" id="status-badge">Finished</span>' in page
    assert "It is sunny in Oslo." in page
    assert page.count('<g class="call bar-ok">') == 1
    assert 'ws-connect="/ws/t/acme/conversations/' in page


def test_a_failed_run_shows_the_provider_error(people, provider, tool, model_server):
    model_server.script(Reply(status=500))
    client = people.client_for("editor")
    location = client.post(NEW, builder(provider, tool, run="1"))["Location"]
    page = client.get(location).content.decode()
    assert "Provider error (server)" in page
    assert "provider server" in page


def make(people, provider, tool, **data) -> Conversation:
    base = {"provider": provider, "user": "Weather?", "tools": [tool], "max_rounds": 3}
    return compose.create_conversation(
        people.editor.memberships.get().team, people.editor, {**base, **data}
    )


def test_fork_keeps_the_original_and_copies_messages_up_to_the_chosen_one(people, provider, tool):
    conversation = make(people, provider, tool, system="Sys.")
    response = people.client_for("editor").post(
        f"/t/acme/conversations/{conversation.pk}/fork/", {"upto": "1"}
    )
    copy = Conversation.objects.exclude(pk=conversation.pk).get()
    assert response["Location"] == f"/t/acme/conversations/{copy.pk}/"
    assert [m.role for m in copy.messages.all()] == ["system"]
    assert copy.forked_from == conversation and copy.status == RunStatus.DRAFT
    assert conversation.messages.count() == 2
    assert list(copy.tool_versions.all()) == list(conversation.tool_versions.all())
    bad = people.client_for("editor").post(
        f"/t/acme/conversations/{conversation.pk}/fork/", {"upto": "x"}
    )
    assert bad.status_code == 400


def test_export_reproduces_the_request(people, provider, tool):
    conversation = make(
        people, provider, tool, tool_choice="function:get_weather", parallel_tool_calls=False
    )
    response = people.client_for("viewer").get(
        f"/t/acme/conversations/{conversation.pk}/export.json"
    )
    disposition = f'attachment; filename="conversation-{conversation.pk}.json"'
    assert response["Content-Disposition"] == disposition
    body = json.loads(response.content)
    assert body["model"] == "test-model"
    assert body["messages"] == [{"role": "user", "content": "Weather?"}]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert body["parallel_tool_calls"] is False
    assert body["tools"][0]["function"]["name"] == "get_weather"


def test_deciding_a_pending_call(people, provider, tool):
    from conversations.models import Batch

    conversation = make(people, provider, tool)
    batch = Batch.objects.create(
        team=conversation.team,
        conversation=conversation,
        source="conversation",
        strategy="asyncio",
        round=0,
    )
    waiting = ToolExecution.objects.create(
        batch=batch, position=0, tool_call_id="c", tool_name="get_weather", approval="pending"
    )
    url = f"/t/acme/conversations/{conversation.pk}/calls/{waiting.pk}/decide/"
    client = people.client_for("editor")
    assert client.post(url, {"decision": "maybe"}).status_code == 400
    assert (
        client.post(url, {"decision": "denied"}, headers={"HX-Request": "true"}).status_code == 200
    )
    waiting.refresh_from_db()
    assert waiting.approval == "denied"
    assert (
        client.post(url, {"decision": "approved"}, headers={"HX-Request": "true"}).status_code
        == 409
    )
    assert people.client_for("viewer").post(url, {"decision": "approved"}).status_code == 403


def test_stop_asks_the_run_to_stop(people, provider, tool):
    conversation = make(people, provider, tool)
    response = people.client_for("editor").post(
        f"/t/acme/conversations/{conversation.pk}/stop/", headers={"HX-Request": "true"}
    )
    assert response.status_code == 204
    conversation.refresh_from_db()
    assert conversation.stop_requested is True


def test_the_list_shows_the_teams_conversations_only(people, provider, tool):
    make(people, provider, tool, title="Mine")
    assert "Mine" in people.client_for("viewer").get("/t/acme/conversations/").content.decode()
    assert people.client_for("outsider").get("/t/acme/conversations/").status_code == 404


def test_the_inspector_filters_calls_by_outcome_and_tool(people, provider, tool, model_server):
    calls = [
        {"id": "good", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
        {"id": "bad", "name": "get_weather", "arguments": '{"city": '},
    ]
    model_server.script(Reply(tool_calls=calls), Reply(content="Done."))
    client = people.client_for("editor")
    location = client.post(NEW, builder(provider, tool, run="1"))["Location"]
    everything = client.get(location).content.decode()
    assert 'value="INVALID_JSON"' in everything and 'value="ok"' in everything
    assert "good" in everything and "bad" in everything
    errors_only = client.get(location, {"status": "INVALID_JSON"}).content.decode()
    assert '<div class="muted small">bad</div>' in errors_only
    assert '<div class="muted small">good</div>' not in errors_only
    assert "parsed and validated" in client.get(location, {"status": "ok"}).content.decode()
    none = client.get(location, {"tool": "other"}).content.decode()
    assert '<div class="muted small">good</div>' not in none


def test_an_assistant_turn_written_by_hand_runs_its_tool_calls_on_continue(
    people, provider, tool, model_server
):
    conversation = make(people, provider, tool)
    client = people.client_for("editor")
    calls = '[{"name": "get_weather", "arguments": {"city": "Bern"}}]'
    client.post(
        f"/t/acme/conversations/{conversation.pk}/messages/",
        {"role": "assistant", "content": "", "tool_calls": calls},
    )
    added = conversation.messages.last()
    assert added.payload["tool_calls"][0]["function"] == {
        "name": "get_weather",
        "arguments": '{"city": "Bern"}',
    }
    assert added.edited_by == people.editor and added.round == 0
    model_server.script(Reply(content="Bern: mild."))
    client.post(f"/t/acme/conversations/{conversation.pk}/run/")
    conversation.refresh_from_db()
    assert conversation.status == RunStatus.FINISHED
    sent = model_server.requests[0]["body"]["messages"]
    assert sent[-1]["role"] == "tool"
    assert sent[-1]["tool_call_id"] == added.payload["tool_calls"][0]["id"]
    page = client.get(f"/t/acme/conversations/{conversation.pk}/").content.decode()
    assert "edited by hand" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"role": "user", "content": " "}, "A user message needs content."),
        ({"role": "tool", "content": "x"}, "give its id"),
        ({"role": "assistant", "content": ""}, "needs content or tool calls"),
        ({"role": "assistant", "tool_calls": "[{"}, "Not valid JSON"),
        ({"role": "assistant", "tool_calls": '[{"arguments": {}}]'}, "Call 1 needs a name."),
        ({"role": "wizard", "content": "x"}, "Select a valid choice"),
    ],
)
def test_bad_hand_written_messages_are_refused_with_a_reason(people, provider, tool, data, message):
    conversation = make(people, provider, tool)
    response = people.client_for("editor").post(
        f"/t/acme/conversations/{conversation.pk}/messages/", data, follow=True
    )
    assert message in response.content.decode()
    assert conversation.messages.count() == 1


def test_review_mode_pauses_so_a_tool_result_can_be_edited_before_it_is_sent(
    people, provider, tool, model_server
):
    conversation = make(people, provider, tool, review_results=True)
    model_server.script(
        Reply(tool_calls=[{"id": "c1", "name": "get_weather", "arguments": '{"city": "Oslo"}'}]),
        Reply(content="Noted: corrected."),
    )
    client = people.client_for("editor")
    client.post(f"/t/acme/conversations/{conversation.pk}/run/")
    conversation.refresh_from_db()
    assert conversation.status == RunStatus.PAUSED
    assert len(model_server.requests) == 1
    result = conversation.messages.get(role="tool")
    edit_url = f"/t/acme/conversations/{conversation.pk}/messages/{result.position}/"
    form_page = client.get(edit_url).content.decode()
    assert "c1" in form_page
    client.post(edit_url, {"role": "tool", "tool_call_id": "c1", "content": '{"temp": -40}'})
    client.post(f"/t/acme/conversations/{conversation.pk}/run/")
    sent = model_server.requests[1]["body"]["messages"]
    assert sent[-1] == {"role": "tool", "tool_call_id": "c1", "content": '{"temp": -40}'}


def test_a_running_conversation_cannot_be_edited(people, provider, tool):
    conversation = make(people, provider, tool)
    Conversation.objects.filter(pk=conversation.pk).update(status=RunStatus.RUNNING)
    response = people.client_for("editor").post(
        f"/t/acme/conversations/{conversation.pk}/messages/0/",
        {"role": "user", "content": "changed"},
    )
    assert "Stop the run before changing its messages." in response.content.decode()
    assert conversation.messages.get().payload["content"] == "Weather?"


def test_a_run_whose_worker_went_silent_can_be_resumed_by_a_person(
    people, provider, tool, model_server
):
    from datetime import timedelta

    from django.utils import timezone

    from conversations.models import Batch

    conversation = make(people, provider, tool)
    batch = Batch.objects.create(
        team=conversation.team,
        conversation=conversation,
        source="conversation",
        strategy="asyncio",
        round=0,
        status="running",
    )
    left = ToolExecution.objects.create(
        batch=batch, position=0, tool_call_id="c", tool_name="get_weather", status="running"
    )
    Conversation.objects.filter(pk=conversation.pk).update(
        status=RunStatus.RUNNING,
        worker="gone-host:42",
        heartbeat_at=timezone.now() - timedelta(minutes=5),
    )
    client = people.client_for("editor")
    page = client.get(f"/t/acme/conversations/{conversation.pk}/").content.decode()
    assert "worker gone-host:42 not responding since" in page
    assert ">Resume</button>" in page
    model_server.script(Reply(content="Back again."))
    client.post(f"/t/acme/conversations/{conversation.pk}/run/")
    conversation.refresh_from_db()
    left.refresh_from_db()
    assert conversation.status == RunStatus.FINISHED
    assert (left.status, left.error_code) == ("error", "CANCELLED")
    assert "gone-host:42 stopped responding; a person resumed the run" in left.error_message


def test_a_live_run_is_not_started_twice(people, provider, tool, model_server):
    from django.utils import timezone

    conversation = make(people, provider, tool)
    Conversation.objects.filter(pk=conversation.pk).update(
        status=RunStatus.RUNNING, worker="busy:1", heartbeat_at=timezone.now()
    )
    response = people.client_for("editor").post(
        f"/t/acme/conversations/{conversation.pk}/run/", follow=True
    )
    assert "This conversation is already running." in response.content.decode()
    assert model_server.requests == []


def test_deleting_a_conversation_removes_its_records_but_not_while_it_runs(people, provider, tool):
    from django.utils import timezone

    conversation = make(people, provider, tool)
    client = people.client_for("editor")
    Conversation.objects.filter(pk=conversation.pk).update(
        status=RunStatus.RUNNING, heartbeat_at=timezone.now()
    )
    response = client.post(f"/t/acme/conversations/{conversation.pk}/delete/", follow=True)
    assert "Stop the run before deleting the conversation." in response.content.decode()
    Conversation.objects.filter(pk=conversation.pk).update(status=RunStatus.FINISHED)
    response = client.post(f"/t/acme/conversations/{conversation.pk}/delete/")
    assert response["Location"] == "/t/acme/conversations/"
    assert not Conversation.objects.exists()
    assert (
        people.client_for("viewer")
        .post(f"/t/acme/conversations/{conversation.pk}/delete/")
        .status_code
        == 403
    )
