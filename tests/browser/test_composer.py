"""A conversation debugger iterates on the conversation page: types the next turn, sends it with
Enter, and changes the model for the next run, landing on a fork that keeps the record true."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from conversations import compose
from conversations.models import Conversation
from fcstudio import members
from fcstudio.models import Membership, Role
from tests.support.openai_server import Reply


def draft(people, provider, tool) -> Conversation:
    data = {"provider": provider, "user": "Weather in Oslo?", "tools": [tool], "max_rounds": 3}
    return compose.create_conversation(people.editor.memberships.get().team, people.editor, data)


def test_enter_sends_shift_enter_breaks_the_line(log_in, people, provider, tool, model_server):
    conversation = draft(people, provider, tool)
    model_server.script(Reply(content="Sunny in Oslo."), Reply(content="Rain tomorrow."))
    page = log_in(people.editor)
    page.goto(f"/t/acme/conversations/{conversation.pk}/")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#status-badge")).to_have_text("Finished", timeout=15_000)
    page.reload()
    expect(page.get_by_role("button", name="Continue")).to_have_count(0)

    box = page.get_by_label("Next user message")
    box.click()
    box.type("And tomorrow?")
    box.press("Shift+Enter")
    box.type("In Bergen too.")
    expect(box).to_have_value("And tomorrow?\nIn Bergen too.")
    box.press("Enter")

    expect(page.locator("#messages .msg").last).to_contain_text("Rain tomorrow.", timeout=15_000)
    expect(page.locator("#messages .msg.role-user").last).to_contain_text("In Bergen too.")
    expect(page.locator("#messages .msg.role-user").last).not_to_contain_text("edited by hand")
    expect(page.locator("#status-badge")).to_have_text("Finished")
    expect(page.get_by_role("button", name="Continue")).to_have_count(0)
    assert model_server.requests[1]["body"]["messages"][-1] == {
        "role": "user",
        "content": "And tomorrow?\nIn Bergen too.",
    }


def test_changing_the_model_after_a_run_lands_on_a_fork(
    log_in, people, provider, tool, model_server
):
    conversation = draft(people, provider, tool)
    model_server.script(Reply(content="Sunny in Oslo."))
    page = log_in(people.editor)
    page.goto(f"/t/acme/conversations/{conversation.pk}/")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#status-badge")).to_have_text("Finished", timeout=15_000)

    page.get_by_text("Settings for the next run").click()
    page.get_by_label("Model", exact=True).fill("bigger-model")
    page.get_by_role("button", name="Save settings").click()

    expect(page.locator(".crumbs")).to_contain_text("forked from")
    expect(page.locator("h1")).to_contain_text("(fork)")
    expect(page.locator("p.muted.small code").first).to_have_text("bigger-model")
    expect(page.locator("#messages .msg").last).to_contain_text("Sunny in Oslo.")
    original = Conversation.objects.get(pk=conversation.pk)
    assert original.model == "test-model"


def test_a_turn_over_unanswered_calls_is_refused_and_kept(log_in, people, provider, tool):
    conversation = draft(people, provider, tool)
    call = {
        "id": "call_0",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
    }
    compose.add_message(
        conversation, {"role": "assistant", "content": None, "tool_calls": [call]}, people.editor
    )
    page = log_in(people.editor)
    page.goto(f"/t/acme/conversations/{conversation.pk}/")

    box = page.get_by_label("Next user message")
    box.click()
    box.type("And in Bergen?")
    box.press("Enter")

    expect(page.locator("#composer .errorlist")).to_have_text(
        "The last turn asked for a tool call that has no result yet: Run to execute it, "
        "or write its result with “Add a message by hand” (role tool), before writing the next "
        "message."
    )
    expect(page.get_by_label("Next user message")).to_have_value("And in Bergen?")
    expect(page.locator("#messages .msg.role-user")).to_have_count(1)
    expect(page.locator("#status-badge")).to_have_text("Draft")
    expect(page.get_by_role("button", name="Run")).to_be_visible()


def test_a_message_sent_after_losing_the_role_is_shown_back_with_a_way_back(
    log_in, people, provider, tool
):
    """The page was drawn for an editor whose socket was down when they were made a viewer:
    the refusal keeps what they typed and leads back to the conversation."""
    conversation = draft(people, provider, tool)
    page = log_in(people.editor)
    page.route_web_socket(re.compile(r"/ws/"), lambda socket: None)  # the socket never connects
    page.goto(f"/t/acme/conversations/{conversation.pk}/")
    members.set_role(
        Membership.objects.get(user=people.editor, team__slug="acme"),
        Role.VIEWER,
        actor=people.admin,
    )
    box = page.get_by_label("Next user message")
    box.click()
    box.type("Typed before I knew")
    box.press("Enter")

    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_label("What you wrote")).to_have_value("Typed before I knew")
    page.get_by_role("link", name="Back to the conversation").click()
    expect(page.locator("#messages .msg.role-user")).to_have_count(1)
    expect(page.locator("#composer")).to_have_count(0)
