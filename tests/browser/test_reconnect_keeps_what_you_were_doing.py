"""The page's websocket drops and reconnects while a person works on it: the catch-up snapshot
redraws the messages and rounds, and the message they were editing stays open with what they
typed, and the arguments they opened stay open."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from conversations.management.commands.bench_pages import make_conversation
from tests.browser.code_editor import replace_code

SHOT = "test-artifacts/reconnect-keeps-edits.png"
# The ws extension's socket, kept when it opens, so the test can drop and reopen it; and a count
# of the frames swapped in (a finished conversation gets only each connection's snapshot).
WATCH_THE_SOCKET = """
window.opened = 0; window.redrawn = 0;
document.addEventListener("htmx:wsOpen", (event) => {
  window.liveSocket = event.detail.socketWrapper; window.opened += 1;
});
document.addEventListener("htmx:wsAfterMessage", () => { window.redrawn += 1; });
"""


def test_an_open_edit_survives_a_reconnect(log_in, people, team):
    conversation = make_conversation(team, rounds=1)
    page = log_in(people.editor)
    page.add_init_script(WATCH_THE_SOCKET)
    page.goto(f"/t/acme/conversations/{conversation.pk}/")
    page.wait_for_function("() => window.opened === 1 && window.redrawn === 1")

    result = page.locator("#messages .msg.role-tool").first
    result.get_by_role("link", name="Edit").click()
    replace_code(
        result, re.compile("^Result of"), '{"success": true, "result": "typed before the drop"}'
    )
    row = page.locator("#round-0-calls tbody tr").first
    row.locator("summary").click()
    expect(row.locator("details")).to_have_attribute("open", "")

    page.evaluate("window.liveSocket.reconnect()")
    page.wait_for_function("() => window.opened === 2 && window.redrawn === 2")

    expect(result.get_by_role("button", name="Save message")).to_be_visible()
    expect(result.locator("textarea[name=content]")).to_have_value(
        '{"success": true, "result": "typed before the drop"}'
    )
    expect(row.locator("details")).to_have_attribute("open", "")
    page.screenshot(path=SHOT, full_page=True)
    result.get_by_role("button", name="Save message").click()
    expect(result).to_contain_text("typed before the drop")
    expect(result).to_contain_text("edited by hand")


def test_an_edit_asked_for_just_before_a_reconnect_still_opens(log_in, people, team):
    """The snapshot lands while the edit form is on its way (a click right after the page
    loaded): the message asking for it stays, so the form has somewhere to open."""
    conversation = make_conversation(team, rounds=1)
    page = log_in(people.editor)
    page.add_init_script(WATCH_THE_SOCKET)
    page.goto(f"/t/acme/conversations/{conversation.pk}/")
    page.wait_for_function("() => window.opened === 1 && window.redrawn === 1")
    held = []
    page.route(re.compile(r"/messages/\d+/$"), lambda route: held.append(route))  # answered later

    result = page.locator("#messages .msg.role-tool").first
    edit = result.get_by_role("link", name="Edit")
    edit.click()
    expect(edit).to_have_class(re.compile("htmx-request"))
    page.evaluate("window.liveSocket.reconnect()")
    page.wait_for_function("() => window.opened === 2 && window.redrawn === 2")
    held[0].continue_()

    expect(result.get_by_role("button", name="Save message")).to_be_visible()
    expect(result.get_by_role("link", name="Cancel")).to_be_visible()


def test_a_filter_being_chosen_survives_the_snapshot(log_in, people, team):
    """The snapshot redraws the calls filter (its totals may have changed): what the person had
    picked in its menus, not yet applied, is still picked after it."""
    conversation = make_conversation(team, rounds=2)
    page = log_in(people.viewer)
    page.add_init_script(WATCH_THE_SOCKET)
    page.goto(f"/t/acme/conversations/{conversation.pk}/")
    page.wait_for_function("() => window.opened === 1 && window.redrawn === 1")
    page.get_by_label("Show calls").select_option("ok")

    page.evaluate("window.liveSocket.reconnect()")
    page.wait_for_function("() => window.opened === 2 && window.redrawn === 2")
    expect(page.get_by_label("Show calls")).to_have_value("ok")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"\?status=ok&tool=$"))
