"""A transcript's problems are found on every view of its conversation page: arguments a
transcript repeats are checked against the tool's schema once per view, not once per call."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from conversations import transcripts
from conversations.transcript_import import import_transcript

from .transcript_samples import WEATHER

CITIES = ['{"city": "Paris"}', '{"town": "Oslo"}', '{"city": 7}']


def call(index: int) -> dict:
    arguments = CITIES[index % len(CITIES)]
    return {
        "id": f"c{index}",
        "type": "function",
        "function": {"name": "get_weather", "arguments": arguments},
    }


def transcript(calls: int) -> list[dict]:
    ask = {"role": "assistant", "content": None, "tool_calls": [call(i) for i in range(calls)]}
    results = [{"role": "tool", "tool_call_id": f"c{i}", "content": "{}"} for i in range(calls)]
    return [{"role": "user", "content": "Weather everywhere?"}, ask, *results]


@pytest.fixture
def validations(monkeypatch):
    counted = {"calls": 0}
    original = transcripts.validate_arguments

    def counting(*args, **kwargs):
        counted["calls"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(transcripts, "validate_arguments", counting)
    return counted


def test_each_distinct_call_is_checked_once_and_every_call_is_reported(validations):
    problems = transcripts.find_problems(transcript(60), [WEATHER])
    assert validations["calls"] == 3
    invalid = [p.message for p in problems if p.kind == "invalid_arguments"]
    assert len(invalid) == 40
    assert invalid[:2] == [
        "Message 2: “get_weather” (c1): arguments do not match the schema: (root): "
        "'city' is a required property",
        "Message 2: “get_weather” (c2): arguments do not match the schema: /city: "
        "7 is not of type 'string'",
    ]


def test_the_same_arguments_for_another_tool_are_checked_for_it():
    other = json.loads(json.dumps(WEATHER))
    other["function"]["name"] = "get_forecast"
    other["function"]["parameters"]["required"] = ["town"]
    messages = transcript(2)
    messages[1]["tool_calls"][1]["function"]["name"] = "get_forecast"
    messages[1]["tool_calls"][1]["function"]["arguments"] = '{"city": "Paris"}'
    problems = transcripts.find_problems(messages, [WEATHER, other])
    assert [p.message for p in problems] == [
        "Message 2: “get_forecast” (c1): arguments do not match the schema: (root): "
        "'town' is a required property"
    ]


def test_a_view_of_the_conversation_page_checks_each_distinct_call_once(team, people, validations):
    answer = {"role": "assistant", "content": "Done."}
    body = {
        "model": "gpt-4o-mini",
        "messages": transcript(60),
        "tools": [WEATHER],
        "choices": [{"index": 0, "message": answer, "finish_reason": "stop"}],
    }
    [conversation] = import_transcript(team, json.dumps(body))
    validations["calls"] = 0
    url = reverse("conversation", kwargs={"team": team.slug, "conversation": conversation.pk})
    response = people.client_for("viewer").get(url)
    assert response.status_code == 200
    assert "Transcript problems" in response.content.decode()
    assert validations["calls"] == 3
