"""A closed call waits for nobody: stopping or reaping a run settles its pending approvals."""

from __future__ import annotations

from conversations import compose, leases
from conversations.models import Batch, RunStatus, ToolExecution


def waiting_run(people, team, provider):
    conversation = compose.create_conversation(
        team, people.editor, {"provider": provider, "user": "Weather?"}
    )
    conversation.status = RunStatus.WAITING
    conversation.worker = "w1"
    conversation.save()
    batch = Batch.objects.create(
        team=team, conversation=conversation, source="conversation", strategy="asyncio", round=0
    )
    waiting = ToolExecution.objects.create(
        batch=batch, position=0, tool_call_id="c1", tool_name="get_weather", approval="pending"
    )
    return conversation, waiting


def test_a_stopped_run_leaves_no_call_waiting_for_approval(people, team, provider):
    conversation, waiting = waiting_run(people, team, provider)

    assert (
        leases.finish_run(conversation.pk, "w1", RunStatus.STOPPED, "Stopped by a person.")
        is not None
    )

    waiting.refresh_from_db()
    assert (waiting.status, waiting.error_code, waiting.approval) == ("error", "CANCELLED", "")
    page = people.client_for("editor").get(f"/t/acme/conversations/{conversation.pk}/")
    assert "Approve" not in page.content.decode()
    assert '<span class="badge warn">WAITING FOR APPROVAL</span>' not in page.content.decode()


def test_a_reaped_run_leaves_no_call_waiting_for_approval(people, team, provider):
    conversation, waiting = waiting_run(people, team, provider)

    leases.mark_interrupted(conversation.pk, "The worker stopped answering.")

    waiting.refresh_from_db()
    assert (waiting.error_code, waiting.approval) == ("CANCELLED", "")
