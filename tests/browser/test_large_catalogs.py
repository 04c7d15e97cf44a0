"""A big catalog comes a page at a time, and the builder finds tools by searching."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from conversations.models import Conversation
from tools_app import catalog as catalog_ops
from tools_app.models import Catalog, Tool

PARAMETERS = {"type": "object", "properties": {"q": {"type": "string", "description": "Query."}}}


def test_paging_through_a_big_catalog_and_filtering_it(page, log_in, people, catalog):
    Tool.objects.bulk_create(
        Tool(catalog=catalog, name=f"tool_{n:03d}", parameters=PARAMETERS, version=1)
        for n in range(120)
    )
    log_in(people.viewer)
    page.goto("/t/acme/c/travel/")
    rows = page.locator("#tools tbody tr")
    expect(rows).to_have_count(50)
    expect(page.locator("#page-number")).to_have_text("Page 1 of 3")
    expect(page.get_by_role("link", name="tool_000")).to_be_visible()

    page.get_by_role("link", name="Next →").click()
    expect(page.locator("#page-number")).to_have_text("Page 2 of 3")
    expect(page.get_by_role("link", name="tool_050")).to_be_visible()
    expect(page.get_by_role("link", name="tool_000")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"\?page=2$"))

    page.get_by_label("Filter tools").fill("tool_11")
    expect(rows).to_have_count(10)
    expect(page.locator("#tool-count")).to_have_text("10 of 120 tools")
    expect(page.locator("#page-number")).to_have_count(0)


def test_searching_the_tool_picker_and_forcing_the_picked_tool(
    page, log_in, people, provider, catalog, team
):
    office = Catalog.objects.create(team=team, name="Office", slug="office")
    for where, name in [(catalog, "get_weather"), (office, "send_mail"), (office, "get_time")]:
        catalog_ops.save_tool(Tool(catalog=where, name=name, parameters=PARAMETERS))
    log_in(people.editor)
    page.goto("/t/acme/conversations/new/")
    page.get_by_label("User message").fill("Mail Ada the weather.")
    tool_choice = page.get_by_label("Tool choice")
    expect(tool_choice.locator("option")).to_have_count(3)

    page.get_by_label("Find tools").fill("mail")
    results = page.locator("#tool-results")
    expect(results.get_by_label("send_mail (Office)")).to_be_visible()
    expect(results.get_by_label("get_weather (Travel)")).to_have_count(0)
    results.get_by_label("send_mail (Office)").check()

    chosen = page.locator("#picked-tools")
    expect(chosen.get_by_label("send_mail (Office)")).to_be_checked()
    expect(tool_choice.locator("option")).to_have_text(
        [
            "auto: the model decides",
            "none: answer without tools",
            "required: call at least one tool",
            "only send_mail",
        ]
    )

    # Another search keeps the tool chosen.
    page.get_by_label("Find tools").fill("weather")
    expect(results.get_by_label("get_weather (Travel)")).to_be_visible()
    results.get_by_label("get_weather (Travel)").check()
    expect(chosen.get_by_role("checkbox")).to_have_count(2)
    tool_choice.select_option("function:send_mail")

    page.get_by_role("button", name="Save as draft").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    conversation = Conversation.objects.get()
    assert conversation.tool_choice_value() == {
        "type": "function",
        "function": {"name": "send_mail"},
    }
    assert sorted(v.tool.name for v in conversation.tool_versions.all()) == [
        "get_weather",
        "send_mail",
    ]


def test_unpicking_a_tool_removes_its_named_choice(page, log_in, people, provider, catalog):
    catalog_ops.save_tool(Tool(catalog=catalog, name="get_weather", parameters=PARAMETERS))
    log_in(people.editor)
    page.goto("/t/acme/conversations/new/")
    page.locator("#tool-results").get_by_label("get_weather (Travel)").check()
    tool_choice = page.get_by_label("Tool choice")
    tool_choice.select_option("function:get_weather")
    # Unticking a chosen tool takes it off the list.
    page.locator("#picked-tools").get_by_label("get_weather (Travel)").click()
    expect(page.locator("#picked-tools").get_by_role("checkbox")).to_have_count(0)
    expect(tool_choice.locator("option")).to_have_count(3)
    expect(tool_choice).to_have_value("auto")
    expect(page.locator("#tool-results").get_by_label("get_weather (Travel)")).not_to_be_checked()


def test_the_picker_opens_on_every_catalog_not_only_the_largest(log_in, people, catalog, provider):
    """A team with a large imported catalog (sorted first) and a small one: the new-conversation
    page offers the first tools of both, and the small catalog can be picked whole at once."""
    large = Catalog.objects.create(team=catalog.team, name="A big import", slug="big")
    Tool.objects.bulk_create(
        Tool(catalog=large, name=f"tool_{n:03d}", parameters=PARAMETERS, version=1)
        for n in range(60)
    )
    catalog_ops.save_tool(Tool(catalog=catalog, name="get_weather", parameters=PARAMETERS))
    page = log_in(people.editor)
    page.goto("/t/acme/conversations/new/")
    expect(page.get_by_label("get_weather (Travel)")).to_be_visible()
    expect(page.get_by_label("tool_000 (A big import)")).to_be_visible()
    expect(page.get_by_label(re.compile(r"^Travel · whole catalog, 1 tool"))).to_be_enabled()
    expect(page.locator("#tool-results-count")).to_contain_text("of 61 tools shown")
