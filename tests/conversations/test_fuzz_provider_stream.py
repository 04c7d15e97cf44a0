"""Hostile chunks through the provider client's assembly, and hostile answers through a whole
run against the scripted server: every text, id, name and argument string comes out clean,
the run ends, nothing is left queued, the page renders."""

from __future__ import annotations

import asyncio

from asgiref.sync import async_to_sync
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations import compose
from conversations.models import Batch, ToolExecution
from conversations.provider import Delta, StreamAssembly, read_completion
from conversations.runner import run_conversation
from tests.support.hostile import assert_clean, hostile_json_text, hostile_text
from tests.support.openai_server import Reply

maybe_text = st.one_of(st.none(), hostile_text, st.integers())

fragments = st.fixed_dictionaries(
    {"index": st.one_of(st.integers(0, 2), st.none())},
    optional={
        "id": maybe_text,
        "function": st.fixed_dictionaries(
            {}, optional={"name": maybe_text, "arguments": st.one_of(hostile_text, maybe_text)}
        ),
    },
)
chunks = st.fixed_dictionaries(
    {
        "choices": st.lists(
            st.fixed_dictionaries(
                {"index": st.just(0)},
                optional={
                    "delta": st.fixed_dictionaries(
                        {},
                        optional={
                            "content": maybe_text,
                            "tool_calls": st.lists(fragments, max_size=2),
                        },
                    ),
                    "finish_reason": st.one_of(st.none(), st.sampled_from(["stop"]), hostile_text),
                },
            ),
            max_size=1,
        )
    }
)


def assert_turn_clean(turn) -> None:
    assert_clean(turn.content)
    assert_clean(turn.problems)
    if isinstance(turn.finish_reason, str):
        assert_clean(turn.finish_reason)
    for call in turn.tool_calls:
        assert_clean([call.id, call.name, call.arguments])


@settings(max_examples=200, deadline=None)
@given(stream=st.lists(chunks, max_size=8))
def test_streamed_hostile_chunks_assemble_clean(stream):
    seen: list[Delta] = []
    assembly = StreamAssembly(0.0, seen.append)

    async def feed() -> None:
        for chunk in stream:
            await assembly.add(chunk)

    asyncio.run(feed())
    for delta in seen:
        assert_clean([delta.text, delta.name, delta.arguments, delta.accumulated])
        assert_clean([delta.call_id, delta.call_name])
    assert_turn_clean(assembly.turn(truncated=True))


@settings(max_examples=200, deadline=None)
@given(
    content=st.one_of(st.none(), hostile_text),
    calls=st.lists(
        st.fixed_dictionaries(
            {
                "id": hostile_text,
                "function": st.fixed_dictionaries(
                    {"name": hostile_text, "arguments": st.one_of(hostile_json_text, st.just({}))}
                ),
            }
        ),
        max_size=3,
    ),
    finish_reason=st.one_of(st.just("tool_calls"), hostile_text),
)
def test_plain_hostile_answers_read_clean(content, calls, finish_reason):
    completion = {
        "choices": [
            {
                "message": {"content": content, "tool_calls": calls},
                "finish_reason": finish_reason,
            }
        ]
    }
    assert_turn_clean(read_completion(completion, 0.0))


RUN = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@RUN
@given(
    content=hostile_text,
    arguments=hostile_json_text,
    call_id=hostile_text,
    status=st.sampled_from([200, 200, 200, 400, 500]),
)
def test_a_run_on_hostile_answers_ends_and_renders(
    people, team, provider, tool, model_server, content, arguments, call_id, status
):
    while model_server.pending:  # the queue lives per test: drop what an earlier example left
        model_server._next_reply()
    model_server.script(
        Reply(
            content=content or None,
            status=status,
            tool_calls=[{"id": "c_" + call_id, "name": "get_weather", "arguments": arguments}]
            if status == 200
            else (),
        ),
        Reply(content=content or "Done."),
    )
    data = {
        "provider": provider,
        "model": "",
        "system": "",
        "user": "Weather?",
        "tools": [tool],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "strategy": "asyncio",
        "max_rounds": 2,
    }
    conversation = compose.create_conversation(team, people.editor, data)
    async_to_sync(run_conversation)(conversation.pk)
    conversation.refresh_from_db()
    assert conversation.status in ("finished", "failed")
    assert_clean(conversation.failure)
    assert not ToolExecution.objects.filter(
        batch__conversation=conversation, status="queued"
    ).exists()
    assert not Batch.objects.filter(conversation=conversation, status="running").exists()
    for message in conversation.messages.all():
        assert_clean(message.payload)
    page = people.client_for("editor").get(f"/t/acme/conversations/{conversation.pk}/")
    assert page.status_code == 200
