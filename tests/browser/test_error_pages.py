"""A person who may not do something, or who follows a dead link, lands on a page of the studio."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS


def test_a_viewer_opening_new_tool_reads_which_role_it_needs_and_goes_back(log_in, people, catalog):
    page = log_in(people.viewer)
    response = page.goto("/t/acme/c/travel/new/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_text("This needs the editor role in Acme.")).to_be_visible()
    expect(page.locator(".topbar")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "error-403.png"), full_page=True)
    page.get_by_role("link", name="Back to the team").click()
    expect(page.get_by_role("heading", name="Acme")).to_be_visible()


def test_a_dead_link_says_nothing_is_here_and_leads_home(log_in, people, catalog):
    page = log_in(people.editor)
    response = page.goto("/t/acme/c/travel/tools/no_such_tool/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Nothing here")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "error-404.png"), full_page=True)
    page.get_by_role("link", name="Back to the dashboard").click()
    expect(page.get_by_role("heading", name="Your teams")).to_be_visible()
