"""An app sends a message with a role the upstream refuses, through the recording proxy: the
studio's recorded conversation shows what the app sent and the refusal, and its tokens as
unknown, not 0."""

from __future__ import annotations

import openai
import pytest
from playwright.sync_api import expect

from conversations.models import ModelCall
from tests.support.openai_server import Reply
from tests.support.proxy_clients import live_sdk, recorded_soon

REFUSAL = "Invalid value: 'robot'. Supported values are: 'system', 'assistant', 'user', 'tool'."


def test_a_refused_request_shows_what_was_sent_and_why(
    page, live_url, log_in, people, api_token, model_server
):
    model_server.script(Reply(status=400, content=REFUSAL))
    with pytest.raises(openai.BadRequestError):
        live_sdk(live_url, api_token).chat.completions.create(
            model="test-model",
            messages=[
                {"role": "user", "content": "Weather in Oslo?"},
                {"role": "robot", "content": "beep"},  # type: ignore[misc, list-item]
            ],
        )
    recorded_soon(lambda: ModelCall.objects.filter(ok=False).exists())

    log_in(people.viewer)
    page.goto("/t/acme/conversations/")
    row = page.locator("tr", has=page.get_by_role("link", name="Weather in Oslo?"))
    expect(row.locator(".badge.status-failed")).to_have_text("Failed")
    page.get_by_role("link", name="Weather in Oslo?").click()
    expect(page.locator("#status-badge")).to_have_text("Failed")
    expect(page.locator("#recorded")).to_contain_text("recorded through token “agent”")
    expect(page.locator("#messages .msg")).to_have_count(2)
    expect(page.locator("#messages .msg").first).to_contain_text("Weather in Oslo?")
    expect(page.locator("#messages .msg").last).to_contain_text("beep")
    expect(page.locator("#round-0-model")).to_contain_text("provider bad_request")
    expect(page.locator("#round-0-model")).to_contain_text("Invalid value: 'robot'.")
    expect(page.locator("#summary-tokens")).to_have_text("unknown")
