"""An imported model call is timed when its log record says how long it took (LiteLLM's and
Langfuse's start/end times, a latency, a duration_ms, this studio's own export), and otherwise
untimed: its duration shown as unknown, never as "0 ms", and kept off the waterfall's axis."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from conversations.models import Conversation
from conversations.transcript_import import export_jsonl, import_transcript
from conversations.transcripts import Timing, timing_of
from conversations.waterfall import conversation_spans

from .transcript_samples import ANSWER, ASK, MESSAGES, USER, WEATHER, json_lines, response

NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("record", "answer", "expected"),
    [
        (  # LiteLLM's logging payload: epoch seconds
            {"startTime": NOON.timestamp(), "endTime": NOON.timestamp() + 1.25},
            {},
            Timing(NOON, 1250.0),
        ),
        (  # Langfuse's observation export: ISO moments and when the completion began
            {
                "startTime": "2026-03-01T12:00:00Z",
                "endTime": "2026-03-01T12:00:02.000Z",
                "completionStartTime": "2026-03-01T12:00:00.400Z",
            },
            {},
            Timing(NOON, 2000.0, 400.0),
        ),
        ({"start_time": "2026-03-01T12:00:00+00:00", "latency": 0.5}, {}, Timing(NOON, 500.0)),
        ({"duration_ms": 812.5}, {"created": NOON.timestamp()}, Timing(NOON, 812.5)),
        ({"end_time": "2026-03-01T12:00:03Z", "duration_ms": 3000}, {}, Timing(NOON, 3000.0)),
        ({}, {"created": int(NOON.timestamp())}, Timing(NOON, None)),  # when, not how long
        ({}, {}, None),
        ({"duration_ms": -5, "startTime": "yesterday", "latency": True}, {}, None),
        (  # an end before the start: when it began is all that is known
            {"startTime": "2026-03-01T12:00:05Z", "endTime": "2026-03-01T12:00:00Z"},
            {},
            Timing(datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC), None),
        ),
    ],
    ids=[
        "litellm",
        "langfuse",
        "latency-seconds",
        "duration-ms-created",
        "end-minus-duration",
        "created-only",
        "nothing",
        "nonsense",
        "end-before-start",
    ],
)
def test_a_log_records_timing_is_read(record, answer, expected):
    assert timing_of(record, answer) == expected


def timed_lines() -> str:
    first = {
        "request": {"model": "gpt-4o-mini", "messages": [USER], "tools": [WEATHER]},
        "response": response(ASK, 5),
        "startTime": "2026-03-01T12:00:00Z",
        "endTime": "2026-03-01T12:00:01.500Z",
    }
    second = {
        "request": {"model": "gpt-4o-mini", "messages": MESSAGES[:4], "tools": [WEATHER]},
        "response": {**response(ANSWER), "created": NOON.timestamp() + 3},
        "duration_ms": 700,
    }
    return json.dumps(first) + "\n" + json.dumps(second) + "\n"


def test_timed_records_become_timed_calls_on_the_time_axis(team):
    [conversation] = import_transcript(team, timed_lines())
    calls = list(conversation.model_calls.order_by("round"))
    assert [(c.timed, c.duration_ms, c.started_at) for c in calls] == [
        (True, 1500.0, NOON),
        (True, 700.0, datetime(2026, 3, 1, 12, 0, 3, tzinfo=UTC)),
    ]
    spans = conversation_spans(calls, conversation.batches.all())
    models = [(s.started_ms, s.end_ms) for s in spans if s.kind == "model"]
    assert models == [(0.0, 1500.0), (3000.0, 3700.0)]


def test_the_export_keeps_the_timing_and_re_imports_it(team):
    [conversation] = import_transcript(team, timed_lines())
    [again] = import_transcript(team, export_jsonl(conversation))
    timing = [(c.timed, c.duration_ms, c.started_at) for c in again.model_calls.order_by("round")]
    assert timing == [
        (True, 1500.0, NOON),
        (True, 700.0, datetime(2026, 3, 1, 12, 0, 3, tzinfo=UTC)),
    ]


def test_untimed_calls_stay_off_the_time_axis(team):
    [conversation] = import_transcript(team, json_lines())
    calls = list(conversation.model_calls.order_by("round"))
    assert [(c.ok, c.timed, c.duration_ms) for c in calls] == [(True, False, None)] * 2
    assert conversation_spans(calls, conversation.batches.all()) == []
    assert '"duration_ms"' not in export_jsonl(conversation)


def test_the_page_shows_an_untimed_calls_duration_as_unknown(team, people):
    [conversation] = import_transcript(team, json_lines())
    url = reverse("conversation", kwargs={"team": "acme", "conversation": conversation.pk})
    page = people.client_for("viewer").get(url).content.decode()
    assert page.count("— (untimed)") == 2
    assert "model 0 ms" not in page
    assert "waiting for the model" not in page
    assert Conversation.objects.get().model_calls.filter(timed=True).count() == 0


def test_an_end_too_early_to_subtract_the_duration_from_is_imported_without_it(team):
    record = {
        "request": {"model": "gpt-4o-mini", "messages": [USER], "tools": [WEATHER]},
        "response": response(ASK, 5),
        "end_time": "0001-01-01T00:00:00Z",
        "duration_ms": 700,
    }
    [conversation] = import_transcript(team, json.dumps(record) + "\n")
    call = conversation.model_calls.get()
    assert (call.timed, call.duration_ms) == (True, 700.0)
    assert call.started_at.year > 1
