"""The conversation's totals keep time while a round's calls run: the calls finished so far
count (wall time from the batch's first start to the latest finish, waits for a person left
out), not "0.00 ms" until the batch closes; before anything has run the times read "—"."""

from __future__ import annotations

from conversations import compose
from conversations.models import Batch, ToolExecution
from conversations.view_models import conversation_summary


def an_open_round(team, people, provider, tool):
    data = {"provider": provider, "user": "Weather?", "tools": [tool]}
    conversation = compose.create_conversation(team, people.editor, data)
    batch = Batch.objects.create(
        team=team, conversation=conversation, source="conversation", strategy="asyncio", round=0
    )
    return conversation, batch


def a_call(batch, position, *, started=None, finished=None, **fields):
    return ToolExecution.objects.create(
        batch=batch,
        position=position,
        tool_call_id=f"call_{position}",
        tool_name="get_weather",
        status="ok" if finished is not None else "running",
        started_ms=started,
        finished_ms=finished,
        **fields,
    )


def test_finished_calls_of_a_running_round_count(people, team, provider, tool):
    conversation, batch = an_open_round(team, people, provider, tool)
    a_call(batch, 0, started=2.0, finished=11702.0)
    a_call(batch, 1, started=3.0, finished=10603.0)
    a_call(batch, 2, started=4.0)  # still running

    summary = conversation_summary(conversation)

    assert summary["tool_wall_ms"] == 11700.0
    assert summary["tool_sum_ms"] == 22300.0
    url = f"/t/acme/conversations/{conversation.pk}/"
    page = people.client_for("viewer").get(url).content.decode()
    assert "<div><dt>Tool wall time</dt><dd>11.7 s</dd></div>" in page
    assert '<dd id="summary-sum">22.3 s</dd>' in page
    assert people.client_for("outsider").get(url).status_code == 404


def test_a_wait_for_approval_is_not_tool_time_while_the_round_runs(people, team, provider, tool):
    conversation, batch = an_open_round(team, people, provider, tool)
    a_call(batch, 0, started=0.0, finished=100.0)
    # Waited for a person from 100 ms to 5,100 ms, then ran for 100 ms.
    a_call(
        batch,
        1,
        started=5100.0,
        finished=5200.0,
        approval="approved",
        approval_asked_ms=100.0,
        approval_decided_ms=5100.0,
    )
    # Still waiting for a person: not tool time either.
    a_call(batch, 2, approval="pending", approval_asked_ms=150.0)

    summary = conversation_summary(conversation)

    assert (summary["tool_wall_ms"], summary["tool_sum_ms"]) == (200.0, 200.0)


def test_nothing_run_yet_reads_a_dash(people, team, provider, tool):
    conversation, batch = an_open_round(team, people, provider, tool)
    a_call(batch, 0, started=1.0)
    draft = compose.create_conversation(
        team, people.editor, {"provider": provider, "user": "Hi", "tools": [tool]}
    )
    for shown in (conversation, draft):
        summary = conversation_summary(shown)
        assert (summary["tool_wall_ms"], summary["tool_sum_ms"]) == (None, None)
        url = f"/t/acme/conversations/{shown.pk}/"
        page = people.client_for("viewer").get(url).content.decode()
        assert "<div><dt>Tool wall time</dt><dd>—</dd></div>" in page
        assert '<dd id="summary-sum">—</dd>' in page
        assert "0.00 ms" not in page.split('id="summary"')[1].split("</dl>")[0]
