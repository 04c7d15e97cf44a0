"""export_audit: a team's trail as JSON lines or CSV on stdout, oldest first."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from fcstudio import audit


def export(*args: str) -> str:
    out = io.StringIO()
    call_command("export_audit", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def events(people, catalog):
    audit.record(catalog.team, audit.Kind.CATALOG_CREATE, people.admin, catalog, {"slug": "x"})
    audit.record(catalog.team, audit.Kind.RUN_START, "token:ci", None, {"api_key": "sk-abc"})


def test_jsonl_has_one_object_per_event_oldest_first(events):
    lines = [json.loads(line) for line in export("--team=acme", "--format=jsonl").splitlines()]
    ours = [line for line in lines if line["kind"] != "login"]
    assert [(e["kind"], e["actor"], e["object"]) for e in ours] == [
        ("catalog.create", "ada", "Travel"),
        ("run.start", "token:ci", ""),
    ]
    assert ours[1]["details"]["api_key"].startswith("\u2039redacted:")


def test_csv_has_a_header_and_json_details(events):
    rows = list(csv.DictReader(io.StringIO(export("--team=acme", "--format=csv"))))
    created = next(row for row in rows if row["kind"] == "catalog.create")
    assert created["object_type"] == "tools_app.catalog"
    assert json.loads(created["details"]) == {"slug": "x"}
    assert "sk-abc" not in export("--team=acme", "--format=csv")


def test_since_leaves_older_events_out(events):
    later = (timezone.now() + timedelta(minutes=5)).isoformat()
    assert export("--team=acme", f"--since={later}") == ""


def test_unknown_team_and_bad_time_are_errors(events):
    with pytest.raises(CommandError, match="No team"):
        export("--team=nope")
    with pytest.raises(CommandError, match="ISO 8601"):
        export("--team=acme", "--since=yesterday")
