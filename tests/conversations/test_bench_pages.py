"""``manage.py bench_pages`` renders the batch page and both conversation pages (by rounds and
by calls) and leaves nothing behind."""

from __future__ import annotations

import json
from io import StringIO

from django.core.management import call_command

from conversations.models import Batch, Conversation
from fcstudio.models import Team


def test_bench_pages_reports_both_pages_and_rolls_back(db):
    out = StringIO()
    call_command(
        "bench_pages", calls=30, rounds=3, conversation_calls=25, repeat=2, json=True, stdout=out
    )
    report = json.loads(out.getvalue())
    batch, conversation, large = report["pages"]
    assert batch["page"] == "batch of 30 calls" and batch["renders"] == 2
    assert conversation["page"] == "conversation of 3 rounds"
    assert large["page"] == "conversation of 25 calls" and large["renders"] == 2
    assert all(page["queries"] > 0 and page["p50_ms"] <= page["p95_ms"] for page in report["pages"])
    assert not Team.objects.exists() and not Batch.objects.exists()
    assert not Conversation.objects.exists()
