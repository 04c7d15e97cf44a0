"""What the page shows never contradicts itself: a person approves one call and denies another,
or stops a slow answer, and every place that shows it follows without a reload."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from conversations.models import Conversation
from tests.support.openai_server import Reply
from tools_app import catalog as catalog_ops
from tools_app.models import Tool

CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
SHOTS = "/tmp/consistency-shots"


def make_tools(catalog, gated: tuple[str, ...]) -> None:
    for name in ("get_weather", "get_air_quality", "get_time"):
        tool = Tool(
            catalog=catalog,
            name=name,
            description=f"{name} for a city.",
            parameters=CITY,
            requires_approval=name in gated,
            implementation_config={"response": {"city": "{{ city }}"}, "latency_ms": 20},
        )
        catalog_ops.save_tool(tool)


def build(page) -> None:
    page.goto("/t/acme/conversations/new/")
    page.get_by_label("User message").fill("What's it like in Oslo right now?")
    for name in ("get_weather", "get_air_quality", "get_time"):
        page.get_by_label(re.compile(rf"^{name} \(")).check()
    page.get_by_role("button", name="Create and run").click()


def approved_round(page, catalog, model_server):
    """A round of get_weather and get_time (which waits for approval, then is approved), run
    to its end on `page`; its calls' records, for a test to set times on."""
    make_tools(catalog, gated=("get_time",))
    calls = [
        {"id": f"call_{i}", "name": name, "arguments": '{"city": "Oslo"}'}
        for i, name in enumerate(["get_weather", "get_time"])
    ]
    model_server.script(Reply(tool_calls=calls), Reply(content="It is noon in Oslo."))
    build(page)
    clock = page.locator("#round-0-calls tr").filter(has_text="get_time")
    clock.get_by_role("button", name="Approve").click()
    expect(page.locator("#status-badge")).to_have_text("Finished", timeout=15_000)
    return Conversation.objects.get().batches.get().executions


def test_approve_one_call_and_deny_another(log_in, people, catalog, provider, model_server):
    make_tools(catalog, gated=("get_air_quality", "get_time"))
    calls = [
        {"id": f"call_{i}", "name": name, "arguments": '{"city": "Oslo"}'}
        for i, name in enumerate(["get_weather", "get_air_quality", "get_time"])
    ]
    model_server.script(Reply(tool_calls=calls), Reply(content="It is noon; air not checked."))
    page = log_in(people.editor)
    build(page)

    expect(page.locator("#status-badge")).to_have_text("Waiting for approval", timeout=15_000)
    rows = page.locator("#round-0-calls tr")
    air, clock = rows.filter(has_text="get_air_quality"), rows.filter(has_text="get_time")
    expect(air.get_by_role("button", name="Deny")).to_be_visible()
    expect(clock.get_by_role("button", name="Approve")).to_be_visible()
    # The call that needed nobody has run, and the totals say what waits.
    expect(rows.filter(has_text="get_weather")).to_contain_text("OK")
    expect(page.locator("#summary")).to_contain_text("WAITING FOR APPROVAL")
    expect(page.locator("#summary")).not_to_contain_text("QUEUED")
    page.screenshot(path=f"{SHOTS}/waiting.png", full_page=True)

    air.get_by_role("button", name="Deny").click()
    expect(air.get_by_role("button")).to_have_count(0)
    expect(air).to_contain_text(re.compile("denied", re.IGNORECASE))  # DENIED once it settles
    clock.get_by_role("button", name="Approve").click()
    expect(page.locator("#status-badge")).to_have_text("Finished", timeout=15_000)

    expect(page.locator("#round-0-calls button")).to_have_count(0)
    expect(air).to_contain_text("DENIED")
    expect(clock).to_contain_text("approved")
    summary = page.locator("#summary")
    expect(summary).to_contain_text("2 OK")
    expect(summary).to_contain_text("1 DENIED")
    expect(summary).not_to_contain_text("WAITING")
    expect(page.locator("#summary-tokens")).not_to_have_text("0")
    # The person's time is a span of its own on the chart, not tool time.
    expect(page.locator("#round-0-gantt rect.wait")).to_have_count(2)
    page.screenshot(path=f"{SHOTS}/decided.png", full_page=True)
    execution = Conversation.objects.get().batches.get().executions
    assert execution.get(tool_name="get_air_quality").approval == "denied"


def test_stop_during_a_slow_answer(log_in, people, catalog, provider, model_server):
    make_tools(catalog, gated=())
    model_server.script(Reply(content="Oslo is rainy today, bring a coat.", stall_after=3))
    page = log_in(people.editor)
    build(page)

    # The model has sent its first words and says nothing more (a page that joined later
    # than they came still sees them: the catch-up snapshot carries the draft).
    assert model_server.request_arrived.wait(15)
    expect(page.locator("#status-badge")).to_have_text("Running")
    expect(page.locator("#stream article .content")).to_have_text("Oslo is")
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#status-badge")).to_have_text("Stopped", timeout=10_000)

    for moment in ("live", "reloaded"):
        line = page.locator("#round-0-model")
        expect(line).to_contain_text("stopped")
        expect(line.locator(".draft")).to_have_text("Oslo is")
        expect(line).to_contain_text("cut off")
        expect(line).not_to_contain_text("waiting for the model")
        expect(page.locator("#stream article")).to_have_count(0)
        page.screenshot(path=f"{SHOTS}/stopped-{moment}.png", full_page=True)
        page.reload()
