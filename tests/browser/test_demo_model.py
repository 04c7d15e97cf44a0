"""A newcomer with no API key runs the demo workspace's conversation against the built-in,
deterministic demo model and watches its parallel calls on the live timeline."""

from __future__ import annotations

import io
import re

from django.core.management import call_command
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS


def test_run_the_demo_conversation_without_an_api_key(page, live_url, settings):
    settings.FCSTUDIO_PUBLIC_URL = live_url
    call_command("load_demo", "--password", "fcstudio-demo", stdout=io.StringIO())

    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill("fcstudio-demo")
    page.get_by_role("button", name=re.compile("log in", re.IGNORECASE)).click()
    page.goto("/t/demo/conversations/")
    page.get_by_role("link", name="Demo model: Weather in Oslo, Lima and Osaka?").click()
    expect(page.get_by_text("Demo model (built in, deterministic)").first).to_be_visible()
    page.get_by_role("button", name="Run", exact=True).click()

    expect(page.locator("#status-badge")).to_have_text("Finished", timeout=15_000)
    expect(page.locator("#round-0-gantt g.call.bar-ok")).to_have_count(3)
    expect(page.locator("#messages .msg.role-tool")).to_have_count(3)
    final = page.locator("#messages .msg").last
    expect(final).to_contain_text("[Demo model: deterministic, no LLM]")
    expect(final).to_contain_text('get_weather({"city": "Osaka"})')
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "demo_model_conversation.png"), full_page=True)
