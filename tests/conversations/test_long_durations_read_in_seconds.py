"""A batch's wall time and its calls' times, a Try it call's time, and a conversation's tool time
and model calls past a second read in seconds ("15.0 s"), through the one duration filter
(`fcstudio.templatetags.studio.ms`), not as "15001.6 ms"."""

from __future__ import annotations

from django.utils import timezone

from conversations import compose
from conversations.models import Batch, ModelCall, ToolExecution
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


def test_a_long_call_reads_in_seconds_on_the_batch_page(people, team, tool):
    batch = Batch.objects.create(team=team, source="lab", strategy="sequential", wall_ms=16400)
    ToolExecution.objects.create(
        batch=batch,
        position=0,
        tool_call_id="c0",
        tool_name="get_weather",
        status="ok",
        queued_ms=0,
        started_ms=1250,
        finished_ms=16400,
    )
    page = people.client_for("viewer").get(f"/t/acme/batches/{batch.pk}/").content.decode()
    assert "<th>Queued → start → end</th>" in page
    assert '<td class="small">0.00 ms → 1.25 s → 16.4 s</td>' in page
    table = page.split('<table id="executions">')[1].split("</table>")[0]
    assert "16400" not in table and "1250" not in table


def test_long_tool_and_model_times_read_in_seconds_on_the_conversation_page(
    people, team, provider, tool
):
    data = {"provider": provider, "user": "Weather?", "tools": [tool]}
    conversation = compose.create_conversation(team, people.editor, data)
    ModelCall.objects.create(
        conversation=conversation,
        round=0,
        request={},
        ok=True,
        started_at=timezone.now(),
        duration_ms=12500,
        first_token_ms=1250,
    )
    batch = Batch.objects.create(
        team=team,
        conversation=conversation,
        source="conversation",
        strategy="asyncio",
        round=0,
        wall_ms=15001.6,
        sum_call_ms=30003.2,
    )
    for n in range(2):
        ToolExecution.objects.create(
            batch=batch,
            position=n,
            tool_call_id=f"c{n}",
            tool_name="get_weather",
            status="ok",
            queued_ms=0,
            started_ms=0,
            finished_ms=15001.6,
        )
    url = f"/t/acme/conversations/{conversation.pk}/"

    page = people.client_for("viewer").get(url).content.decode()

    assert "<div><dt>Tool wall time</dt><dd>15.0 s</dd></div>" in page
    assert '<dd id="summary-sum">30.0 s</dd>' in page
    assert "model 12.5 s (first token 1.25 s)" in page
    assert "<th>Time</th>" in page
    assert page.count('<td class="small">15.0 s') == 2
    assert "15002" not in page and "12500" not in page and "15001.6" not in page
    assert people.client_for("outsider").get(url).status_code == 404
