"""Reading back through a long conversation: the tool results of the earlier rounds, brought
in on asking, are labelled with the tool they answer, as the rounds listed first are."""

from __future__ import annotations

from playwright.sync_api import expect

from conversations.management.commands.bench_pages import make_conversation

SHOT = "test-artifacts/earlier-rounds-named.png"


def test_earlier_results_say_which_tool_they_answer(log_in, people, team):
    conversation = make_conversation(team, rounds=12)
    page = log_in(people.viewer)
    page.goto(f"/t/acme/conversations/{conversation.pk}/")
    results = page.locator("#messages > article.role-tool")
    listed = results.count()
    expect(results.locator(".tool-result-of")).to_have_count(listed)

    page.get_by_role("button", name="Show earlier rounds").click()
    expect(page.get_by_role("button", name="Show earlier rounds")).to_have_count(0)
    expect(page.locator("#messages > article").first).to_contain_text(
        "Plan a trip through fifty cities."
    )
    every = results.count()
    assert every > listed
    expect(results.locator(".tool-result-of")).to_have_count(every)
    page.screenshot(path=SHOT, full_page=True)
