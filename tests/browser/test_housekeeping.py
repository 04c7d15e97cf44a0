"""Renaming and deleting what a team no longer needs."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from conversations import compose
from conversations.models import Conversation
from tools_app.models import Catalog


def test_rename_a_catalog_then_delete_it(log_in, people, catalog, tool):
    page = log_in(people.admin)
    page.goto("/t/acme/c/travel/")
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Name").fill("Trips")
    page.get_by_label("Slug").fill("trips")
    page.get_by_role("button", name="Save catalog").click()
    expect(page).to_have_url(re.compile(r"/t/acme/c/trips/$"))
    expect(page.get_by_role("heading", name="Trips")).to_be_visible()

    page.get_by_role("link", name="Settings").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete catalog").click()
    expect(page.get_by_text("Deleted the catalog “Trips” and its tools.")).to_be_visible()
    assert not Catalog.objects.exists()


def test_delete_a_finished_conversation(log_in, people, team, provider, tool):
    conversation = compose.create_conversation(
        team, people.editor, {"provider": provider, "user": "Old question", "tools": [tool]}
    )
    page = log_in(people.editor)
    page.goto(f"/t/acme/conversations/{conversation.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("Deleted “Old question” and its records.")).to_be_visible()
    expect(page.get_by_text("No conversations yet.")).to_be_visible()
    assert not Conversation.objects.exists()
