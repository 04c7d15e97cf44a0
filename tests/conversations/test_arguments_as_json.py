"""A call's parsed arguments and tool message read as JSON on conversation and batch pages."""

from __future__ import annotations

from conversations.models import Batch
from tests.support.openai_server import Reply

NEW = "/t/acme/conversations/new/"


def run_one_call(people, provider, tool, model_server) -> str:
    calls = [{"id": "c1", "name": "get_weather", "arguments": '{"city":"Oslo"}'}]
    model_server.script(Reply(tool_calls=calls), Reply(content="Cold."))
    data = {
        "provider": str(provider.pk),
        "user": "Weather in Oslo?",
        "tools": [str(tool.pk)],
        "tool_choice": "auto",
        "parallel_tool_calls": "on",
        "strategy": "asyncio",
        "max_rounds": "4",
        "run": "1",
    }
    return people.client_for("editor").post(NEW, data)["Location"]


def test_the_call_row_shows_parsed_arguments_as_json_and_keeps_the_raw_text(
    people, provider, tool, model_server
):
    location = run_one_call(people, provider, tool, model_server)
    page = people.client_for("viewer").get(location).content.decode()
    assert "{&#x27;city&#x27;: &#x27;Oslo&#x27;}" not in page
    assert "{\n  &quot;city&quot;: &quot;Oslo&quot;\n}" in page
    assert "{&quot;city&quot;:&quot;Oslo&quot;}" in page  # the raw text, as the model sent it


def test_the_batch_page_shows_arguments_as_json(people, provider, tool, model_server):
    run_one_call(people, provider, tool, model_server)
    batch = Batch.objects.get()
    page = people.client_for("viewer").get(f"/t/acme/batches/{batch.pk}/").content.decode()
    assert "{\n  &quot;city&quot;: &quot;Oslo&quot;\n}" in page
    assert "&#x27;city&#x27;" not in page
    assert people.client_for("outsider").get(f"/t/acme/batches/{batch.pk}/").status_code == 404
