"""A team's members: adding people, changing their role, removing them (each one audited).

Views and the admin page's forms call these; fcstudio.access tells the person's open sockets.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from . import audit
from .models import Membership, Role, Team

LAST_ADMIN = "A team keeps at least one admin."


def leaves_no_admin(team: Team, user_id: int, role: str) -> bool:
    """Whether giving the member `user_id` the role `role` (any but admin, or removing them)
    would leave `team` without an admin: the rule every form changing a role checks."""
    if role == Role.ADMIN:
        return False
    admins = team.memberships.filter(role=Role.ADMIN).values_list("user_id", flat=True)[:2]
    return list(admins) == [user_id]


class LastAdmin(Exception):
    """The change would leave the team without an admin (`LAST_ADMIN`)."""


def _keep_an_admin(team_id: int, user_id: int, role: str) -> None:
    """The forms' check again, under a lock on the team's row: two admins demoting each other
    at once are taken one after the other, and the second is refused."""
    team = Team.objects.select_for_update().get(pk=team_id)
    if leaves_no_admin(team, user_id, role):
        raise LastAdmin(LAST_ADMIN)


@transaction.atomic
def add_or_set_member(team: Team, user: Any, role: str, *, actor: Any) -> tuple[Membership, bool]:
    """Add `user` to the team as `role`, or set their role when they are in it; (row, added).
    Raises `LastAdmin` rather than leave the team without one."""
    _keep_an_admin(team.pk, user.pk, role)
    before = Membership.objects.filter(team=team, user=user).values_list("role", flat=True).first()
    membership, created = Membership.objects.update_or_create(
        team=team, user=user, defaults={"role": role}
    )
    if created:
        audit.record(team, audit.Kind.MEMBER_ADD, actor, membership, {"role": role})
    elif before != role:
        details = {"from": before, "to": role}
        audit.record(team, audit.Kind.MEMBER_ROLE, actor, membership, details)
    return membership, created


@transaction.atomic
def set_role(membership: Membership, role: str, *, actor: Any) -> None:
    """Raises `LastAdmin` rather than leave the team without one."""
    _keep_an_admin(membership.team_id, membership.user_id, role)
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    if before != role:
        details = {"from": before, "to": role}
        audit.record(membership.team_id, audit.Kind.MEMBER_ROLE, actor, membership, details)


@transaction.atomic
def remove_member(membership: Membership, *, actor: Any) -> None:
    """Raises `LastAdmin` rather than leave the team without one."""
    _keep_an_admin(membership.team_id, membership.user_id, "remove")
    details = {"role": membership.role, "user": membership.user.get_username()}
    audit.record(membership.team_id, audit.Kind.MEMBER_REMOVE, actor, membership, details)
    membership.delete()
