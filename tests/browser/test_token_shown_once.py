"""An admin makes a token, copies it, and reloads the page: the reload makes no second token,
and the token is no longer on the page."""

from __future__ import annotations

from playwright.sync_api import expect

from conversations.models import ApiToken


def test_reloading_after_create_token_neither_makes_nor_shows_a_token(
    page, log_in, people, provider
):
    log_in(people.admin)
    page.goto("/t/acme/tokens/")
    page.get_by_label("Name").fill("support bot")
    page.get_by_label("Provider").select_option(label="Scripted")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token")).to_contain_text("shown only this once")
    token = page.locator("#new-token code").inner_text().strip()
    assert token.startswith("fcs_")

    page.reload()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    expect(page.locator("#api-tokens tbody tr")).to_have_count(1)
    expect(page.locator("#new-token")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text(token)
    assert ApiToken.objects.count() == 1
