"""Team admins add members and change or remove their roles; a team keeps one admin."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from fcstudio import members
from fcstudio.forms import RoleForm
from fcstudio.models import Membership, Role

TEAM = "/t/acme/"


def member_url(membership) -> str:
    return f"/t/acme/members/{membership.pk}/"


def test_the_team_page_lists_members_and_catalogs(people, catalog):
    page = people.client_for("viewer").get(TEAM).content.decode()
    for name in ("ada", "eddie", "vera", "Travel"):
        assert name in page
    assert "otto" not in page
    assert "Add a member" not in page


def test_an_admin_adds_a_member_with_a_role(people, team):
    newcomer = get_user_model().objects.create_user("nina")
    response = people.client_for("admin").post(TEAM, {"username": "nina", "role": "editor"})
    assert response.status_code == 302
    assert Membership.objects.get(team=team, user=newcomer).role == Role.EDITOR


def test_adding_an_unknown_user_says_so(people, team):
    response = people.client_for("admin").post(TEAM, {"username": "ghost", "role": "viewer"})
    assert "There is no user “ghost”." in response.content.decode()
    assert team.memberships.count() == 3


def test_an_admin_changes_and_removes_roles(people, team):
    client = people.client_for("admin")
    vera = people.viewer.memberships.get()
    client.post(member_url(vera), {"role": "editor"})
    vera.refresh_from_db()
    assert vera.role == Role.EDITOR
    client.post(member_url(vera), {"role": "remove"})
    assert not Membership.objects.filter(pk=vera.pk).exists()


def test_the_last_admin_cannot_step_down(people, team):
    ada = people.admin.memberships.get()
    response = people.client_for("admin").post(member_url(ada), {"role": "viewer"}, follow=True)
    assert "A team keeps at least one admin." in response.content.decode()
    ada.refresh_from_db()
    assert ada.role == Role.ADMIN


def test_the_last_admin_cannot_step_down_through_the_add_member_form(people, team):
    ada = people.admin.memberships.get()
    response = people.client_for("admin").post(TEAM, {"username": "ada", "role": "viewer"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"role": ["A team keeps at least one admin."]}
    assert "A team keeps at least one admin." in response.content.decode()
    ada.refresh_from_db()
    assert ada.role == Role.ADMIN


def test_an_admin_steps_down_through_the_add_member_form_once_another_is_admin(people, team):
    people.editor.memberships.update(role=Role.ADMIN)
    response = people.client_for("admin").post(TEAM, {"username": "ada", "role": "editor"})
    assert response.status_code == 302
    assert people.admin.memberships.get().role == Role.EDITOR


def test_an_invalid_role_changes_nothing(people, team):
    vera = people.viewer.memberships.get()
    people.client_for("admin").post(member_url(vera), {"role": "owner"})
    vera.refresh_from_db()
    assert vera.role == Role.VIEWER


def test_a_membership_of_another_team_is_a_404(people, team):
    otto = people.outsider.memberships.get()
    response = people.client_for("admin").post(member_url(otto), {"role": "viewer"})
    assert response.status_code == 404


def test_two_admins_demoting_each_other_at_once_leave_one_admin(people, team):
    """Both forms' checks pass (each sees two admins); the changes are then taken one after the
    other, under a lock on the team, and the second is refused."""
    other = get_user_model().objects.create_user("second-admin")
    second = Membership.objects.create(team=team, user=other, role=Role.ADMIN)
    first = Membership.objects.get(team=team, user=people.admin)
    forms = [RoleForm({"role": Role.VIEWER}, membership=m) for m in (first, second)]
    assert all(form.is_valid() for form in forms)
    members.set_role(second, Role.VIEWER, actor=people.admin)
    with pytest.raises(members.LastAdmin) as refused:
        members.set_role(first, Role.VIEWER, actor=other)
    assert str(refused.value) == "A team keeps at least one admin."
    with pytest.raises(members.LastAdmin):
        members.remove_member(first, actor=other)
    admins = Membership.objects.filter(team=team, role=Role.ADMIN)
    assert list(admins.values_list("user__username", flat=True)) == [people.admin.username]
