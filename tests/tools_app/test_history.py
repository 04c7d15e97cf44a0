"""Version history and the diff of any two versions."""

from __future__ import annotations

from tools_app import catalog as catalog_ops
from tools_app.views import snapshot_diff

HISTORY = "/t/acme/c/travel/tools/get_weather/history/"


def add_version(tool, author, **changes):
    for key, value in changes.items():
        setattr(tool, key, value)
    return catalog_ops.save_tool(tool, author=author, message=f"set {', '.join(changes)}")


def test_history_lists_versions_newest_first_with_author_and_message(people, tool):
    add_version(tool, people.admin, description="Weather now.")
    page = people.client_for("viewer").get(HISTORY).content.decode()
    assert page.index("<td>v2</td>") < page.index("<td>v1</td>")
    assert "set description" in page and "ada" in page and "First draft" in page


def test_the_latest_change_is_diffed_by_default(people, tool):
    add_version(tool, people.admin, description="Weather now.")
    page = people.client_for("viewer").get(HISTORY).content.decode()
    removed = "-  &quot;description&quot;: &quot;Current weather for a city.&quot;,"
    assert f'<div class="del">{removed}</div>' in page
    assert '<div class="add">+  &quot;description&quot;: &quot;Weather now.&quot;,</div>' in page


def test_any_two_versions_can_be_compared(people, tool):
    add_version(tool, people.admin, description="Two.")
    add_version(tool, people.admin, timeout_s=5.0)
    page = people.client_for("viewer").get(HISTORY, {"a": 1, "b": 3}).content.decode()
    assert "v1 → v3" in page
    assert "&quot;timeout_s&quot;: 5.0" in page
    assert "Two." in page


def test_comparing_versions_that_do_not_exist_says_so(people, tool):
    add_version(tool, people.admin, description="Two.")
    for query in ({"a": 1, "b": 9}, {"a": "x", "b": 1}, {"a": 0, "b": 1}):
        response = people.client_for("viewer").get(HISTORY, query)
        assert response.status_code == 200
    assert "Pick two versions this tool has." in (
        people.client_for("viewer").get(HISTORY, {"a": 1, "b": 9}).content.decode()
    )


def test_snapshot_diff_marks_added_removed_and_context_lines():
    rows = snapshot_diff({"a": 1, "b": 2}, {"a": 1, "b": 3})
    assert ("del", '-  "b": 2') in rows
    assert ("add", '+  "b": 3') in rows
    assert rows[0][0] == "hunk"
    assert snapshot_diff({"a": 1}, {"a": 1}) == []
