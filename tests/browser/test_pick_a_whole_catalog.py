"""A person gives a conversation a whole catalog of 40 tools from the picker, though only 30 of
them are shown, forces one that was never on screen, changes their mind and back, and saves."""

from __future__ import annotations

from playwright.sync_api import expect

from conversations.models import Conversation
from tools_app import catalog as catalog_ops
from tools_app.models import Catalog, Tool

PARAMETERS = {"type": "object", "properties": {}}
SHOTS = "/tmp/whole-catalog-shots"


def test_picking_a_whole_catalog(page, log_in, people, provider, catalog, team):
    office = Catalog.objects.create(team=team, name="Office", slug="office")
    for n in range(40):
        catalog_ops.save_tool(Tool(catalog=office, name=f"office_{n:02d}", parameters=PARAMETERS))
    catalog_ops.save_tool(Tool(catalog=catalog, name="get_weather", parameters=PARAMETERS))
    log_in(people.editor)
    page.goto("/t/acme/conversations/new/")
    page.get_by_label("User message").fill("Book a room and mail everyone.")
    tool_choice = page.get_by_label("Tool choice")
    results = page.locator("#tool-results")
    chosen = page.locator("#picked-tools")

    page.get_by_label("Find tools").fill("office")
    expect(results.locator("#tool-results-count")).to_have_text(
        "30 of 40 tools shown; search to find the others."
    )
    whole = results.get_by_label("Office · whole catalog, 40 tools")
    whole.check()
    expect(chosen.get_by_label("All of Office (40 tools)")).to_be_checked()
    expect(results.get_by_label("office_00 (Office)")).to_be_checked()
    expect(results.get_by_label("office_00 (Office)")).to_be_disabled()
    # Every tool of the catalog is offered by name, also the ten not shown.
    expect(tool_choice.locator("option")).to_have_count(3 + 40)
    tool_choice.select_option("function:office_39")
    page.screenshot(path=f"{SHOTS}/picked.png", full_page=True)

    # Changing their mind: unticking the catalog takes its tools and named choices away.
    chosen.get_by_label("All of Office (40 tools)").click()
    expect(chosen.get_by_role("checkbox")).to_have_count(0)
    expect(tool_choice.locator("option")).to_have_count(3)
    expect(tool_choice).to_have_value("auto")
    expect(results.get_by_label("office_00 (Office)")).not_to_be_checked()
    expect(results.get_by_label("office_00 (Office)")).to_be_enabled()

    whole.check()
    page.get_by_label("Find tools").fill("weather")
    results.get_by_label("get_weather (Travel)").check()
    expect(chosen.get_by_role("checkbox")).to_have_count(2)
    tool_choice.select_option("function:office_39")
    page.get_by_role("button", name="Save as draft").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    conversation = Conversation.objects.get()
    assert conversation.tool_versions.count() == 41
    assert conversation.tool_choice_value() == {
        "type": "function",
        "function": {"name": "office_39"},
    }
