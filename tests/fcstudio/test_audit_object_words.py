"""The audit page names each object's kind in the product's words ("membership", "tool
execution", "API token"), not as a model label, and its Object filter takes those words too."""

from __future__ import annotations

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
