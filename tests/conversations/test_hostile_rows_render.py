"""Rows written before untrusted values were normalised still render: their JSON columns are
cleaned as they load (a lone surrogate shows as the text \\ud800, NUL as \\u0000)."""

from __future__ import annotations

import pytest
from django.db import connection

from conversations.models import Batch, Conversation, Message, ToolExecution
from tests.support.openai_server import Reply
from tools_app.models import Tool, ToolVersion

NEW = "/t/acme/conversations/new/"

pytestmark = pytest.mark.skipif(
    connection.vendor == "postgresql", reason="jsonb never accepted such rows: none are old"
)

# What Django's plain JSON encoder wrote for a lone surrogate, NUL and a non-finite float.
OLD_TEXT = '"old \\ud800 and \\u0000 text"'


def write_raw(model, pk: int, column: str, json_text: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {model._meta.db_table} SET {column} = %s WHERE id = %s", [json_text, pk]
        )


def test_a_conversation_with_old_hostile_rows_renders(people, provider, tool, model_server):
    model_server.script(
        Reply(tool_calls=[{"id": "c1", "name": "get_weather", "arguments": '{"city": "Oslo"}'}]),
        Reply(content="Sunny."),
    )
    client = people.client_for("editor")
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
    location = client.post(NEW, data)["Location"]
    conversation = Conversation.objects.get()
    last = conversation.messages.order_by("-pk").first()
    assert isinstance(last, Message)
    write_raw(Message, last.pk, "payload", '{"role": "assistant", "content": ' + OLD_TEXT + "}")
    execution = ToolExecution.objects.get()
    write_raw(ToolExecution, execution.pk, "result", '{"v": ' + OLD_TEXT + "}")
    write_raw(ToolExecution, execution.pk, "parsed_arguments", '{"city": "\\udfff"}')

    page = client.get(location)
    assert page.status_code == 200
    assert "old \\ud800 and \\u0000 text" in page.content.decode()
    assert "&quot;city&quot;: &quot;\\\\udfff&quot;" in page.content.decode()

    batch = Batch.objects.get()
    assert client.get(f"/t/acme/batches/{batch.pk}/").status_code == 200
    execution.refresh_from_db()
    assert execution.result == {"v": "old \\ud800 and \\u0000 text"}


def test_a_tool_with_old_hostile_rows_renders(people, tool):
    parameters = (
        '{"type": "object", "properties": {"city": {"type": "string", "description": '
        + OLD_TEXT
        + "}}}"
    )
    write_raw(Tool, tool.pk, "parameters", parameters)
    version = tool.versions.get()
    assert isinstance(version, ToolVersion)
    snapshot = '{"name": "get_weather", "description": ' + OLD_TEXT + ', "parameters": {}}'
    write_raw(ToolVersion, version.pk, "snapshot", snapshot)

    client = people.client_for("editor")
    page = client.get("/t/acme/c/travel/tools/get_weather/")
    assert page.status_code == 200
    assert "old \\ud800 and \\u0000 text" in page.content.decode()
    assert client.get("/t/acme/c/travel/tools/get_weather/history/").status_code == 200
