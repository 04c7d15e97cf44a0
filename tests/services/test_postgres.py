"""The catalog on a real PostgreSQL: BFCL import, jsonb round trips, bundles, constraints."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction

from tests.conftest import service_unavailable
from tools_app import catalog as catalog_ops
from tools_app.models import Catalog, Tool

pytestmark = pytest.mark.services

PARAMETERS = {
    "type": "object",
    "properties": {
        "city": {
            "type": "string",
            "enum": ["Zürich", "東京", "São Paulo"],
            "description": 'Ville — 城市 🌍, with "quotes" and a \\ backslash.',
        },
        "route": {
            "type": "array",
            "items": {"type": "array", "items": {"type": "number"}},
            "examples": [[[1.5, -2], [3, 4e-9]], [], [[None]]],
        },
    },
    "required": ["city"],
}


@pytest.fixture(scope="session", autouse=True)
def postgres() -> None:
    if connection.vendor != "postgresql":
        service_unavailable(
            f"DATABASE_URL is not PostgreSQL (the database is {connection.vendor}); "
            "set DATABASE_URL=postgres://postgres@127.0.0.1:5432/fcstudio"
        )
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    try:
        psycopg.connect(**params | {"dbname": "postgres", "connect_timeout": 3}).close()
    except psycopg.OperationalError as exc:
        service_unavailable(f"PostgreSQL is unreachable: {exc}")


def test_bfcl_parallel_import(catalog: Catalog, bfcl_dir: Path) -> None:
    text = (bfcl_dir / "BFCL_v4_parallel.json").read_text(encoding="utf-8")
    report = catalog_ops.import_text(catalog, text)
    assert (report.imported, report.rejected) == (198, [])
    assert catalog.tools.count() == 198


def test_parameters_round_trip_through_jsonb(catalog: Catalog) -> None:
    tool = Tool.objects.create(catalog=catalog, name="geo", parameters=PARAMETERS)
    assert Tool.objects.get(pk=tool.pk).parameters == PARAMETERS
    found = Tool.objects.filter(parameters__contains={"properties": {"city": {"enum": ["東京"]}}})
    assert list(found) == [tool]


def test_bundle_round_trip(tool: Tool, people, bfcl_dir: Path) -> None:
    catalog_ops.import_text(tool.catalog, (bfcl_dir / "BFCL_v4_parallel.json").read_text())
    tool.parameters = PARAMETERS
    catalog_ops.save_tool(tool, author=people.admin, message="Unicode cities")
    bundle = catalog_ops.export_bundle(tool.catalog)
    copy = Catalog.objects.create(team=tool.catalog.team, name="Copy", slug="copy")
    report = catalog_ops.import_text(copy, json.dumps(bundle))
    assert (report.imported, report.rejected) == (199, [])
    assert catalog_ops.export_bundle(copy) | {"catalog": None} == bundle | {"catalog": None}


def test_tool_names_are_unique_in_a_catalog(tool: Tool) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Tool.objects.create(catalog=tool.catalog, name=tool.name)
    assert tool.catalog.tools.count() == 1
