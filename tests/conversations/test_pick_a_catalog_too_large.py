"""A whole catalog larger than a request takes is refused without loading every one of its
tools: at most one more than the limit is read."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations.models import Conversation
from conversations.tool_picker import MAX_PICKED_TOOLS
from tools_app.models import Catalog, Tool

NEW = "/t/acme/conversations/new/"


def test_a_200_tool_catalog_is_refused_reading_at_most_one_tool_too_many(people, provider, team):
    big = Catalog.objects.create(team=team, name="Big", slug="big")
    Tool.objects.bulk_create(
        Tool(catalog=big, name=f"tool_{n:03}", parameters={"type": "object"}, version=1)
        for n in range(200)
    )
    data = {
        "provider": str(provider.pk),
        "user": "Hello",
        "catalogs": [str(big.pk)],
        "tool_choice": "auto",
        "strategy": "asyncio",
        "max_rounds": "4",
    }
    with CaptureQueriesContext(connection) as queries:
        response = people.client_for("editor").post(NEW, data)
    assert (
        f"A request takes at most {MAX_PICKED_TOOLS} tools; with the whole catalogs these are 200."
        in (response.content.decode())
    )
    assert not Conversation.objects.exists()
    whole = [q["sql"] for q in queries.captured_queries if 'FROM "tools_app_tool"' in q["sql"]]
    assert whole
    assert all("LIMIT" in sql or "COUNT(" in sql for sql in whole), whole
