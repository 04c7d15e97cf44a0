"""The comparison page says where its runs start in words: "the conversation's first message",
"its first 3 messages", never "first 1 message"."""

from __future__ import annotations

import pytest
from django.test import Client

from conversations.models import Comparison, Conversation


@pytest.mark.parametrize(
    ("count", "said"), [(1, "first message, answered"), (3, "first 3 messages, answered")]
)
def test_the_cut_is_said_in_words(people, team, count, said):
    source = Conversation.objects.create(team=team, title="Weather", model="m")
    comparison = Comparison.objects.create(
        team=team, source=source, title="Weather", message_count=count
    )
    url = f"/t/acme/conversations/comparisons/{comparison.pk}/"
    client = Client()
    client.force_login(people.viewer)
    text = " ".join(client.get(url).content.decode().split())
    assert said in text
    assert "first 1 message" not in text

    client.force_login(people.outsider)
    assert client.get(url).status_code == 404
