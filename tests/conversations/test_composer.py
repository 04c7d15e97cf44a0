"""The composer at the bottom of the conversation page: the next user turn, sent and run."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conversations import compose
from conversations.models import Conversation, RunStatus
from tests.support.openai_server import Reply


def make(people, provider, tool) -> Conversation:
    data = {"provider": provider, "user": "Weather?", "tools": [tool], "max_rounds": 3}
    return compose.create_conversation(people.editor.memberships.get().team, people.editor, data)


def url(name: str, conversation: Conversation) -> str:
    return reverse(name, kwargs={"team": "acme", "conversation": conversation.pk})


def test_sending_appends_the_user_turn_and_runs_it(people, provider, tool, model_server):
    conversation = make(people, provider, tool)
    model_server.script(Reply(content="Sunny."), Reply(content="Still sunny."))
    client = people.client_for("editor")
    client.post(url("conversation_run", conversation))

    response = client.post(
        url("conversation_send", conversation), {"content": "And tomorrow?\r\nIn Bergen?\n"}
    )

    assert response["Location"] == url("conversation", conversation)
    conversation.refresh_from_db()
    assert conversation.status == RunStatus.FINISHED
    assert [m.payload for m in conversation.messages.all()][-2:] == [
        {"role": "user", "content": "And tomorrow?\nIn Bergen?\n"},
        {"role": "assistant", "content": "Still sunny."},
    ]
    assert model_server.requests[1]["body"]["messages"][-1] == {
        "role": "user",
        "content": "And tomorrow?\nIn Bergen?\n",
    }
    # A turn of the conversation, not an edit of its record.
    assert conversation.messages.get(role="user", position=2).edited_at is None


def test_a_finished_answer_offers_the_composer_and_no_continue(
    people, provider, tool, model_server
):
    conversation = make(people, provider, tool)
    model_server.script(Reply(content="Sunny."))
    client = people.client_for("editor")
    client.post(url("conversation_run", conversation))

    page = client.get(url("conversation", conversation)).content.decode()

    assert 'id="composer"' in page
    assert ">Continue</button>" not in page and ">Run</button>" not in page


def test_a_draft_offers_run_and_the_composer(people, provider, tool):
    page = people.client_for("editor").get(url("conversation", make(people, provider, tool)))
    assert ">Run</button>" in page.content.decode()
    assert 'id="composer"' in page.content.decode()


def test_a_viewer_sees_no_composer(people, provider, tool):
    page = people.client_for("viewer").get(url("conversation", make(people, provider, tool)))
    assert 'id="composer"' not in page.content.decode()


def test_an_empty_message_is_refused_on_the_field(people, provider, tool):
    conversation = make(people, provider, tool)
    response = people.client_for("editor").post(
        url("conversation_send", conversation), {"content": "  \n"}
    )
    assert response.status_code == 200
    assert "Write a message to send." in response.content.decode()
    assert conversation.messages.count() == 1


def test_a_quota_refusal_is_shown_and_the_message_kept(
    people, provider, tool, model_server, settings
):
    settings.FCSTUDIO_TEAM_RUNS_PER_HOUR = 1
    conversation = make(people, provider, tool)
    model_server.script(Reply(content="Sunny."))
    client = people.client_for("editor")
    client.post(url("conversation_run", conversation))

    page = client.post(
        url("conversation_send", conversation), {"content": "And tomorrow?"}, follow=True
    ).content.decode()

    assert "Run not started: this team has started 1 runs in the last hour" in page
    assert conversation.messages.last().payload == {"role": "user", "content": "And tomorrow?"}
    assert len(model_server.requests) == 1


def test_a_running_conversation_takes_no_new_turn(people, provider, tool):
    conversation = make(people, provider, tool)
    Conversation.objects.filter(pk=conversation.pk).update(status=RunStatus.RUNNING)
    response = people.client_for("editor").post(
        url("conversation_send", conversation), {"content": "Hello?"}
    )
    assert "Stop the run before changing its messages." in response.content.decode()
    assert conversation.messages.count() == 1


def test_a_recorded_conversation_offers_neither_composer_nor_continue(people, provider, tool):
    conversation = make(people, provider, tool)
    Conversation.objects.filter(pk=conversation.pk).update(recorded=True)
    client = people.client_for("editor")
    page = client.get(url("conversation", conversation)).content.decode()
    assert 'id="composer"' not in page and 'id="run-settings"' not in page
    assert ">Run</button>" not in page
    refused = client.post(url("conversation_send", conversation), {"content": "Hello?"})
    assert refused.status_code == 400
    assert conversation.messages.count() == 1


def test_a_fork_of_a_recorded_conversation_can_be_run(people, provider, tool):
    conversation = make(people, provider, tool)
    Conversation.objects.filter(pk=conversation.pk).update(recorded=True)
    people.client_for("editor").post(url("conversation_fork", conversation), {"upto": "1"})
    copy = Conversation.objects.exclude(pk=conversation.pk).get()
    assert not copy.recorded


@pytest.mark.parametrize(("who", "status"), [("viewer", 403), ("outsider", 404)])
def test_only_editors_send(people, provider, tool, who, status):
    conversation = make(people, provider, tool)
    response = people.client_for(who).post(url("conversation_send", conversation), {"content": "x"})
    assert response.status_code == status
    assert conversation.messages.count() == 1
