"""Every summary, row and filter names a call's outcome the same way, in one case (OK beside
CANCELLED and DENIED), and a call a person denied says so once."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils.html import strip_tags

from conversations import compose
from conversations.models import Batch, Conversation, ToolExecution


@pytest.fixture
def conversation(team, people, provider, tool) -> Conversation:
    data = {"provider": provider, "user": "Weather?", "tools": [tool]}
    created = compose.create_conversation(team, people.editor, data)
    batch = Batch.objects.create(
        team=team, conversation=created, source="conversation", strategy="asyncio", round=0
    )
    rows = [
        {"status": "ok"},
        {"status": "error", "error_code": "CANCELLED", "error_message": "the run was stopped"},
        {"status": "error", "error_code": "CANCELLED", "error_message": "the run was stopped"},
        {
            "status": "error",
            "error_code": "DENIED",
            "error_message": "the call was not approved",
            "approval": "denied",
        },
    ]
    for position, row in enumerate(rows):
        ToolExecution.objects.create(
            batch=batch,
            position=position,
            tool_call_id=f"c{position}",
            tool_name="get_weather",
            **row,
        )
    return created


def text(html: str) -> str:
    return " ".join(strip_tags(html).split())


def test_the_summary_and_the_filter_name_outcomes_in_one_case(people, conversation):
    page = people.client_for("viewer").get(reverse("conversation", args=["acme", conversation.pk]))
    html = page.content.decode()
    summary = re.search(r"<dt>Calls</dt><dd>(.*?)</dd>", html, re.S).group(1)
    assert text(summary) == "2 CANCELLED 1 DENIED 1 OK"
    options = re.search(r'<select name="status" id="filter-status">(.*?)</select>', html, re.S)
    assert re.findall(r">([^<]+)</option>", options.group(1)) == [
        "any outcome",
        "CANCELLED",
        "DENIED",
        "OK",
    ]


def test_a_denied_call_says_so_once(people, conversation):
    page = people.client_for("viewer").get(reverse("conversation", args=["acme", conversation.pk]))
    html = page.content.decode()
    denied = conversation.batches.get().executions.get(error_code="DENIED")
    row = re.search(rf'<tr class="status-error" id="execution-{denied.pk}">(.*?)</tr>', html, re.S)
    outcome = re.findall(r"<td>(.*?)</td>", row.group(1), re.S)[1]
    assert text(outcome) == "DENIED the call was not approved"
    ok = conversation.batches.get().executions.get(status="ok")
    row = re.search(rf'<tr class="status-ok" id="execution-{ok.pk}">(.*?)</tr>', html, re.S)
    assert text(re.findall(r"<td>(.*?)</td>", row.group(1), re.S)[1]) == "OK"


def test_the_outsider_sees_no_outcomes(people, conversation):
    page = people.client_for("outsider").get(
        reverse("conversation", args=["acme", conversation.pk])
    )
    assert page.status_code == 404
