"""import_tools and export_tools: one JSON line of counts, exit codes, and lossless round trips."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tools_app import catalog as catalog_ops
from tools_app.importers import parse_import
from tools_app.models import Catalog, ToolVersion

GOOD = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
BAD = {"type": "function", "function": {"name": "broken", "parameters": "nope"}}


def run(name: str, *args: str) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(name, *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def import_counts(*args: str) -> dict[str, int]:
    stdout, _ = run("import_tools", *args)
    [line] = stdout.splitlines()
    return json.loads(line)


@pytest.mark.parametrize(
    ("filename", "count"), [("BFCL_v4_parallel.json", 198), ("BFCL_v4_simple_python.json", 400)]
)
def test_import_bfcl_creates_team_and_catalog(db, bfcl_dir: Path, filename: str, count: int):
    counts = import_counts(str(bfcl_dir / filename), "--catalog", "BFCL", "--team", "lab")
    assert counts == {
        "imported": count,
        "normalised": count,
        "rejected": 0,
        "created": count,
        "updated": 0,
    }
    catalog = Catalog.objects.get(team__slug="lab", slug="bfcl")
    assert catalog.tools.count() == count


def test_reimport_changes_nothing(db, bfcl_dir: Path):
    path = str(bfcl_dir / "BFCL_v4_parallel.json")
    import_counts(path, "--catalog", "bfcl")
    counts = import_counts(path, "--catalog", "bfcl")
    assert (counts["imported"], counts["created"], counts["updated"]) == (198, 0, 0)
    assert ToolVersion.objects.count() == 198


def test_strict_exits_1_but_keeps_the_good_entries(db, tmp_path: Path):
    path = tmp_path / "tools.json"
    path.write_text(json.dumps([GOOD, BAD]))
    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command(
            "import_tools", str(path), "--catalog", "c", "--strict", stdout=stdout, stderr=stderr
        )
    assert exit_info.value.code == 1
    assert json.loads(stdout.getvalue())["rejected"] == 1
    assert stderr.getvalue().startswith("rejected entry 2 'broken': The parameters are a string")
    assert list(Catalog.objects.get(slug="c").tools.values_list("name", flat=True)) == [
        "get_weather"
    ]


def test_unreadable_path(db, tmp_path: Path):
    missing = tmp_path / "missing.json"
    with pytest.raises(CommandError) as error:
        run("import_tools", str(missing), "--catalog", "c")
    assert str(error.value).startswith(f"Cannot read {missing}: [Errno 2] No such file")


def test_invalid_json(db, tmp_path: Path):
    path = tmp_path / "tools.json"
    path.write_text("{not json")
    with pytest.raises(CommandError) as error:
        run("import_tools", str(path), "--catalog", "c")
    assert str(error.value).startswith("Not valid JSON: Expecting property name")


def test_export_is_an_openai_tools_array(db, bfcl_dir: Path):
    import_counts(str(bfcl_dir / "BFCL_v4_parallel.json"), "--catalog", "bfcl")
    catalog = Catalog.objects.get(slug="bfcl")
    stdout, _ = run("export_tools", "--catalog", "bfcl")
    exported: list[dict[str, Any]] = json.loads(stdout)
    assert {entry["type"] for entry in exported} == {"function"}
    assert [entry["function"]["name"] for entry in exported] == list(
        catalog.tools.order_by("name").values_list("name", flat=True)
    )
    reread = parse_import(stdout)
    assert (reread.format, reread.rejected, reread.normalised_count) == ("openai-tools", [], 0)


def test_bundle_reimports_from_stdin(db, tool, monkeypatch):
    bundle_text, _ = run("export_tools", "--catalog", "travel", "--bundle")
    monkeypatch.setattr("sys.stdin", io.StringIO(bundle_text))
    counts = import_counts("-", "--catalog", "copy", "--team", tool.catalog.team.slug)
    assert (counts["imported"], counts["created"], counts["rejected"]) == (1, 1, 0)
    original = json.loads(bundle_text)
    copy = catalog_ops.export_bundle(Catalog.objects.get(slug="copy"))
    assert copy | {"catalog": None} == original | {"catalog": None}
