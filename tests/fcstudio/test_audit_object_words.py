"""The audit page names each object's kind in the product's words ("membership", "tool
execution", "API token"), not as a model label, and its Object filter takes those words too; a
model call's label is its round as pages count them, and a call's its outcome as pages name it."""

from __future__ import annotations

from django.utils import timezone

from conversations.models import Batch, ModelCall, ToolExecution
from fcstudio import audit
from fcstudio.models import AuditEvent, object_type_name

URL = "/t/acme/audit/"


def test_a_model_label_reads_as_its_verbose_name():
    assert object_type_name("fcstudio.membership") == "membership"
    assert object_type_name("conversations.toolexecution") == "tool execution"
    assert object_type_name("conversations.apitoken") == "API token"
    assert object_type_name("tools_app.toolversion") == "tool version"
    # A row outlives its model: the stored label, rather than nothing.
    assert object_type_name("gone.widget") == "gone.widget"
    assert object_type_name("") == ""


def test_the_object_column_shows_product_words(people, team, provider):
    membership = team.memberships.get(user=people.editor)
    audit.record(team, audit.Kind.MEMBER_ROLE, people.admin, membership)
    execution_row = AuditEvent.objects.create(
        team=team,
        at=AuditEvent.objects.get().at,
        kind=audit.Kind.TOOL_EXECUTE,
        object_type="conversations.toolexecution",
        object_label="get_weather #1",
    )
    page = people.client_for("admin").get(URL).content.decode()
    assert '<span class="muted small object-type">membership</span>' in page
    assert '<span class="muted small object-type">tool execution</span>' in page
    assert "fcstudio.membership" not in page and "conversations.toolexecution" not in page
    assert people.client_for("outsider").get(URL).status_code == 404
    filtered = people.client_for("admin").get(URL, {"object": "tool exec"}).content.decode()
    assert execution_row.object_label in filtered and 'object-type">membership' not in filtered


def test_a_model_call_and_a_call_read_as_the_pages_name_them(people, team, provider):
    conversation = team.conversations.create(provider=provider, model="m")
    call = ModelCall.objects.create(
        conversation=conversation, round=0, request={}, started_at=timezone.now()
    )
    audit.record(team, audit.Kind.PROXY_EXCHANGE, "token:agent", call)
    batch = Batch.objects.create(
        team=team, conversation=conversation, source="conversation", strategy="asyncio", round=0
    )
    outcomes = [("ok", ""), ("error", "DENIED"), ("error", "CANCELLED"), ("error", "TIMEOUT")]
    for position, (status, code) in enumerate(outcomes):
        ToolExecution.objects.create(
            batch=batch,
            position=position,
            tool_call_id=f"call_{position}",
            tool_name="get_weather",
            status=status,
            error_code=code,
        )
    audit.record_executions(batch)

    labels = AuditEvent.objects.filter(kind=audit.Kind.TOOL_EXECUTE).order_by("pk")
    assert [event.object_label for event in labels] == [
        "get_weather (call_0): OK",
        "get_weather (call_1): DENIED",
        "get_weather (call_2): CANCELLED",
        "get_weather (call_3): TIMEOUT",
    ]
    exchange = AuditEvent.objects.get(kind=audit.Kind.PROXY_EXCHANGE)
    assert exchange.object_label == "round 1"
    page = people.client_for("admin").get(URL).content.decode()
    assert "round 1" in page and '<span class="muted small object-type">model call</span>' in page
    assert "Model call, round" not in page and "round 0" not in page
    assert ": error" not in page and ": ok" not in page
    assert people.client_for("outsider").get(URL).status_code == 404
