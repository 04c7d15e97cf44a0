"""Token names are chosen by people and can be long: the tokens page refuses one over 100
characters saying so, and a 100-character name wraps instead of pushing the Provider, Created
and Revoke columns out of view."""

from __future__ import annotations

from playwright.sync_api import expect

from conversations.models import ApiToken
from conversations.tokens import create_token
from tests.browser.conftest import table_fit

LONG = "support_bot_for_the_staging_environment_of_the_northern_region_" * 3  # no space to wrap at


def test_a_name_too_long_is_refused_with_its_length(page, log_in, people, provider):
    log_in(people.admin)
    page.goto("/t/acme/tokens/")
    expect(page.get_by_text("at most 100 characters")).to_be_visible()
    page.get_by_label("Name").fill(LONG[:144])
    page.get_by_label("Provider").select_option(label="Scripted")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator(".errorlist")).to_contain_text("at most 100 characters (it has 144)")
    expect(page.locator("#new-token")).to_have_count(0)
    expect(page.get_by_label("Name")).to_have_value(LONG[:144])
    assert not ApiToken.objects.exists()


def test_a_long_name_wraps_and_keeps_every_column_in_view(page, log_in, people, team, provider):
    create_token(team, provider, name=LONG[:100])
    log_in(people.admin)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/t/acme/tokens/")
    revoke = page.locator("#api-tokens").get_by_role("button", name="Revoke")
    expect(revoke).to_be_in_viewport()
    overflow, name_lines = table_fit(page, "#api-tokens", "#api-tokens td.long-name")
    assert overflow <= 0, f"the tokens table scrolls sideways by {overflow} px"
    assert name_lines >= 2
    for column in ("Provider", "Created"):
        expect(
            page.locator("#api-tokens").get_by_role("columnheader", name=column)
        ).to_be_in_viewport()
