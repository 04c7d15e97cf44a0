"""Teams and their members' roles: who may see and change a team's catalogs and conversations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.conf import settings
from django.db import models

from tools_app.engine.untrusted import UntrustedJSONDecoder, UntrustedJSONEncoder

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    EDITOR = "editor", "Editor"
    ADMIN = "admin", "Admin"


ROLE_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.ADMIN: 3}


class Team(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    members: models.ManyToManyField[User, Membership] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team")
        ]
        ordering = ["team", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} as {self.role}"

    def allows(self, role: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(role)]


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    """Audit rows are appended, never changed: bulk updates and deletes are refused too.

    A team's deletion still removes its rows (a cascade deletes below the QuerySet API), and
    a deleted user's rows keep their `actor_label` while `actor_user` becomes null.
    """

    def update(self, **kwargs: object) -> int:
        raise AuditEventImmutable("Audit events are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditEventImmutable("Audit events are append-only.")


class AuditEventImmutable(Exception):
    """Someone tried to change or delete an audit event."""


def object_type_name(label: str) -> str:
    """What a person calls an audited object's kind: its model's verbose name ("tool
    execution" for `conversations.toolexecution`), or the label itself once no model has it."""
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return label
    return str(model._meta.verbose_name)


class AuditEvent(models.Model):
    """One thing that happened in a team, by whom, to what (see fcstudio.audit).

    The actor is a signed-in person (`actor_user`, with their username kept in `actor_label`)
    or something else named only by `actor_label`: an API token ("token:<name>"), a model run
    ("run"), the system. The object is named by its model label, primary key and a label, so a
    row stays readable after the object is gone.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="audit_events")
    at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=40, db_index=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_events",
    )
    actor_label = models.CharField(max_length=150, blank=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.BigIntegerField(null=True, blank=True)
    object_label = models.CharField(max_length=200, blank=True)
    details = models.JSONField(
        default=dict, blank=True, encoder=UntrustedJSONEncoder, decoder=UntrustedJSONDecoder
    )

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["team", "-at"], name="audit_team_at")]

    def __str__(self) -> str:
        return f"{self.kind} by {self.actor_label or 'system'} at {self.at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditEventImmutable("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditEventImmutable("Audit events are append-only.")

    @property
    def object_type_name(self) -> str:
        return object_type_name(self.object_type)
