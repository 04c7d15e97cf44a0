"""The lab's Recent batches: Try it runs say so with their real duration; speed-up only for many."""

from __future__ import annotations

import json
import re

from conversations.models import Batch, BatchSource

LAB = "/t/acme/c/travel/lab/"


def recent_items(page: str) -> list[str]:
    listing = page.split('id="recent-batches"')[1].split("</ul>")[0]
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", item)).strip()
        for item in listing.split("<li>")[1:]
    ]


def test_a_try_it_run_is_labelled_with_its_tool_and_duration_and_no_speedup(people, tool):
    client = people.client_for("editor")
    client.post(f"/t/acme/c/travel/tools/{tool.name}/try/", {"arguments": '{"city": "Oslo"}'})
    batch = Batch.objects.get(source=BatchSource.TRY)
    Batch.objects.filter(pk=batch.pk).update(wall_ms=0.42, speedup=0.0)
    (item,) = recent_items(client.get(LAB).content.decode())
    assert item == "Try it get_weather 0.42 ms"


def test_a_lab_batch_shows_its_calls_and_speedup_but_a_single_call_no_speedup(people, tool):
    client = people.client_for("editor")
    many = [{"name": "get_weather", "arguments": {"city": f"C{i}"}} for i in range(3)]
    one = many[:1]
    client.post(LAB, {"calls": json.dumps(many), "strategy": "asyncio"})
    client.post(LAB, {"calls": json.dumps(one), "strategy": "asyncio"})
    first, second = Batch.objects.order_by("pk")
    Batch.objects.filter(pk=first.pk).update(wall_ms=61.26, speedup=2.94)
    Batch.objects.filter(pk=second.pk).update(wall_ms=60.5, speedup=0.99)
    newest, oldest = recent_items(client.get(LAB).content.decode())
    assert newest == f"Batch {second.pk} asyncio · 1 call · 60.5 ms"
    assert oldest == f"Batch {first.pk} asyncio · 3 calls · 61.3 ms · 2.9\u00d7"
    assert people.client_for("outsider").get(LAB).status_code == 404
