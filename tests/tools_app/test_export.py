"""Exports: an OpenAI tools array, and a studio bundle that re-imports to an equal catalog."""

from __future__ import annotations

import json

from tools_app import catalog as catalog_ops
from tools_app.models import Catalog


def test_export_is_an_openai_tools_array(people, tool):
    response = people.client_for("viewer").get("/t/acme/c/travel/export/tools.json")
    assert response["Content-Disposition"] == 'attachment; filename="travel.tools.json"'
    assert json.loads(response.content) == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather for a city.",
                "parameters": tool.parameters,
            },
        }
    ]


def test_strict_tools_say_so_in_the_export(people, tool):
    tool.strict = True
    tool.save()
    (entry,) = catalog_ops.export_openai(tool.catalog)
    assert entry["function"]["strict"] is True


def test_a_bundle_round_trips_to_an_equal_catalog(people, tool, team):
    tool.description = "Second take."
    tool.implementation_kind = "python"
    tool.implementation_config = {"callable": "tools_app.demo_tools:current_time"}
    catalog_ops.save_tool(tool, author=people.admin, message="Use the clock")
    response = people.client_for("viewer").get("/t/acme/c/travel/export/bundle.json")
    bundle = json.loads(response.content)
    copy = Catalog.objects.create(team=team, name="Copy", slug="copy")
    report = catalog_ops.import_text(copy, json.dumps(bundle), author=people.editor)
    assert (report.format, report.imported, report.rejected) == ("bundle", 1, [])
    again = catalog_ops.export_bundle(copy)
    assert again["tools"] == bundle["tools"]
    copied = copy.tools.get()
    assert [v.number for v in copied.versions.all()] == [2, 1]
    assert copied.versions.first().author == people.admin


def test_a_bundle_with_bad_entries_imports_the_good_ones(people, tool, team):
    bundle = catalog_ops.export_bundle(tool.catalog)
    bundle["tools"].append({"name": "bad name!", "implementation": {"kind": "mock"}})
    bundle["tools"].append({"name": "no_impl", "parameters": {"type": "object"}})
    bundle["tools"].append("not an object")
    copy = Catalog.objects.create(team=team, name="Copy", slug="copy")
    report = catalog_ops.import_text(copy, json.dumps(bundle))
    assert report.imported == 1
    assert [r.source_index for r in report.rejected] == [1, 2, 3]
    assert "implementation" in report.rejected[1].reason
