"""A batch's wall time and a Try it call's time past a second read in seconds ("15.0 s"), through
the one duration filter (`fcstudio.templatetags.studio.ms`), not as "15001.6 ms"."""

from __future__ import annotations

from conversations.models import Batch
from fcstudio.templatetags.studio import ms
from tools_app import catalog as catalog_ops


def test_a_long_batch_reads_in_seconds(people, team, tool):
    batch = Batch.objects.create(
        team=team, source="lab", strategy="sequential", wall_ms=15001.6, sum_call_ms=30003.2
    )
    page = people.client_for("viewer").get(f"/t/acme/batches/{batch.pk}/").content.decode()
    assert '<dd class="wall">15.0 s</dd>' in page
    assert '<dd class="sum">30.0 s</dd>' in page
    assert "15001.6" not in page
    assert people.client_for("outsider").get(f"/t/acme/batches/{batch.pk}/").status_code == 404


def test_a_quick_batch_still_reads_in_milliseconds(people, team, tool):
    batch = Batch.objects.create(
        team=team, source="lab", strategy="asyncio", wall_ms=61.24, sum_call_ms=244.9
    )
    page = people.client_for("viewer").get(f"/t/acme/batches/{batch.pk}/").content.decode()
    assert '<dd class="wall">61.2 ms</dd>' in page and '<dd class="sum">245 ms</dd>' in page


def test_a_try_it_call_past_a_second_reads_in_seconds(people, tool):
    tool.implementation_config = {**tool.implementation_config, "latency_ms": 1000}
    catalog_ops.save_tool(tool)
    html = (
        people.client_for("editor")
        .post("/t/acme/c/travel/tools/get_weather/try/", {"arg-city": "Porto"})
        .content.decode()
    )
    duration = Batch.objects.get(source="try").executions.get().duration_ms
    assert duration >= 1000 and ms(duration).endswith(" s")
    assert f'<span id="try-duration">{ms(duration)}</span>' in html
