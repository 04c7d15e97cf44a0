"""The audit trail: one append-only row per change, written where the change is made."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from conversations.models import Batch, Conversation, ToolExecution
from fcstudio.models import AuditEvent, AuditEventImmutable, Membership
from tests.conftest import PASSWORD
from tests.support.openai_server import Reply

TOOL = "/t/acme/c/travel/tools/get_weather/"


def kinds(**filters) -> list[str]:
    return list(AuditEvent.objects.filter(**filters).order_by("pk").values_list("kind", flat=True))


def latest(kind: str) -> AuditEvent:
    return AuditEvent.objects.filter(kind=kind).latest("pk")


def test_tool_and_catalog_changes_are_recorded_with_their_actor(people, catalog):
    editor, admin = people.client_for("editor"), people.client_for("admin")
    editor.post("/t/acme/catalogs/new/", {"name": "Maps", "slug": "maps"})
    editor.post("/t/acme/c/maps/settings/", {"name": "Maps and places", "slug": "maps"})
    form = {
        "name": "geocode",
        "description": "Coordinates of a place.",
        "parameters": json.dumps({"type": "object", "properties": {"q": {"type": "string"}}}),
        "implementation_kind": "mock",
        "mock_response": "{}",
        "mock_latency_ms": "0",
        "http_method": "POST",
        "timeout_s": "10",
        "retries": "0",
    }
    editor.post("/t/acme/c/maps/new/", form)
    editor.post("/t/acme/c/maps/tools/geocode/", {**form, "description": "Where a place is."})
    editor.post("/t/acme/c/maps/import/", {"text": json.dumps([{"name": "route"}])})
    editor.post("/t/acme/c/maps/tools/geocode/delete/")
    admin.post("/t/acme/c/maps/delete/")
    assert kinds(kind__startswith="catalog.") + kinds(object_label="geocode") == [
        "catalog.create",
        "catalog.edit",
        "catalog.import",
        "catalog.delete",
        "tool.create",
        "tool.edit",
        "tool.delete",
    ]
    created = AuditEvent.objects.get(kind="tool.create")
    assert (created.actor_user, created.object_type, created.object_label) == (
        people.editor,
        "tools_app.tool",
        "geocode",
    )
    assert latest("catalog.import").details == {
        "imported": 1,
        "normalised": 1,  # the missing parameters
        "rejected": 0,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
    }
    assert latest("catalog.delete").actor_user == people.admin


def test_provider_changes_and_key_rotation_never_store_the_key(people, model_server):
    admin = people.client_for("admin")
    fields = {"name": "Local", "base_url": model_server.base_url, "default_model": "m"}
    admin.post("/t/acme/providers/", {**fields, "timeout_s": "5", "api_key": "sk-first-111111"})
    provider_id = AuditEvent.objects.get(kind="provider.create").object_id
    admin.post(f"/t/acme/providers/{provider_id}/", {**fields, "timeout_s": "9", "api_key": ""})
    admin.post(
        f"/t/acme/providers/{provider_id}/",
        {**fields, "timeout_s": "9", "api_key": "sk-second-222222"},
    )
    assert kinds(object_type="conversations.provider") == [
        "provider.create",
        "provider.edit",
        "provider.edit",
        "provider.key_rotate",
    ]
    stored = json.dumps(list(AuditEvent.objects.values()), default=str)
    assert "111111" not in stored and "222222" not in stored


def test_membership_changes_are_recorded(people, team):
    admin = people.client_for("admin")
    admin.post("/t/acme/", {"username": "otto", "role": "viewer"})
    membership = Membership.objects.get(team=team, user=people.outsider)
    admin.post(f"/t/acme/members/{membership.pk}/", {"role": "editor"})
    admin.post(f"/t/acme/members/{membership.pk}/", {"role": "remove"})
    assert kinds(object_type="fcstudio.membership") == [
        "member.add",
        "member.role",
        "member.remove",
    ]
    assert latest("member.role").details == {"from": "viewer", "to": "editor"}
    assert latest("member.remove").details == {"role": "editor", "user": "otto"}


def test_log_ins_and_failed_log_ins_are_recorded_in_the_persons_teams(people):
    client = Client()
    assert client.post("/accounts/login/", {"username": "vera", "password": "wrong"}).status_code
    assert client.post("/accounts/login/", {"username": "vera", "password": PASSWORD})
    assert client.post("/accounts/login/", {"username": "nobody", "password": "x"})
    assert kinds(actor_label="vera") == ["login.failed", "login"]
    stored = json.dumps(list(AuditEvent.objects.values()), default=str)
    assert "wrong" not in stored and "nobody" not in stored


def test_runs_started_stopped_and_calls_executed_are_recorded(people, provider, tool, model_server):
    model_server.script(
        Reply(tool_calls=[{"id": "c1", "name": "get_weather", "arguments": '{"city": "Oslo"}'}]),
        Reply(content="Sunny."),
    )
    editor = people.client_for("editor")
    editor.post(
        "/t/acme/conversations/new/",
        {
            "provider": str(provider.pk),
            "user": "Weather in Oslo?",
            "tools": [str(tool.pk)],
            "tool_choice": "auto",
            "strategy": "asyncio",
            "max_rounds": "4",
            "run": "1",
        },
    )
    conversation = Conversation.objects.get()
    editor.post(f"/t/acme/conversations/{conversation.pk}/stop/")
    assert kinds(kind__startswith="run.") == ["run.start", "run.stop"]
    assert latest("run.start").actor_user == people.editor
    executed = latest("tool.execute")
    assert executed.actor_label == f"run of conversation {conversation.pk}"
    assert executed.details == {
        "approval": "",
        "arguments": {"city": "Oslo"},
        "batch": Batch.objects.get().pk,
        "conversation": conversation.pk,
        "error_code": "",
        "source": "conversation",
        "status": "ok",
        "tool": "get_weather",
        "tool_call_id": "c1",
        "tool_version": 1,
    }


def test_try_it_is_recorded_as_the_persons_execution(people, tool):
    people.client_for("editor").post(TOOL + "try/", {"arguments": '{"city": "Lima"}'})
    executed = latest("tool.execute")
    assert (executed.actor_user, executed.details["source"]) == (people.editor, "try")


def test_approvals_and_denials_are_recorded(people, provider, tool):
    conversation = Conversation.objects.create(team=provider.team, provider=provider, model="m")
    batch = Batch.objects.create(
        team=provider.team, conversation=conversation, source="conversation", strategy="asyncio"
    )
    url = f"/t/acme/conversations/{conversation.pk}/calls/{{}}/decide/"
    editor = people.client_for("editor")
    for position, decision in enumerate(["approved", "denied"]):
        waiting = ToolExecution.objects.create(
            batch=batch, position=position, tool_call_id=f"c{position}", approval="pending"
        )
        editor.post(url.format(waiting.pk), {"decision": decision})
        editor.post(url.format(waiting.pk), {"decision": decision})  # no longer waiting
    assert kinds(kind__startswith="call.") == ["call.approve", "call.deny"]


def test_rows_cannot_be_changed_or_deleted(people, tool):
    event = AuditEvent.objects.get(kind="tool.create")
    event.kind = "tool.delete"
    with pytest.raises(AuditEventImmutable):
        event.save()
    with pytest.raises(AuditEventImmutable):
        event.delete()
    with pytest.raises(AuditEventImmutable):
        AuditEvent.objects.filter(pk=event.pk).update(kind="x")
    with pytest.raises(AuditEventImmutable):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).kind == "tool.create"


def test_a_deleted_person_stays_named_in_the_trail(people, tool):
    get_user_model().objects.filter(pk=people.editor.pk).delete()
    event = AuditEvent.objects.get(kind="tool.create")
    assert (event.actor_user, event.actor_label) == (None, "eddie")
