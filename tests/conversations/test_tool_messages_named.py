"""Tool results are named by the tool of the call they answer (the call id beside it), on the
page, in a list that starts part-way through a conversation, and in a message sent alone."""

from __future__ import annotations

from django.urls import reverse

from conversations import compose, recording
from conversations.view_models import message_context, messages_context

CALLS = [
    {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}},
    {"id": "c2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
]


def make(people, provider, tool):
    data = {"provider": provider, "user": "Weather?", "tools": [tool], "max_rounds": 3}
    conversation = compose.create_conversation(
        people.editor.memberships.get().team, people.editor, data
    )
    recording.append_message(
        conversation.pk, {"role": "assistant", "content": None, "tool_calls": CALLS}
    )
    for call_id in ("c1", "c2", "c9"):
        recording.append_message(
            conversation.pk, {"role": "tool", "tool_call_id": call_id, "content": "{}"}
        )
    return conversation


def test_the_page_names_each_result_by_its_tool(people, provider, tool):
    conversation = make(people, provider, tool)
    url = reverse("conversation", kwargs={"team": "acme", "conversation": conversation.pk})
    page = people.client_for("viewer").get(url).content.decode()
    assert 'result of <code class="tool-name">get_weather</code>' in page
    assert 'result of <code class="tool-name">get_time</code>' in page
    assert '<code class="small muted call-id">c2</code>' in page
    # A result that answers no call keeps just its id.
    assert '<code class="small muted call-id">c9</code>' in page
    assert page.count('class="small tool-result-of"') == 2


def test_a_list_starting_part_way_names_results_by_earlier_calls(people, provider, tool):
    conversation = make(people, provider, tool)
    later = list(conversation.messages.filter(position__gte=3))
    assert [item["tool_name"] for item in messages_context(later)] == ["get_time", ""]


def test_a_whole_list_is_named_without_a_query_per_message(
    people, provider, tool, django_assert_num_queries
):
    conversation = make(people, provider, tool)
    messages = list(conversation.messages.all())
    with django_assert_num_queries(0):
        names = [item["tool_name"] for item in messages_context(messages)]
    assert names == ["", "", "get_weather", "get_time", ""]


def test_a_result_shown_alone_is_named(people, provider, tool):
    conversation = make(people, provider, tool)
    assert message_context(conversation.messages.get(position=2))["tool_name"] == "get_weather"
