"""An admin makes an API token on the tokens page and gives it to an app, which points the real
`openai` SDK at the proxy's own server (`serve_proxy`); the app's loop then shows up in the
studio as one recorded conversation, under the token's name."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from conversations.models import ModelCall
from tests.browser.conftest import ARTIFACTS
from tests.support.live_studio import serve_proxy
from tests.support.openai_server import Reply
from tests.support.proxy_clients import live_sdk, recorded_soon, run_agent_loop_sync


def test_a_token_made_on_the_page_records_an_apps_loop_through_the_proxys_server(
    page, log_in, people, provider, model_server
):
    log_in(people.admin)
    page.goto("/t/acme/tokens/")
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    page.get_by_label("Name").fill("weather bot")
    page.get_by_label("Provider").select_option(label="Scripted")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token")).to_contain_text("shown only this once")
    token = page.locator("#new-token code").inner_text().strip()
    assert token.startswith("fcs_")

    model_server.script(
        Reply(
            tool_calls=[{"id": "call_a", "name": "get_weather", "arguments": '{"city": "Oslo"}'}]
        ),
        Reply(content="Oslo is 3°C."),
    )
    with serve_proxy() as base_url:
        answer = run_agent_loop_sync(live_sdk(base_url, token), stream=True, question="Oslo?")
        recorded = ModelCall.objects.filter(ok=True, conversation__api_token__name="weather bot")
        recorded_soon(lambda: recorded.count() == 2)
    assert answer == "Oslo is 3°C."

    page.goto("/t/acme/conversations/")
    page.get_by_role("link", name="Oslo?").click()
    expect(page.locator("#recorded")).to_contain_text("recorded through token “weather bot”")
    expect(page.locator("section.round")).to_have_count(2)
    expect(page.locator("#round-0-calls tr.status-ok")).to_have_count(1)
    expect(page.locator("#round-0-calls")).to_contain_text("get_weather")
    expect(page.locator("#messages .msg").last).to_contain_text("Oslo is 3°C.")
    expect(page.locator("#summary-sum")).to_have_text("unknown")
    # Not a contradiction beside the call's time: the page says what the recording knows.
    expect(page.locator("#summary-sum-why")).to_have_text(
        re.compile(r"^the app ran these calls itself; only the whole round's [\d.]+ m?s is known$")
    )
    expect(page.locator("#round-0-calls .round-gap")).to_have_text("the round's gap")
    expect(page.locator("#run-settings-line")).to_contain_text("2 tools offered")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "token_to_the_proxys_server.png"), full_page=True)
