"""A person on a 390 px wide phone: every main page fits the screen and the navigation shows.

Wide things (tables, the timeline, code) scroll inside their own boxes, never the page.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import Client
from playwright.sync_api import expect

from conversations import recording
from conversations.models import Batch, Conversation
from conversations.tokens import create_token
from tests.browser.conftest import ARTIFACTS
from tests.support.openai_server import Reply
from tools_app import catalog as catalog_ops
from tools_app.models import Tool

PHONE = {"width": 390, "height": 844}
TEAM_NAV = ("Dashboard", "Acme", "Conversations", "Providers")
LONG_NAME = "get_weather_forecast_for_a_city_and_a_number_of_days_ahead"


def a_wide_catalog(catalog) -> None:
    """Tools with long names and many parameters: the hardest case for a narrow table."""
    for name in (LONG_NAME, "lookup_order"):
        tool = Tool(
            catalog=catalog,
            name=name,
            description="A long description that goes on " * 6,
            parameters={
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City name, e.g. Lisbon."},
                    "days": {"type": "integer"},
                },
                "required": ["city"],
            },
            implementation_config={"response": {"city": "{{ city }}"}, "latency_ms": 5},
        )
        catalog_ops.save_tool(tool)


def a_recording_through_a_long_named_token(team, provider) -> Conversation:
    """What an app recorded through a token whose name (100 characters) has no space to wrap at."""
    record, _ = create_token(team, provider, name="staging_support_bot_" * 5)
    conversation = recording.open_recorded_conversation(
        team, title="Recorded", model="gpt-4o-mini", provider=provider, api_token_id=record.pk
    )
    recording.append_message(conversation.pk, {"role": "user", "content": "Hi"})
    return conversation


def in_a_thread(function, *args):
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result()


def a_conversation_with_a_timeline(people, provider, model_server) -> Conversation:
    calls = [
        {"id": f"call_{i}", "name": name, "arguments": json.dumps({"city": "Oslo", "days": 3})}
        for i, name in enumerate([LONG_NAME, "lookup_order", "no_such_tool"])
    ]
    model_server.script(Reply(tool_calls=calls), Reply(content="Cold, " * 40))
    client = Client()
    client.force_login(people.editor)
    tools = [str(pk) for pk in Tool.objects.values_list("pk", flat=True)]
    # The run happens inside this request; Playwright's event loop owns this thread.
    in_a_thread(
        client.post,
        "/t/acme/conversations/new/",
        {
            "provider": str(provider.pk),
            "user": "What is the weather in Oslo over the next days? " * 3,
            "tools": tools,
            "tool_choice": "auto",
            "parallel_tool_calls": "on",
            "strategy": "asyncio",
            "max_rounds": "4",
            "run": "1",
        },
    )
    return Conversation.objects.get()


def fits_the_screen(page, name: str, nav: tuple[str, ...]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"phone-{name}.png"), full_page=True, caret="initial")
    scroll_width, inner_width = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width, f"{name}: the page scrolls sideways ({scroll_width} px)"
    for label in nav:
        link = page.locator(".topbar nav").get_by_role("link", name=label, exact=True)
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= inner_width, (
            f"{name}: the {label} link is cut off"
        )
    expect(page.get_by_role("button", name="Log out")).to_be_in_viewport()


@pytest.fixture
def phone(log_in, people):
    page = log_in(people.editor)
    page.set_viewport_size(PHONE)
    return page


def test_every_main_page_fits_a_phone(phone, people, team, catalog, provider, model_server):
    a_wide_catalog(catalog)
    conversation = a_conversation_with_a_timeline(people, provider, model_server)
    recorded = a_recording_through_a_long_named_token(team, provider)
    batch = Batch.objects.filter(conversation=conversation).first()
    assert batch is not None

    pages = {
        "home": "/",
        "team": "/t/acme/",
        "catalog": "/t/acme/c/travel/",
        "tool": f"/t/acme/c/travel/tools/{LONG_NAME}/",
        "conversations": "/t/acme/conversations/",
        "conversation": f"/t/acme/conversations/{conversation.pk}/",
        "recorded": f"/t/acme/conversations/{recorded.pk}/",
        "batch": f"/t/acme/batches/{batch.pk}/",
        "lab": "/t/acme/c/travel/lab/",
    }
    for name, address in pages.items():
        phone.goto(address)
        if name == "conversation":
            expect(phone.locator("#status-badge")).to_have_text("Finished")
        if name == "recorded":
            expect(phone.locator("#recorded")).to_contain_text("staging_support_bot_")
        fits_the_screen(phone, name, ("Dashboard",) if name == "home" else TEAM_NAV)


def test_the_timeline_scrolls_in_its_own_box_on_a_phone(
    phone, people, catalog, provider, model_server
):
    a_wide_catalog(catalog)
    conversation = a_conversation_with_a_timeline(people, provider, model_server)
    phone.goto(f"/t/acme/conversations/{conversation.pk}/")
    expect(phone.locator("#status-badge")).to_have_text("Finished")
    chart = phone.locator("#round-0-gantt .gantt")
    expect(chart.locator("text.label").first).to_be_visible()
    # Measured in one step: a live frame may redraw the chart between two steps.
    right, box_width, svg_width = phone.evaluate(
        """() => {
            const figure = document.querySelector("#round-0-gantt .gantt");
            const box = figure.getBoundingClientRect();
            const chart = figure.querySelector("svg").getBoundingClientRect();
            return [box.right, box.width, chart.width];
        }"""
    )
    assert right <= PHONE["width"], "the chart's box stays on the screen"
    assert svg_width > box_width, "the chart keeps a readable size and scrolls in its box"
