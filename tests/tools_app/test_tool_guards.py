"""Argument guards: set in the editor, frozen in versions and bundles, enforced on every call."""

from __future__ import annotations

import io
import json

from django.core.management import call_command

from conversations.execution import run_batch
from conversations.models import Conversation, ToolExecution
from tests.support.openai_server import Reply
from tools_app import catalog as catalog_ops
from tools_app.engine import ToolCall
from tools_app.models import Catalog, Tool
from tools_app.runtime import spec_for

EDIT = "/t/acme/c/travel/tools/get_weather/"
GUARDS = [{"kind": "path", "pointer": "/city"}, {"kind": "control_chars"}]


def form_data(**overrides: str) -> dict[str, str]:
    data = {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": json.dumps({"type": "object", "properties": {"city": {"type": "string"}}}),
        "implementation_kind": "mock",
        "mock_latency_ms": "10",
        "http_method": "POST",
        "timeout_s": "10",
        "retries": "0",
    }
    data.update(overrides)
    return data


def guarded(tool: Tool, guards: list = GUARDS) -> Tool:
    tool.guards = guards
    catalog_ops.save_tool(tool, message="guards")
    return tool


def test_the_editor_saves_guards_into_a_new_version(people, tool):
    response = people.client_for("editor").post(EDIT, form_data(guards=json.dumps(GUARDS)))
    assert response.status_code == 302
    tool.refresh_from_db()
    assert tool.guards == GUARDS and tool.version == 2
    assert tool.versions.first().snapshot["guards"] == GUARDS
    page = people.client_for("viewer").get(EDIT).content.decode()
    assert "&quot;kind&quot;: &quot;path&quot;" in page  # shown back in the textarea


def test_bad_guards_are_refused_with_the_reason_and_nothing_is_saved(people, tool):
    bad = json.dumps([{"kind": "pattern", "pointer": "/city", "deny": "(a)\\1"}])
    response = people.client_for("editor").post(EDIT, form_data(guards=bad))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Guards: guard 1 (pattern): deny pattern" in page
    assert "is not a linear-time (RE2) pattern" in page
    response = people.client_for("editor").post(EDIT, form_data(guards="[{"))
    assert "Guards: Not valid JSON" in response.content.decode()
    tool.refresh_from_db()
    assert tool.version == 1 and tool.guards == []


def test_spec_for_compiles_the_guards_and_old_versions_have_none(tool):
    assert spec_for(tool.versions.get()).guards is None
    guarded(tool)
    spec = spec_for(tool.versions.first())
    assert [guard.kind for guard in spec.guards.guards] == ["path", "control_chars"]


def test_a_version_with_unreadable_guards_fails_its_calls_closed(people, team, tool):
    version = tool.versions.get()
    version.snapshot["guards"] = [{"kind": "nope"}]
    version.save()
    batch = run_batch(
        team=team, tools=[tool], calls=[ToolCall("c1", "get_weather", '{"city": "Oslo"}')]
    )
    [execution] = batch.executions.all()
    assert execution.error_code == "EXECUTION_ERROR"
    assert "argument guards are unusable: guard 1: unknown kind 'nope'" in execution.error_message


def test_a_guarded_call_is_denied_and_recorded_beside_a_healthy_one(people, team, tool):
    guarded(tool)
    batch = run_batch(
        team=team,
        tools=[tool],
        calls=[
            ToolCall("ok", "get_weather", '{"city": "Oslo"}'),
            ToolCall("bad", "get_weather", '{"city": "../../etc/passwd"}'),
        ],
    )
    healthy, denied = batch.executions.all()
    assert healthy.status == "ok" and healthy.attempts == 1
    assert (denied.status, denied.error_code, denied.attempts) == ("error", "DENIED", 0)
    assert denied.started_ms is None
    assert denied.error_message == (
        "refused by the path guard at /city: the path climbs out of its directory with a '..' "
        "segment"
    )
    assert denied.error_details == {
        "guard": "path",
        "pointer": "/city",
        "guard_pointer": "/city",
        "reason": "the path climbs out of its directory with a '..' segment",
    }
    assert json.loads(denied.content)["error"]["details"]["guard"] == "path"
    timeline = people.client_for("viewer").get(f"/t/acme/batches/{batch.pk}/").content.decode()
    assert "refused by the path guard at /city" in timeline


def test_a_conversation_round_denies_the_guarded_call_and_runs_the_other(
    provider, tool, model_server
):
    guarded(tool)
    model_server.script(
        Reply(
            tool_calls=[
                {"id": "call_a", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
                {"id": "call_b", "name": "get_weather", "arguments": '{"city": "Ro\\u0000me"}'},
            ]
        ),
        Reply(content="Oslo is sunny; I could not check the other one."),
    )
    out = io.StringIO()
    call_command(
        "converse", "--provider=Scripted", "--catalog=travel", "--prompt=Weather?", stdout=out
    )
    assert "final answer: Oslo is sunny" in out.getvalue()
    conversation = Conversation.objects.get()
    executions = ToolExecution.objects.filter(batch__conversation=conversation).order_by("position")
    assert [(e.tool_call_id, e.status, e.error_code) for e in executions] == [
        ("call_a", "ok", ""),
        ("call_b", "error", "DENIED"),
    ]
    assert executions[1].error_details["guard"] == "control_chars"
    assert executions[1].error_details["reason"] == "control character NUL"
    # the model was told, in the tool message of the second round
    sent = model_server.requests[-1]["body"]["messages"]
    denied = [m for m in sent if m.get("tool_call_id") == "call_b"]
    assert json.loads(denied[0]["content"])["error"]["code"] == "DENIED"


def test_guards_travel_in_bundles_but_never_in_the_openai_tools_export(tool, team):
    guarded(tool)
    bundle = catalog_ops.export_bundle(tool.catalog)
    assert bundle["tools"][0]["guards"] == GUARDS
    assert "guards" not in json.dumps(catalog_ops.export_openai(tool.catalog))
    copy = Catalog.objects.create(team=team, name="Copy", slug="copy")
    catalog_ops.import_text(copy, json.dumps(bundle))
    copied = copy.tools.get()
    assert copied.guards == GUARDS
    assert copied.versions.order_by("-number").first().snapshot["guards"] == GUARDS
    bundle["tools"][0]["guards"] = [{"kind": "max_length"}]
    report = catalog_ops.import_text(copy, json.dumps(bundle))
    assert report.rejected[0].reason == "`guards`: guard 1 (max_length): 'max' is required"


def test_a_version_saved_before_guards_existed_is_not_a_change(tool):
    version = tool.versions.get()
    version.snapshot.pop("guards")
    version.save()
    assert catalog_ops.save_tool(tool) is None
