"""The calls filter names a call held for a person's decision as the totals and its row do:
"waiting for approval", not "queued"; and choosing it lists that call."""

from __future__ import annotations

import re

import pytest

from conversations.management.commands.bench_pages import make_conversation
from conversations.models import ToolExecution

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation(team):
    conversation = make_conversation(team, rounds=1)  # four calls, all ok
    ToolExecution.objects.filter(batch__conversation=conversation, position=1).update(
        status="queued", approval="pending", started_ms=None, finished_ms=None
    )
    return conversation


def rows_in(html: str) -> list[str]:
    return re.findall(r'<tr class="status-(\w+)" id="execution-\d+">', html)


def test_the_filter_offers_the_summarys_word(people, conversation):
    page = people.client_for("viewer").get(f"/t/acme/conversations/{conversation.pk}/")
    html = page.content.decode()
    assert '<span class="badge warn">1 WAITING FOR APPROVAL</span>' in html
    assert (
        '<option value="">any outcome</option><option value="ok">OK</option>'
        '<option value="waiting for approval">WAITING FOR APPROVAL</option></select>'
    ) in html
    assert 'value="queued"' not in html


def test_choosing_it_lists_the_call_waiting_for_approval(people, conversation):
    url = f"/t/acme/conversations/{conversation.pk}/"
    html = people.client_for("viewer").get(url, {"status": "waiting for approval"}).content
    assert rows_in(html.decode()) == ["queued"]
    assert (
        '<option value="waiting for approval" selected>WAITING FOR APPROVAL</option>'
        in html.decode()
    )


def test_an_outsider_sees_no_filter(people, conversation):
    url = f"/t/acme/conversations/{conversation.pk}/"
    assert people.client_for("outsider").get(url).status_code == 404


def test_a_decision_on_a_filtered_page_redraws_the_rows_that_page_lists(people, conversation):
    """Deny from a page filtered to OK: the redrawn table lists the OK calls and the denied one
    (its row shows the outcome), not every call of the round."""
    waiting = ToolExecution.objects.get(batch__conversation=conversation, position=1)
    ToolExecution.objects.filter(batch__conversation=conversation, position=2).update(
        status="error", error_code="TIMEOUT"
    )
    page = f"http://testserver/t/acme/conversations/{conversation.pk}/?status=ok&tool="
    response = people.client_for("editor").post(
        f"/t/acme/conversations/{conversation.pk}/calls/{waiting.pk}/decide/",
        {"decision": "denied"},
        headers={"HX-Request": "true", "HX-Current-URL": page},
    )
    assert response.status_code == 200
    listed = rows_in(response.content.decode())
    assert sorted(listed) == ["ok", "ok", "queued"]  # the denied call, not the TIMEOUT one
