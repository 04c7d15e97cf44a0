"""A person has a conversation open while a team admin changes their role on the team page: the
page follows at once. Made a viewer, they lose the composer and the other editing controls (so
nothing they type can be refused and lost) and the header says Viewer; made an editor, they get
the controls and can send with them."""

from __future__ import annotations

from django.test import Client
from playwright.sync_api import expect

from conversations import compose
from tests.support.openai_server import Reply

SHOT = "test-artifacts/role-change-redraws-the-controls.png"
# A count of the socket's frames swapped in (the first is the catch-up snapshot).
WATCH_THE_SOCKET = """
window.redrawn = 0;
document.addEventListener("htmx:wsAfterMessage", () => { window.redrawn += 1; });
"""


def open_conversation(page, conversation) -> None:
    page.add_init_script(WATCH_THE_SOCKET)
    page.goto(f"/t/acme/conversations/{conversation.pk}/")
    page.wait_for_function("() => window.redrawn === 1")


def change_role_on_the_team_page(browser, live_url, people, member, role: str) -> None:
    """The team's admin, in a browser of their own, changes the member's role."""
    client = Client()
    client.force_login(people.admin)
    context = browser.new_context(base_url=live_url)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_url}]
    )
    admin = context.new_page()
    admin.goto("/t/acme/")
    name = member.get_username()
    admin.get_by_label(f"Role of {name}").select_option(role)
    admin.locator("tr", has_text=name).get_by_role("button", name="Change").click()
    expect(admin.get_by_text(f"{name} is now {role}.")).to_be_visible()
    context.close()


def test_an_editor_made_viewer_loses_the_composer_and_reads_viewer(
    log_in, people, provider, browser, live_url
):
    conversation = compose.create_conversation(
        people.editor.memberships.get().team, people.editor, {"provider": provider, "user": "Hi"}
    )
    page = log_in(people.editor)
    open_conversation(page, conversation)
    expect(page.locator(".topbar .who")).to_contain_text("eddie · Editor")
    page.get_by_label("Next user message").fill("Typed while an admin looks at the team")

    change_role_on_the_team_page(browser, live_url, people, people.editor, "viewer")

    page.wait_for_function("() => window.redrawn === 2")
    expect(page.locator("#composer")).to_have_count(0)
    expect(page.locator(".topbar .who")).to_contain_text("eddie · Viewer")
    expect(page.locator("#add-message")).to_have_count(0)
    expect(page.locator("#run-settings")).to_have_count(0)
    expect(page.get_by_role("link", name="Compare models")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)
    expect(page.get_by_role("button", name="Run")).to_have_count(0)
    expect(page.get_by_role("link", name="Export JSON", exact=True)).to_be_visible()
    page.screenshot(path=SHOT, full_page=True)


def test_a_viewer_made_editor_sends_with_the_composer_that_appears(
    log_in, people, provider, browser, live_url, model_server
):
    conversation = compose.create_conversation(
        people.editor.memberships.get().team, people.editor, {"provider": provider, "user": "Hi"}
    )
    model_server.script(Reply(content="Hello by the script."))
    page = log_in(people.viewer)
    open_conversation(page, conversation)
    expect(page.locator("#composer")).to_have_count(0)

    change_role_on_the_team_page(browser, live_url, people, people.viewer, "editor")

    page.wait_for_function("() => window.redrawn === 2")
    expect(page.locator(".topbar .who")).to_contain_text("vera · Editor")
    box = page.get_by_label("Next user message")
    box.fill("Sent from the composer the promotion brought")
    box.press("Enter")
    expect(page.locator("#messages .msg.role-user").last).to_contain_text(
        "Sent from the composer the promotion brought", timeout=15_000
    )
    expect(page.locator("#messages .msg").last).to_contain_text(
        "Hello by the script.", timeout=15_000
    )
