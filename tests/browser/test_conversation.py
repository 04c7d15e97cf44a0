"""A conversation debugger runs a real tool-calling loop and watches it happen live."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from conversations.models import Conversation
from tests.browser.code_editor import replace_code
from tests.support.openai_server import Reply
from tools_app import catalog as catalog_ops
from tools_app.models import Tool

CITY = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "City name."}},
    "required": ["city"],
}


def make_tools(catalog, latency_ms: int = 400, approval: bool = False) -> list[Tool]:
    tools = []
    for name in ("get_weather", "get_air_quality", "get_time"):
        tool = Tool(
            catalog=catalog,
            name=name,
            description=f"{name} for a city.",
            parameters=CITY,
            requires_approval=approval and name == "get_time",
            implementation_config={"response": {"city": "{{ city }}"}, "latency_ms": latency_ms},
        )
        catalog_ops.save_tool(tool)
        tools.append(tool)
    return tools


def three_calls(prefix: str = "call") -> list[dict]:
    return [
        {"id": f"{prefix}_{i}", "name": name, "arguments": '{"city": "Oslo"}'}
        for i, name in enumerate(["get_weather", "get_air_quality", "get_time"])
    ]


def bar_spans(page, round_number: int) -> list[tuple[float, float]]:
    bars = page.locator(f"#round-{round_number}-gantt g.call:not(.bar-model) rect.run")
    spans = []
    for i in range(bars.count()):
        x = float(bars.nth(i).get_attribute("x"))
        spans.append((x, x + float(bars.nth(i).get_attribute("width"))))
    return spans


def build(page, *, parallel: bool, tools=("get_weather", "get_air_quality", "get_time")):
    page.goto("/t/acme/conversations/new/")
    page.get_by_label("User message").fill("What's it like in Oslo right now?")
    for name in tools:
        page.get_by_label(re.compile(rf"^{name} \(")).check()
    if not parallel:
        page.get_by_label("Parallel tool calls").uncheck()
    page.get_by_role("button", name="Create and run").click()


def test_parallel_calls_overlap_on_the_live_gantt(log_in, people, catalog, provider, model_server):
    make_tools(catalog)
    model_server.script(
        Reply(tool_calls=three_calls(), chunk_delay_s=0.02),
        Reply(content="Mild, clean air, and it is noon."),
    )
    page = log_in(people.editor)
    build(page, parallel=True)

    expect(page.locator("#status-badge")).to_have_text("Finished", timeout=15_000)
    expect(page.locator("#round-0-gantt g.call.bar-ok")).to_have_count(3)
    expect(page.locator("#messages .msg.role-tool")).to_have_count(3)
    expect(page.locator("#messages .msg").last).to_contain_text("Mild, clean air")
    starts = sorted(span[0] for span in bar_spans(page, 0))
    ends = sorted(span[1] for span in bar_spans(page, 0))
    assert starts[-1] < ends[0], "all three calls ran at the same time"
    body = model_server.requests[0]["body"]
    assert body["parallel_tool_calls"] is True and body["tool_choice"] == "auto"
    roles = [m["role"] for m in model_server.requests[1]["body"]["messages"]]
    assert roles == ["user", "assistant", "tool", "tool", "tool"]


def test_without_parallel_calls_the_calls_serialise(
    log_in, people, catalog, provider, model_server
):
    make_tools(catalog, latency_ms=50)
    model_server.script(
        *[Reply(tool_calls=[call]) for call in three_calls()],
        Reply(content="Done one at a time."),
    )
    page = log_in(people.editor)
    build(page, parallel=False)
    expect(page.locator("#status-badge")).to_have_text("Finished", timeout=15_000)
    for round_number in range(3):
        expect(page.locator(f"#round-{round_number}-gantt g.call:not(.bar-model)")).to_have_count(1)
        expect(page.locator(f"#round-{round_number}-gantt g.bar-model")).to_have_count(1)
    assert all(r["body"]["parallel_tool_calls"] is False for r in model_server.requests)


def test_approve_a_call_by_hand(log_in, people, catalog, provider, model_server):
    make_tools(catalog, latency_ms=20, approval=True)
    model_server.script(Reply(tool_calls=three_calls()), Reply(content="Approved and done."))
    page = log_in(people.editor)
    build(page, parallel=True)
    expect(page.locator("#status-badge")).to_have_text("Waiting for approval", timeout=15_000)
    waiting = page.locator("tr", has_text="get_time")
    expect(waiting.get_by_text("waiting for approval")).to_be_visible()
    waiting.get_by_role("button", name="Approve").click()
    expect(page.locator("#status-badge")).to_have_text("Finished", timeout=15_000)
    expect(page.locator("#round-0-calls")).to_contain_text("approved")
    conversation = Conversation.objects.get()
    execution = conversation.batches.get().executions.get(tool_name="get_time")
    assert (execution.approval, execution.status) == ("approved", "ok")


def test_stop_a_running_conversation(log_in, people, catalog, provider, model_server):
    make_tools(catalog, latency_ms=20)
    model_server.script(Reply(content="This takes a while.", delay_s=20))
    page = log_in(people.editor)
    build(page, parallel=True)
    expect(page.locator("#status-badge")).to_have_text(re.compile("Running|Queued"))
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#status-badge")).to_have_text("Stopped", timeout=10_000)
    expect(page.locator("#status-reason")).to_have_text("Stopped by a person.")
    assert Conversation.objects.get().messages.count() == 1


def test_edit_a_tool_result_before_it_is_sent(log_in, people, catalog, provider, model_server):
    make_tools(catalog, latency_ms=10)
    model_server.script(
        Reply(tool_calls=three_calls()[:1]),
        Reply(content="Thanks for the correction."),
    )
    page = log_in(people.editor)
    page.goto("/t/acme/conversations/new/")
    page.get_by_label("User message").fill("Weather in Oslo?")
    page.get_by_label(re.compile(r"^get_weather \(")).check()
    page.get_by_label("Pause to review tool results").check()
    page.get_by_role("button", name="Create and run").click()
    expect(page.locator("#status-badge")).to_have_text("Paused for review", timeout=15_000)

    page.locator("#messages .msg.role-tool").get_by_role("link", name="Edit").click()
    replace_code(
        page.locator("#messages .msg.role-tool"),
        re.compile(r"^Result of get_weather \("),
        '{"success": true, "result": {"temperature": -3}}',
    )
    page.get_by_role("button", name="Save message").click()
    expect(page.locator("#messages .msg.role-tool")).to_contain_text("edited by hand")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#status-badge")).to_have_text("Finished", timeout=15_000)
    expect(page.locator("#messages .msg").last).to_contain_text("Thanks for the correction.")
    sent = model_server.requests[1]["body"]["messages"][-1]
    assert sent["content"] == '{"success": true, "result": {"temperature": -3}}'


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("auto: the model decides", "auto"),
        ("none: answer without tools", "none"),
        ("required: call at least one tool", "required"),
        ("only get_time", {"type": "function", "function": {"name": "get_time"}}),
    ],
)
def test_each_tool_choice_sends_what_it_should(
    log_in, people, catalog, provider, model_server, label, expected
):
    make_tools(catalog, latency_ms=10)
    model_server.script(Reply(content="Fine."))
    page = log_in(people.editor)
    page.goto("/t/acme/conversations/new/")
    page.get_by_label("User message").fill("Anything?")
    for name in ("get_weather", "get_time"):
        page.get_by_label(re.compile(rf"^{name} \(")).check()
    page.get_by_label("Tool choice").select_option(label=label)
    page.get_by_role("button", name="Create and run").click()
    expect(page.locator("#status-badge")).to_have_text("Finished", timeout=15_000)
    body = model_server.requests[0]["body"]
    assert body["tool_choice"] == expected
    assert sorted(t["function"]["name"] for t in body["tools"]) == ["get_time", "get_weather"]
