"""A team admin who gives a provider a header the studio sets itself is told so at the field.
The rest of the form is kept; the headers are not shown back (they may hold secrets, like the
key)."""

from __future__ import annotations

from playwright.sync_api import expect

from conversations.models import Provider


def test_a_host_header_is_refused_at_the_field(log_in, people, team, model_server):
    page = log_in(people.admin)
    page.goto("/t/acme/providers/")
    page.get_by_label("Name").fill("Gateway")
    page.get_by_label("Base URL").fill(model_server.base_url)
    page.get_by_label("Extra headers").fill("X-Team: acme\nHost: admin.internal")
    page.get_by_role("button", name="Add provider").click()
    expect(page.get_by_text("Line 2: the studio sets Host itself.")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("Gateway")
    expect(page.get_by_label("Extra headers")).to_have_value("")
    assert not Provider.objects.exists()
