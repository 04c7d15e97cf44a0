"""Two runs side by side on the comparison page are one valid document: each column's rounds,
charts and call tables carry ids of their own (a duplicate id would let a swap or a link land
in the wrong column)."""

from __future__ import annotations

from playwright.sync_api import expect

from conversations import compose
from tests.browser.test_compare_models import demo_provider
from tests.support.openai_server import Reply

DUPLICATE_IDS = """() => {
  const seen = new Map();
  for (const element of document.querySelectorAll("[id]")) {
    seen.set(element.id, (seen.get(element.id) || 0) + 1);
  }
  return [...seen].filter(([, count]) => count > 1).map(([id]) => id);
}"""


def test_each_column_has_ids_of_its_own(
    log_in, live_url, people, team, tool, provider, model_server
):
    demo = demo_provider(team, live_url)
    source = compose.create_conversation(
        team,
        people.editor,
        {"provider": demo, "user": "Weather in Oslo and Lima?", "tools": [tool]},
    )
    model_server.script(
        Reply(tool_calls=[{"id": "c1", "name": "get_weather", "arguments": '{"city": "Oslo"}'}]),
        Reply(content="Cold in Oslo."),
    )
    page = log_in(people.editor)
    page.goto(f"/t/acme/conversations/{source.pk}/")
    page.get_by_role("link", name="Compare models").click()
    page.get_by_label("Provider 2").select_option(label="Scripted")
    page.get_by_role("button", name="Run the comparison").click()

    columns = page.locator(".comparison-run")
    expect(columns.locator(".run-status")).to_have_text(["Finished", "Finished"], timeout=20_000)
    expect(columns.nth(0).locator(".round")).to_have_count(2)
    expect(columns.nth(1).locator(".round")).to_have_count(2)
    assert page.evaluate(DUPLICATE_IDS) == []
    # Each column's rounds are found by their own ids.
    first, second = (columns.nth(i).locator(".round").first.get_attribute("id") for i in (0, 1))
    assert first != second
    expect(page.locator(f"#{second}")).to_be_visible()
    expect(page.locator(f"#{second}-calls")).to_contain_text("get_weather")
    page.screenshot(path="test-artifacts/comparison-ids.png", full_page=True)
