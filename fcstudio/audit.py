"""The audit trail: `record` appends one AuditEvent; the domain functions call it.

Hooks sit where a change is made (tools_app.catalog, conversations.providers, fcstudio.members,
conversations.dispatch, conversations.recording), never in views or templates, so a change made
from a page, a command or a worker is recorded alike. Details are redacted here
(fcstudio.redaction) before they are stored: a row never holds a secret, not even an API key
being rotated (only that it was).

The actor is a person (a User), or anything else named by its text: an API token's
`str()` ("token:<name>"), "run" for a model's run. Nothing here raises into its caller's
flow for a missing team: events without a team are not recorded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db import models
from django.db.models import Q, QuerySet
from django.dispatch import receiver
from django.utils import timezone

from .models import AuditEvent, Team, object_type_name
from .redaction import redact, redact_arguments

ARGUMENTS_SUMMARY_CHARS = 2000


class Kind(models.TextChoices):
    CATALOG_CREATE = "catalog.create", "Catalog created"
    CATALOG_EDIT = "catalog.edit", "Catalog edited"
    CATALOG_DELETE = "catalog.delete", "Catalog deleted"
    CATALOG_IMPORT = "catalog.import", "Tools imported"
    TOOL_CREATE = "tool.create", "Tool created"
    TOOL_EDIT = "tool.edit", "Tool edited"
    TOOL_DELETE = "tool.delete", "Tool deleted"
    TOOL_EXECUTE = "tool.execute", "Tool executed"
    PROVIDER_CREATE = "provider.create", "Provider created"
    PROVIDER_EDIT = "provider.edit", "Provider edited"
    PROVIDER_KEY_ROTATE = "provider.key_rotate", "Provider key rotated"
    MEMBER_ADD = "member.add", "Member added"
    MEMBER_ROLE = "member.role", "Member role changed"
    MEMBER_REMOVE = "member.remove", "Member removed"
    LOGIN = "login", "Logged in"
    LOGIN_FAILED = "login.failed", "Log-in failed"
    RUN_START = "run.start", "Run started"
    RUN_STOP = "run.stop", "Run stopped"
    CALL_APPROVE = "call.approve", "Call approved"
    CALL_DENY = "call.deny", "Call denied"
    PROXY_EXCHANGE = "proxy.exchange", "Exchange proxied"
    TOKEN_CREATE = "token.create", "API token created"
    TOKEN_REVOKE = "token.revoke", "API token revoked"


def actor_fields(actor: Any) -> dict[str, Any]:
    if actor is None:
        return {"actor_user": None, "actor_label": ""}
    if hasattr(actor, "is_authenticated"):  # a User, or AnonymousUser
        if actor.is_authenticated:
            return {"actor_user": actor, "actor_label": actor.get_username()[:150]}
        return {"actor_user": None, "actor_label": "anonymous"}
    return {"actor_user": None, "actor_label": str(actor)[:150]}


def object_fields(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {"object_type": "", "object_id": None, "object_label": ""}
    return {
        "object_type": obj._meta.label_lower,
        "object_id": obj.pk,
        "object_label": str(obj)[:200],
    }


def record(
    team: Team | int | None,
    kind: str,
    actor: Any = None,
    obj: Any = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent | None:
    """Append one event to the team's trail (its details redacted)."""
    if team is None:
        return None
    team_field: dict[str, Any] = {"team_id": team} if isinstance(team, int) else {"team": team}
    return AuditEvent.objects.create(
        **team_field,
        at=timezone.now(),
        kind=kind,
        **actor_fields(actor),
        **object_fields(obj),
        details=redact(details or {}),
    )


def record_executions(batch: Any) -> None:
    """One `tool.execute` event per call of a finished (or closed) batch: who ran it, in which
    conversation, which tool version, the outcome and its redacted arguments."""
    batch = type(batch).objects.select_related("conversation", "created_by").get(pk=batch.pk)
    if batch.created_by is not None:
        actor: Any = batch.created_by
    elif batch.conversation is not None:
        actor = f"run of conversation {batch.conversation_id}"
    else:
        actor = None
    now = timezone.now()
    rows = [
        AuditEvent(
            team_id=batch.team_id,
            at=now,
            kind=Kind.TOOL_EXECUTE,
            **actor_fields(actor),
            **object_fields(execution),
            details=execution_details(batch, execution),
        )
        for execution in batch.executions.select_related("tool_version").order_by("position")
    ]
    AuditEvent.objects.bulk_create(rows)


def execution_details(batch: Any, execution: Any) -> dict[str, Any]:
    version = execution.tool_version
    schema = version.snapshot.get("parameters") if version is not None else None
    summary = redact_arguments(execution.raw_arguments or "", schema)
    arguments: Any = summary[:ARGUMENTS_SUMMARY_CHARS]
    if len(summary) <= ARGUMENTS_SUMMARY_CHARS and summary.startswith(("{", "[")):
        arguments = json.loads(summary)  # shown as the object it is, redacted
    return redact(
        {
            "batch": batch.pk,
            "source": batch.source,
            "conversation": batch.conversation_id,
            "tool": execution.tool_name,
            "tool_version": version.number if version is not None else None,
            "tool_call_id": execution.tool_call_id,
            "status": execution.status,
            "error_code": execution.error_code,
            "approval": execution.approval,
            "arguments": arguments,
        }
    )


def record_login(user: Any, kind: str, details: dict[str, Any] | None = None) -> None:
    """Log-ins are a person's, not a team's: recorded in every team the person is in."""
    for team_id in user.memberships.values_list("team_id", flat=True):
        record(team_id, kind, user, None, details)


def kinds() -> Iterable[tuple[str, str]]:
    return Kind.choices


@receiver(user_logged_in)
def logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record_login(user, Kind.LOGIN)


@receiver(user_login_failed)
def login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any) -> None:
    """A failed log-in for a name that is a user's goes in that user's teams' trails; names
    that are nobody's are left to the log-in throttle (fcstudio.login_throttle)."""
    field = get_user_model().USERNAME_FIELD
    name = credentials.get(field)
    user = get_user_model()._default_manager.filter(**{field: name}).first() if name else None
    if user is not None:
        record_login(user, Kind.LOGIN_FAILED)


def events_for(
    team: Team,
    *,
    actor: str = "",
    kind: str = "",
    obj: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    """The team's events, newest first, narrowed by whichever filters are given.

    `actor` matches the actor's name in part; `obj` the object's label or its type, in part,
    as the page names it ("tool execution") or as stored ("conversations.toolexecution").
    """
    events = AuditEvent.objects.filter(team=team)
    if actor:
        events = events.filter(actor_label__icontains=actor)
    if kind:
        events = events.filter(kind=kind)
    if obj:
        named = [
            model._meta.label_lower
            for model in apps.get_models()
            if obj.casefold() in object_type_name(model._meta.label_lower).casefold()
        ]
        events = events.filter(
            Q(object_label__icontains=obj)
            | Q(object_type__icontains=obj)
            | Q(object_type__in=named)
        )
    if since is not None:
        events = events.filter(at__gte=since)
    if until is not None:
        events = events.filter(at__lt=until)
    return events


def as_row(event: AuditEvent) -> dict[str, Any]:
    """An event as exported (export_audit): plain JSON values, details already redacted."""
    return {
        "at": event.at.isoformat(),
        "kind": event.kind,
        "actor": event.actor_label,
        "actor_user_id": event.actor_user_id,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object": event.object_label,
        "details": event.details,
    }
