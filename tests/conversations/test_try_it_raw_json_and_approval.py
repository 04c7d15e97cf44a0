"""Try it: raw JSON alone is the call, and approval-gated tools ask as the lab does."""

from __future__ import annotations

import re

from conversations.models import Batch
from tools_app import catalog as catalog_ops

TOOL_PAGE = "/t/acme/c/travel/tools/get_weather/"
TRY = TOOL_PAGE + "try/"


def gate(tool) -> None:
    tool.requires_approval = True
    catalog_ops.save_tool(tool, message="needs approval")


def test_raw_json_alone_runs_though_required_fields_are_empty(people, tool):
    html = people.client_for("editor").post(TRY, {"arguments": '{"city": "Lima"}'}).content.decode()
    assert '<span class="badge ok">OK</span>' in html
    assert "Ran with the raw JSON arguments" in html
    assert "This field is required" not in html
    assert Batch.objects.get(source="try").executions.get().parsed_arguments == {"city": "Lima"}


def test_raw_json_wins_over_the_form_fields(people, tool):
    client = people.client_for("editor")
    client.post(TRY, {"arguments": '{"city": "Lima"}', "arg-city": "Porto"})
    assert Batch.objects.get(source="try").executions.get().parsed_arguments == {"city": "Lima"}


def test_the_form_is_used_and_its_required_fields_checked_when_raw_json_is_empty(people, tool):
    client = people.client_for("editor")
    html = client.post(TRY, {"arguments": "  ", "arg-unit": "celsius"}).content.decode()
    assert "city: This field is required." in html
    assert not Batch.objects.exists()
    html = client.post(TRY, {"arguments": "", "arg-city": "Porto"}).content.decode()
    assert "Ran with the form's fields" in html


def test_the_browser_is_not_asked_to_require_the_generated_fields(people, tool):
    html = people.client_for("editor").get(TOOL_PAGE).content.decode()
    try_it = html[html.index('id="try-it"') :]
    assert 'name="arg-city"' in try_it
    assert not re.search(r"<(input|select|textarea)[^>]*\srequired[\s>]", try_it)


def test_the_approval_box_is_shown_only_for_approval_gated_tools(people, tool):
    client = people.client_for("editor")
    assert "I approve running this tool" not in client.get(TOOL_PAGE).content.decode()
    gate(tool)
    assert "I approve running this tool" in client.get(TOOL_PAGE).content.decode()


def test_an_approval_gated_tool_is_denied_without_the_box_and_runs_with_it(people, tool):
    gate(tool)
    client = people.client_for("editor")
    denied = client.post(TRY, {"arg-city": "Porto"}).content.decode()
    assert '<span class="badge err">DENIED</span>' in denied
    assert "requires approval" in denied
    approved = client.post(TRY, {"arg-city": "Porto", "approve": "on"}).content.decode()
    assert '<span class="badge ok">OK</span>' in approved
    first, second = (b.executions.get() for b in Batch.objects.order_by("pk"))
    assert (first.error_code, second.error_code) == ("DENIED", "")


def test_viewers_and_outsiders_cannot_try(people, tool):
    assert people.client_for("viewer").post(TRY, {"arguments": "{}"}).status_code == 403
    assert people.client_for("outsider").post(TRY, {"arguments": "{}"}).status_code == 404
    assert not Batch.objects.exists()
