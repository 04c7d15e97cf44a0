"""A model that streams lone surrogates, NUL and non-finite numbers: the run finishes, the
record is whole, the page renders what the model sent (escaped)."""

from __future__ import annotations

from conversations.models import Batch, Conversation, RunStatus, ToolExecution
from tests.support.openai_server import Reply

NEW = "/t/acme/conversations/new/"


def builder(chosen_provider, tool) -> dict:
    return {
        "provider": str(chosen_provider.pk),
        "user": "Weather in Oslo?",
        "tools": [str(tool.pk)],
        "tool_choice": "auto",
        "parallel_tool_calls": "on",
        "strategy": "asyncio",
        "max_rounds": "4",
        "run": "1",
    }


def test_a_run_whose_model_streams_hostile_values_finishes_and_renders(
    people, provider, tool, model_server
):
    model_server.script(
        Reply(
            content="Checking \ud800 and \x00 now.",
            tool_calls=[
                {"id": "c1", "name": "get_weather", "arguments": '{"city": 1e999}'},
                {"id": "c2", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
                {"id": "c3", "name": "get_weather", "arguments": '{"city": "\ud800\x00"}'},
            ],
        ),
        Reply(content="Done \udfff."),
    )
    client = people.client_for("editor")
    location = client.post(NEW, builder(provider, tool))["Location"]
    conversation = Conversation.objects.get()
    assert conversation.status == RunStatus.FINISHED

    first = ToolExecution.objects.get(tool_call_id="c1")
    assert first.error_code == "INVALID_JSON"
    assert "1e999" in first.error_message
    assert ToolExecution.objects.get(tool_call_id="c2").status == "ok"
    third = ToolExecution.objects.get(tool_call_id="c3")
    assert third.error_code == "INVALID_JSON"
    assert "lone surrogate \\ud800" in third.error_message
    assert third.raw_arguments == '{"city": "\\ud800\\u0000"}'

    assert not ToolExecution.objects.filter(status="queued").exists()
    assert not Batch.objects.exclude(status="finished").exists()

    response = client.get(location)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Checking \\ud800 and \\u0000 now." in page
    assert "Done \\udfff." in page
    assert "{&quot;city&quot;: 1e999}" in page  # the arguments as sent, not as parsed
