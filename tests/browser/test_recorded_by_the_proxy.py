"""An app's agent loop, sent through the recording proxy with the real `openai` SDK, is one
conversation in the studio: a viewer opens it and sees its rounds, the model's calls and the
app's own tool calls, timed by the recording."""

from __future__ import annotations

from playwright.sync_api import expect

from conversations.models import ModelCall
from tests.browser.conftest import ARTIFACTS
from tests.support.openai_server import Reply
from tests.support.proxy_clients import live_sdk, recorded_soon, run_agent_loop_sync


def test_a_viewer_opens_the_conversation_an_app_recorded(
    page, live_url, log_in, people, api_token, model_server
):
    model_server.script(
        Reply(
            tool_calls=[
                {"id": "call_a", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
                {"id": "call_b", "name": "get_weather", "arguments": '{"city": "Lima"}'},
            ]
        ),
        Reply(tool_calls=[{"id": "call_c", "name": "get_time", "arguments": "{}"}]),
        Reply(content="Oslo 3°C, Lima 19°C, 12:00 UTC."),
    )
    answer = run_agent_loop_sync(live_sdk(live_url, api_token), stream=True)
    assert answer == "Oslo 3°C, Lima 19°C, 12:00 UTC."
    recorded_soon(lambda: ModelCall.objects.filter(ok=True).count() == 3)

    log_in(people.viewer)
    page.goto("/t/acme/conversations/")
    expect(page.get_by_role("link", name="Weather in Oslo and Lima, and the time?")).to_have_count(
        1
    )
    page.get_by_role("link", name="Weather in Oslo and Lima, and the time?").click()

    expect(page.locator("#recorded")).to_contain_text("recorded through token “agent”")
    expect(page.locator("section.round")).to_have_count(3)
    expect(page.locator("#round-0 .recorded-timing")).to_contain_text("timed by the recording")
    expect(page.locator("#round-0-calls tr.status-ok")).to_have_count(2)
    expect(page.locator("#round-0-calls")).to_contain_text("call_b")
    expect(page.locator("#round-1-calls tr.status-ok")).to_have_count(1)
    expect(page.locator("#round-2-model")).to_contain_text("finish stop")
    expect(page.locator("#messages .msg.role-tool")).to_have_count(3)
    expect(page.locator("#messages .msg").last).to_contain_text("Oslo 3°C, Lima 19°C")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "recorded_by_the_proxy.png"), full_page=True)
