"""A debugger copies a round's raw response and is told it was copied, as for the request."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from conversations.management.commands.bench_pages import make_conversation
from conversations.models import ModelCall

ANSWER = {"role": "assistant", "content": "Cold in Oslo."}


def test_copy_the_response_json(log_in, people, team, live_url):
    conversation = make_conversation(team, rounds=1)
    call = ModelCall.objects.get(conversation=conversation)
    call.response = ANSWER
    call.save(update_fields=["response"])
    page = log_in(people.viewer)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_url)
    page.goto(f"/t/acme/conversations/{conversation.pk}/")
    page.locator("#round-0-model").get_by_role("link", name="Raw").click()

    response = page.locator("#raw-response")
    response.get_by_role("button", name="Copy response JSON").click()
    expect(response.get_by_role("status")).to_have_text("Copied response JSON.")
    assert json.loads(page.evaluate("navigator.clipboard.readText()")) == ANSWER
    page.screenshot(path="test-artifacts/copy-raw-response.png", full_page=True, caret="initial")
