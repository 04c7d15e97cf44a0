"""A person reads a conversation of 25 rounds: the page lists the last ten, earlier ones come in
front on asking, and the waterfall (drawn when opened) shows all of them in either scale."""

from __future__ import annotations

from playwright.sync_api import expect

from conversations.management.commands.bench_pages import make_conversation

SHOTS = "/tmp/large-conversation-shots"


def test_a_person_reads_back_through_a_long_conversation(log_in, people, team):
    conversation = make_conversation(team, rounds=25)
    page = log_in(people.viewer)
    page.goto(f"/t/acme/conversations/{conversation.pk}/")

    rounds = page.locator("#rounds > section.round h3")
    expect(rounds).to_have_count(10)
    expect(rounds.first).to_have_text("Round 16")
    expect(rounds.last).to_have_text("Round 25")
    expect(page.locator("#earlier-rounds")).to_contain_text("Rounds 1\u201315 are not listed below")
    expect(page.locator("#messages")).not_to_contain_text("Plan a trip through fifty cities.")
    # The totals count every round.
    expect(page.locator("#summary")).to_contain_text("100 OK")

    page.get_by_role("button", name="Show earlier rounds").click()
    expect(rounds).to_have_count(20)
    expect(rounds.first).to_have_text("Round 6")
    expect(rounds.nth(10)).to_have_text("Round 16")
    expect(page.locator("#earlier-rounds")).to_contain_text("Rounds 1\u20135 are not listed below")

    page.get_by_role("button", name="Show earlier rounds").click()
    expect(rounds).to_have_count(25)
    expect(rounds.first).to_have_text("Round 1")
    messages = page.locator("#messages > article")
    expect(messages.first).to_contain_text("Plan a trip through fifty cities.")
    expect(messages).to_have_count(1 + 25 * 5)
    expect(page.get_by_role("button", name="Show earlier rounds")).to_have_count(0)

    page.get_by_text("Waterfall", exact=True).click()
    chart = page.locator("#waterfall-charts")
    expect(chart.locator(".scale-compressed g.wf-row.model-row")).to_have_count(25)
    page.get_by_text("linear", exact=True).click()
    expect(chart.locator(".scale-linear g.wf-row.model-row")).to_have_count(25)
    expect(chart.locator(".scale-compressed")).to_have_count(0)
    page.screenshot(path=f"{SHOTS}/read-back.png", full_page=True)
