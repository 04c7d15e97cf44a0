"""An app that asks the same question many times leaves many identical conversations under one
root; a continuation joins one of them (the newest still waiting for it) and the join reads one
candidate row, not one (with a count of its messages) per identical conversation."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations.models import Conversation, ModelCall
from conversations.recording import record_exchange
from tests.support.recorded_loop import exchanges, make_token

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_continuation_joins_the_newest_of_50_identical_conversations_reading_one(db):
    token = make_token()
    first, second = exchanges(token)
    for _ in range(50):
        record_exchange(first)
    newest = Conversation.objects.order_by("-pk").values_list("pk", flat=True)[0]

    with CaptureQueriesContext(connection) as queries:
        call = record_exchange(second)

    assert call.conversation_id == newest
    assert Conversation.objects.count() == 50
    assert ModelCall.objects.filter(conversation_id=newest).count() == 2
    [join] = [q["sql"] for q in queries.captured_queries if "continued_by_hash IN" in q["sql"]]
    assert join.rstrip().endswith("LIMIT 1")

    record_exchange(second)  # the loop run again: it continues the next one still waiting
    assert ModelCall.objects.filter(conversation_id=newest).count() == 2
    assert ModelCall.objects.filter(conversation_id=newest - 1).count() == 2
