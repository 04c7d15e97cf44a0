"""The replay report numbers rounds as the conversation page does: from 1."""

from __future__ import annotations

import re

from django.urls import reverse

from conversations.transcript_import import import_transcript

from .transcript_samples import json_lines


def headings(page: str, tag: str) -> list[str]:
    return re.findall(rf"<{tag}>(Round \d+)", page)


def test_the_replay_and_the_conversation_page_name_the_same_round_alike(team, tool, people):
    [conversation] = import_transcript(team, json_lines())
    editor = people.client_for("editor")
    replayed = editor.post(
        reverse("conversation_replay", args=[team.slug, conversation.pk]), follow=True
    )
    shown = editor.get(reverse("conversation", args=[team.slug, conversation.pk]))
    # The recording's one round of tool calls, then its final answer.
    assert headings(replayed.content.decode(), "h2") == ["Round 1"]
    assert headings(shown.content.decode(), "h3") == ["Round 1", "Round 2"]


def test_the_outsider_sees_no_replay(team, tool, people):
    [conversation] = import_transcript(team, json_lines())
    url = reverse("conversation_replay", args=[team.slug, conversation.pk])
    assert people.client_for("outsider").post(url).status_code == 404
