"""What a person sees when a request asks too much: an oversized paste, too many log-ins."""

from __future__ import annotations

import json

from django.conf import settings
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tools_app.models import Tool


def test_pasting_an_import_larger_than_allowed_is_refused_on_the_page(log_in, people, catalog):
    page = log_in(people.editor)
    page.goto(f"/t/acme/c/{catalog.slug}/import/")
    tools = [{"type": "function", "function": {"name": "a", "description": "x" * 5_500_000}}]
    page.get_by_label("Paste").fill(json.dumps(tools))
    # Chromium takes a while to encode megabytes of form data, not the server to refuse them.
    page.get_by_role("button", name="Import").click(timeout=60_000)
    expect(page.locator(".messages .error")).to_contain_text(
        "this page accepts at most 5.1 MB. Nothing was done."
    )
    expect(page).to_have_url(f"{page.url.split('/t/')[0]}/t/acme/c/{catalog.slug}/import/")
    assert not Tool.objects.exists()


def test_too_many_wrong_passwords_pause_logging_in(browser, live_url, transactional_db, people):
    # Its own browser context: the lockout page is a 429, which Chromium logs as a console
    # error, and the `page` fixture fails any test with one.
    context = browser.new_context(base_url=live_url)
    context.set_default_timeout(10_000)
    page = context.new_page()

    def log_in_as(username: str, password: str) -> None:
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()

    page.goto("/accounts/login/")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in_as("eddie", "not the password")
        expect(page.get_by_text("Please enter a correct username and password")).to_be_visible()
    log_in_as("eddie", "still not it")
    expect(page.get_by_role("heading", name="Too many failed log-ins")).to_be_visible()

    page.get_by_role("link", name="Back to log in").click()
    log_in_as("eddie", PASSWORD)
    expect(page.get_by_role("heading", name="Too many failed log-ins")).to_be_visible()
    expect(page.get_by_text("paused for 15 minutes")).to_be_visible()

    # Someone else on the same machine still logs in.
    page.get_by_role("link", name="Back to log in").click()
    log_in_as("vera", PASSWORD)
    expect(page.get_by_role("heading", name="Your teams")).to_be_visible()
    context.close()
