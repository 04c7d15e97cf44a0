"""A python tool's callable is checked when the tool is saved or imported, not only when it runs."""

from __future__ import annotations

import json

import pytest
from django.utils.html import escape

from tests.tools_app.test_tool_editor import form_data
from tools_app import catalog as catalog_ops
from tools_app.models import Catalog, Tool

NEW = "/t/acme/c/travel/new/"
HOSTILE = "tests.support.hostile_tools"
CLOCK = {"kind": "python", "callable": "tools_app.demo_tools:current_time"}

REFUSED = [
    ("os:system", "module 'os' is not in the allowed modules"),
    ("tools_app.demo_tools:__builtins__", "the function must be one public name"),
    (f"{HOSTILE}:NotAFunction", f"{HOSTILE}:NotAFunction is not a function"),
    (f"{HOSTILE}:LONG_EXPONENT", f"{HOSTILE}:LONG_EXPONENT is not a function"),
    ("tools_app.demo_tools:ZoneInfo", "tools_app.demo_tools:ZoneInfo is not a function"),
]


@pytest.fixture(autouse=True)
def allow_the_test_module(settings):
    settings.FCSTUDIO_TOOL_MODULES = ["tools_app.demo_tools", HOSTILE]


def python_tool(target: str, **extra) -> dict:
    return form_data(
        implementation_kind="python", python_callable=target, mock_response="", **extra
    )


@pytest.mark.parametrize(("target", "message"), REFUSED)
def test_the_editor_refuses_what_could_not_run(people, catalog, target, message):
    response = people.client_for("editor").post(NEW, python_tool(target))
    assert response.status_code == 200
    page = response.content.decode()
    assert escape(message) in page
    assert "FCSTUDIO_TOOL_MODULES: tools_app.demo_tools, tests.support.hostile_tools" in page
    assert not Tool.objects.exists()


def test_the_editor_saves_an_allowed_function_in_the_pool_by_default(people, catalog):
    response = people.client_for("editor").post(NEW, python_tool("tools_app.demo_tools:calculate"))
    assert response.status_code == 302
    tool = Tool.objects.get()
    assert tool.implementation_config == {"callable": "tools_app.demo_tools:calculate"}


def test_running_in_process_is_an_explicit_choice_in_the_editor(people, catalog):
    client = people.client_for("editor")
    target = "tools_app.demo_tools:calculate"
    response = client.post(NEW, python_tool(target, python_in_process="on"))
    assert response.status_code == 302
    tool = Tool.objects.get()
    assert tool.implementation_config == {"callable": target, "in_process": True}
    page = client.get(response["Location"]).content.decode()
    assert 'id="id_python_in_process" checked>' in page
    assert "Run in the server process (trusted, fast code only)" in page


def test_outsiders_cannot_save_a_python_tool(people, catalog):
    response = people.client_for("outsider").post(NEW, python_tool("os:system"))
    assert response.status_code == 404
    assert not Tool.objects.exists()


def bundle_entry(name: str, implementation: dict) -> dict:
    return {
        "name": name,
        "description": "A tool.",
        "parameters": {"type": "object", "properties": {}},
        "implementation": implementation,
    }


def bundle(*entries: dict) -> str:
    return json.dumps({"format": catalog_ops.BUNDLE_FORMAT, "tools": list(entries)})


@pytest.mark.parametrize(("target", "message"), REFUSED)
def test_a_bundle_import_refuses_what_could_not_run(people, team, target, message):
    catalog = Catalog.objects.create(team=team, name="Copy", slug="copy")
    good = bundle_entry("clock", CLOCK)
    bad = bundle_entry("hostile", {"kind": "python", "callable": target})
    report = catalog_ops.import_text(catalog, bundle(good, bad), author=people.editor)
    assert [tool.name for tool in catalog.tools.all()] == ["clock"]
    [rejection] = report.rejected
    assert rejection.source_index == 1
    assert rejection.reason.startswith("The Python callable is refused: ")
    assert message in rejection.reason


def test_a_bundle_import_checks_the_callables_of_older_versions_too(people, team):
    catalog = Catalog.objects.create(team=team, name="Copy", slug="copy")
    entry = bundle_entry("clock", CLOCK)
    old = {**entry, "implementation": {"kind": "python", "callable": "os:system"}}
    entry["versions"] = [
        {"number": 1, "snapshot": old, "message": "first"},
        {"number": 2, "snapshot": dict(entry), "message": "second"},
    ]
    report = catalog_ops.import_text(catalog, bundle(entry), author=people.editor)
    assert not catalog.tools.exists()
    [rejection] = report.rejected
    assert rejection.reason.startswith("Version 1: The Python callable is refused: module 'os'")


def test_a_bundle_import_keeps_the_in_process_choice(people, team):
    catalog = Catalog.objects.create(team=team, name="Copy", slug="copy")
    implementation = {"kind": "python", "callable": f"{HOSTILE}:chatty", "in_process": True}
    report = catalog_ops.import_text(
        catalog, bundle(bundle_entry("chatty", implementation)), author=people.editor
    )
    assert report.rejected == []
    assert catalog.tools.get().implementation_config == {
        "callable": f"{HOSTILE}:chatty",
        "in_process": True,
    }
