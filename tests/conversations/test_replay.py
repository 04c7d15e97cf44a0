"""Replaying a recorded conversation runs its calls again against the current tools, records a
"replay" batch per recorded one, and shows each call's old and new result with their diff."""

from __future__ import annotations

from django.urls import reverse

from conversations.models import Batch, BatchSource
from conversations.replay import replay_conversation, replay_report
from conversations.transcript_import import import_transcript
from tools_app import catalog as catalog_ops

from .transcript_samples import json_lines


def answer_with(tool, response, people):
    tool.implementation_config = {"response": response}
    catalog_ops.save_tool(tool, author=people.editor, message="New mock response")


def test_a_changed_tool_shows_as_a_changed_call_with_its_diff(team, tool, people):
    answer_with(tool, {"temp": 21}, people)
    [conversation] = import_transcript(team, json_lines())
    answer_with(tool, {"temp": 19, "wind": 3}, people)

    group = replay_conversation(conversation, user=people.editor)

    [replayed] = Batch.objects.filter(compare_group=group)
    recorded = conversation.batches.get()
    assert (replayed.source, replayed.replay_of, replayed.conversation) == (
        BatchSource.REPLAY,
        recorded,
        None,
    )
    assert conversation.batches.count() == 1  # the record itself is unchanged
    report = replay_report(conversation, group)
    [weather, booking] = report.rounds[0].calls
    assert (weather.outcome, weather.new.status, weather.new.tool_version.number) == (
        "changed",
        "ok",
        3,
    )
    assert [(c.kind, c.pointer, c.old, c.new) for c in weather.changes] == [
        ("changed", "/temp", 21, 19),
        ("added", "/wind", None, 3),
    ]
    assert (booking.old.error_code, booking.new.error_code) == ("NO_RESULT", "FUNCTION_NOT_FOUND")
    assert booking.outcome == "changed"


def test_an_unchanged_tool_is_the_same_and_a_broken_one_newly_failing(team, tool, people):
    answer_with(tool, {"temp": 21}, people)
    [conversation] = import_transcript(team, json_lines())
    same = replay_report(conversation, replay_conversation(conversation))
    assert [c.outcome for c in same.rounds[0].calls] == ["same", "changed"]

    tool.name = "get_weather_v2"
    catalog_ops.save_tool(tool, author=people.editor, message="Renamed")
    gone = replay_report(conversation, replay_conversation(conversation))
    [weather, _] = gone.rounds[0].calls
    assert (weather.outcome, weather.new.error_code) == ("newly failing", "FUNCTION_NOT_FOUND")
    assert (gone.same_count, gone.changed_count, gone.newly_failing_count) == (0, 1, 1)


def test_the_replay_page_shows_the_summary_and_the_diff(team, tool, people):
    answer_with(tool, {"temp": 21}, people)
    [conversation] = import_transcript(team, json_lines())
    answer_with(tool, {"temp": 19}, people)
    editor = people.client_for("editor")

    response = editor.post(
        reverse("conversation_replay", args=[team.slug, conversation.pk]), follow=True
    )

    page = response.content.decode()
    assert "0 same" in page and "2 changed" in page and "0 newly failing" in page
    assert "<code>/temp</code> changed" in page
    assert "FUNCTION_NOT_FOUND" in page
    detail = people.client_for("viewer").get(
        reverse("conversation", args=[team.slug, conversation.pk])
    )
    listed = detail.content.decode()
    assert 'id="past-replays"' in listed
    assert "Replay tool calls" not in listed  # a viewer sees past replays, not the button


def test_who_may_replay(team, tool, people):
    [conversation] = import_transcript(team, json_lines())
    url = reverse("conversation_replay", args=[team.slug, conversation.pk])
    assert people.client_for("viewer").post(url).status_code == 403
    assert people.client_for("outsider").post(url).status_code == 404
    assert not Batch.objects.filter(source=BatchSource.REPLAY).exists()
    page = people.client_for("editor").get(
        reverse("conversation", args=[team.slug, conversation.pk])
    )
    assert "Replay tool calls" in page.content.decode()
    assert "Open in playground" in page.content.decode()


def test_only_recorded_conversations_are_replayed(team, tool, people):
    [conversation] = import_transcript(team, json_lines())
    conversation.recorded = False
    conversation.save()
    url = reverse("conversation_replay", args=[team.slug, conversation.pk])
    assert people.client_for("editor").post(url).status_code == 400


def test_open_in_playground_forks_into_a_studio_conversation(team, tool, people):
    [conversation] = import_transcript(team, json_lines())
    editor = people.client_for("editor")
    count = conversation.messages.count()
    response = editor.post(
        reverse("conversation_fork", args=[team.slug, conversation.pk]), {"upto": count}
    )
    assert response.status_code == 302
    fork = conversation.forks.get()
    assert (fork.recorded, fork.messages.count()) == (False, count)
