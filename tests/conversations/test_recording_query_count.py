"""Recording a proxied exchange costs a few queries, however long its conversation already is:
the recorder runs beside the proxy, in its process, for every request, and each query it spends
is CPU taken from the requests being relayed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations.models import Conversation, ModelCall
from conversations.provider import AssistantTurn, ToolCallDraft
from conversations.recording import RecordedExchange, record_exchange
from tests.support.recorded_loop import QUESTION, T0, exchanges, make_token

pytestmark = pytest.mark.django_db(transaction=True)

# Statements other than BEGIN, COMMIT and savepoints; a database that locks rows (PostgreSQL)
# spends one more, on the token's row.
AT_MOST_FOR_A_NEW_CONVERSATION = 4
AT_MOST_FOR_A_CONTINUATION = 7
AT_MOST_FOR_A_LATE_EXCHANGE = 9
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT")


@pytest.fixture
def token(db):
    return make_token()


def queries_of(exchange: RecordedExchange) -> int:
    with CaptureQueriesContext(connection) as captured:
        record_exchange(exchange)
    statements = [q["sql"] for q in captured.captured_queries]
    work = [sql for sql in statements if not sql.upper().startswith(TRANSACTION_CONTROL)]
    return len(work) - (1 if connection.features.has_select_for_update else 0)


def test_a_first_exchange_opens_its_conversation_in_a_few_queries(token):
    first, _ = exchanges(token)

    assert queries_of(first) <= AT_MOST_FOR_A_NEW_CONVERSATION
    assert Conversation.objects.get().messages.count() == 3


def test_a_continuation_costs_the_same_few_queries_however_long_the_loop(token):
    """Round after round of one agent loop: each exchange asks for a tool call and the next
    sends its result back; the fortieth costs what the second did."""
    messages = list(QUESTION)
    counts = []
    for round_number in range(40):
        call_id = f"call_{round_number}"
        turn = AssistantTurn(
            content=None,
            tool_calls=[ToolCallDraft(0, call_id, "get_weather", '{"city": "Oslo"}')],
            finish_reason="tool_calls",
        )
        exchange = RecordedExchange(
            team_id=token.team_id,
            token_id=token.pk,
            provider_id=token.provider_id,
            request={"model": "m", "messages": list(messages)},
            started_at=T0 + timedelta(seconds=round_number),
            duration_ms=100.0,
            turn=turn,
        )
        counts.append(queries_of(exchange))
        messages += [turn.to_message(), {"role": "tool", "tool_call_id": call_id, "content": "3"}]

    conversation = Conversation.objects.get()
    assert conversation.model_calls.count() == 40
    assert conversation.batches.count() == 39
    assert max(counts[1:]) <= AT_MOST_FOR_A_CONTINUATION
    assert counts[-1] == counts[1]


def test_an_exchange_recorded_after_its_successor_takes_a_few_queries_more(token):
    first, second = exchanges(token)
    record_exchange(second)

    assert queries_of(first) <= AT_MOST_FOR_A_LATE_EXCHANGE
    assert [call.round for call in ModelCall.objects.order_by("round")] == [0, 1]
