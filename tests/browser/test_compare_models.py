"""A conversation debugger runs one conversation against two models side by side and reads, in
one table, what each did differently."""

from __future__ import annotations

from playwright.sync_api import expect

from conversations import compose, demo_model
from conversations.models import Provider
from conversations.providers import set_api_key
from tests.browser.conftest import ARTIFACTS
from tests.support.openai_server import Reply

PHONE = {"width": 390, "height": 844}


def demo_provider(team, live_url) -> Provider:
    record = Provider(
        team=team,
        name=demo_model.PROVIDER_NAME,
        base_url=f"{live_url}/demo-model/v1",
        default_model=demo_model.MODEL_ID,
    )
    set_api_key(record, "demo-model-needs-no-key")
    record.save()
    return record


def test_compare_the_demo_model_with_another_model(
    log_in, live_url, people, team, tool, provider, model_server
):
    demo = demo_provider(team, live_url)
    source = compose.create_conversation(
        team,
        people.editor,
        {"provider": demo, "user": "Weather in Oslo, Lima and Osaka?", "tools": [tool]},
    )
    model_server.script(
        Reply(
            tool_calls=[
                {
                    "id": "c1",
                    "name": "get_weather",
                    "arguments": '{"city": "Oslo", "unit": "kelvin"}',
                }
            ]
        ),
        Reply(content="Cold in Oslo."),
    )
    page = log_in(people.editor)

    page.goto(f"/t/acme/conversations/{source.pk}/")
    page.get_by_role("link", name="Compare models").click()
    expect(page.get_by_label("Run up to and with this message")).to_have_value(
        str(source.messages.get().pk)
    )
    expect(page.get_by_label("Model 1")).to_have_value(demo_model.MODEL_ID)
    page.get_by_label("Provider 2").select_option(label="Scripted")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "compare_models_form.png"), full_page=True)
    page.get_by_role("button", name="Run the comparison").click()

    columns = page.locator(".comparison-run")
    expect(columns).to_have_count(2)
    expect(columns.locator(".run-status")).to_have_text(["Finished", "Finished"], timeout=20_000)
    expect(columns.nth(0).locator("h2")).to_have_text(
        f"{demo_model.PROVIDER_NAME} / {demo_model.MODEL_ID}"
    )
    expect(columns.nth(1).locator("h2")).to_have_text("Scripted / test-model")
    expect(columns.nth(0).locator(".round")).to_have_count(2)
    expect(columns.nth(0).locator(".waterfall-chart svg")).to_be_visible()
    # Each column's waterfall names its rounds in the chart's small type, inside the chart.
    for column in range(2):
        chart = columns.nth(column).locator(".waterfall-chart svg")
        labels = chart.locator("text.round-label")
        expect(labels).to_have_text(["round 1", "round 2"])
        frame = chart.bounding_box()
        assert frame is not None
        for i in range(2):
            expect(labels.nth(i)).to_have_css("font-size", "10px")
            box = labels.nth(i).bounding_box()
            assert box is not None
            assert frame["x"] <= box["x"] <= box["x"] + box["width"] <= frame["x"] + frame["width"]
    expect(columns.nth(1).locator("table.calls")).to_contain_text("VALIDATION_ERROR")

    table = page.locator("#comparison-table")
    tools = table.locator("tr", has=page.get_by_role("rowheader", name="Tools called"))
    expect(tools.locator("td")).to_have_text(
        ["get_weather \N{MULTIPLICATION SIGN}3", "get_weather"]
    )
    arguments = table.locator(
        "tr", has=page.get_by_role("rowheader", name="Arguments of get_weather")
    )
    expect(arguments.locator("td").nth(1).locator(".differs")).to_have_text(
        '{"city": "Oslo", "unit": "kelvin"}'
    )
    errors = table.locator("tr", has=page.get_by_role("rowheader", name="Errors"))
    expect(errors.locator("td")).to_have_text(["none", "VALIDATION_ERROR"])
    answer = table.locator("tr", has=page.get_by_role("rowheader", name="Final answer"))
    expect(answer.locator("td").nth(0)).to_contain_text(demo_model.LABEL)
    expect(answer.locator("td").nth(1)).to_have_text("Cold in Oslo.")
    expect(page.locator("#comparison-body[hx-trigger]")).to_have_count(0)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "compare_models.png"), full_page=True)

    page.set_viewport_size(PHONE)
    page.reload()
    page.screenshot(path=str(ARTIFACTS / "compare_models_phone.png"), full_page=True)
    page.screenshot(path=str(ARTIFACTS / "compare_models_phone_top.png"))
    scroll_width, inner_width = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width, f"the page scrolls sideways ({scroll_width} px)"
    first, second = (columns.nth(i).bounding_box() for i in range(2))
    assert first and second and second["y"] >= first["y"] + first["height"], "columns stack"

    columns.nth(1).get_by_role("link", name="Scripted / test-model").click()
    expect(page.get_by_text("Cold in Oslo.").first).to_be_visible()
    expect(page.locator("#comparisons")).to_contain_text("this is one of the runs")
