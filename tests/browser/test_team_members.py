"""A team admin brings a colleague in and changes what they may do."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from fcstudio.models import Membership


def test_an_admin_adds_a_member_and_promotes_them(log_in, people, team):
    get_user_model().objects.create_user("nina")
    page = log_in(people.admin)
    page.goto("/")
    page.get_by_role("link", name="Acme").first.click()
    page.get_by_label("Username").fill("nina")
    page.get_by_label("Role", exact=True).select_option("viewer")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_text("nina added as viewer.")).to_be_visible()

    page.get_by_label("Role of nina").select_option("editor")
    page.locator("tr", has_text="nina").get_by_role("button", name="Change").click()
    expect(page.get_by_text("nina is now editor.")).to_be_visible()
    assert Membership.objects.get(user__username="nina").role == "editor"


def test_the_last_admin_cannot_step_down_by_adding_themselves_again(log_in, people, team):
    page = log_in(people.admin)
    page.goto("/t/acme/")
    page.get_by_label("Username").fill(people.admin.username)
    page.get_by_label("Role", exact=True).select_option("viewer")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_text("A team keeps at least one admin.")).to_be_visible()
    assert Membership.objects.get(user=people.admin, team=team).role == "admin"
