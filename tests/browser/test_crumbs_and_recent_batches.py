"""A person finds their way back up from a batch, and reads Try it runs among recent batches."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.test_batch_lab import slow_tool


def test_from_a_batch_back_to_the_lab_and_its_recent_try_it_run(log_in, people, catalog):
    slow_tool(catalog)
    page = log_in(people.editor)
    page.goto("/t/acme/c/travel/tools/lookup_order/")
    page.locator("#try-it").get_by_label("order").fill("42")
    page.locator("#try-it").get_by_role("button", name="Run call").click()
    page.locator("#try-result").get_by_role("link", name="record").click()

    expect(page).to_have_url(re.compile(r"/t/acme/batches/\d+/$"))
    page.locator(".crumbs").get_by_role("link", name="batches").click()
    expect(page.get_by_role("heading", name="Batch lab")).to_be_visible()
    run = page.locator("#recent-batches li")
    expect(run).to_have_count(1)
    expect(run).to_contain_text("Try it lookup_order")
    expect(run).to_have_text(re.compile(r"\d+(\.\d+)? ms\s*$"))
    expect(run).not_to_contain_text("\u00d7")

    page.locator(".crumbs").get_by_role("link", name="Travel").click()
    page.locator(".crumbs").get_by_role("link", name="catalogs").click()
    expect(page.get_by_role("heading", name="Catalogs")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/t/acme/#catalogs$"))
