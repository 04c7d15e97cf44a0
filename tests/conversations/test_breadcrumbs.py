"""Breadcrumbs are links a person can follow back up: catalogs, and a batch's batches."""

from __future__ import annotations

import json

from conversations.models import Batch

LAB = "/t/acme/c/travel/lab/"


def test_the_catalog_crumb_leads_to_the_teams_catalog_list(people, catalog):
    client = people.client_for("viewer")
    page = client.get("/t/acme/c/travel/").content.decode()
    assert '<a href="/t/acme/#catalogs">catalogs</a>' in page
    assert 'id="catalogs"' in client.get("/t/acme/").content.decode()


def test_a_lab_batch_crumb_leads_to_its_catalogs_lab(people, tool):
    client = people.client_for("editor")
    calls = [{"name": "get_weather", "arguments": {"city": "Oslo"}}]
    location = client.post(LAB, {"calls": json.dumps(calls), "strategy": "asyncio"})["Location"]
    page = client.get(location).content.decode()
    assert '<a href="/t/acme/c/travel/lab/">batches</a>' in page
    assert '<a href="/t/acme/c/travel/">Travel</a>' in page


def test_compared_batches_lead_to_the_lab_too(people, tool):
    client = people.client_for("editor")
    calls = [{"name": "get_weather", "arguments": {"city": "Oslo"}}]
    location = client.post(
        LAB, {"calls": json.dumps(calls), "strategy": "asyncio", "compare": "1"}
    )["Location"]
    assert '<a href="/t/acme/c/travel/lab/">batches</a>' in client.get(location).content.decode()


def test_a_batch_of_calls_to_no_known_tool_leads_to_the_team(people, tool):
    client = people.client_for("editor")
    calls = [{"name": "nope", "arguments": {}}]
    location = client.post(LAB, {"calls": json.dumps(calls), "strategy": "asyncio"})["Location"]
    assert Batch.objects.get().executions.get().tool is None
    assert '<a href="/t/acme/">batches</a>' in client.get(location).content.decode()
