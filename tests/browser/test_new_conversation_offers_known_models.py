"""Starting a conversation, a person picks the model from those the team's providers listed when
their connection was tested (typing any other name still works)."""

from __future__ import annotations

from playwright.sync_api import expect

SHOT = "test-artifacts/new-conversation-known-models.png"


def test_the_model_field_offers_the_listed_models(log_in, people, provider):
    provider.known_models = ["test-model", "bigger-model"]
    provider.save(update_fields=["known_models"])
    page = log_in(people.editor)
    page.goto("/t/acme/conversations/new/")
    model = page.get_by_label("Model", exact=True)
    listed = model.get_attribute("list")
    assert listed
    options = page.locator(f"datalist#{listed} option")
    expect(options).to_have_count(2)
    assert sorted(options.evaluate_all("o => o.map(e => e.value)")) == [
        "bigger-model",
        "test-model",
    ]
    model.fill("bigger-model")
    page.screenshot(path=SHOT, caret="initial")
