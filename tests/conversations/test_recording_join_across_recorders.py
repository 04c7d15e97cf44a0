"""An agent loop is one recorded conversation however its exchanges reach the database: recorded
out of order (its second exchange by another proxy process before the first), or at once from
two threads. The join is decided in the database, never in a recorder's memory."""

from __future__ import annotations

import pytest

from conversations.models import Conversation
from conversations.recording import record_exchange
from tests.support.recorded_loop import assert_one_loop, exchanges, make_token, record_at_once

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def token(db):
    return make_token()


def test_exchanges_recorded_in_order_make_one_conversation(token):
    first, second = exchanges(token)
    record_exchange(first)
    record_exchange(second)
    assert_one_loop()


def test_the_second_exchange_recorded_first_still_makes_one_conversation(token):
    first, second = exchanges(token)
    record_exchange(second)  # by another proxy process, whose queue was quicker
    record_exchange(first)
    assert_one_loop()


def test_exchanges_recorded_at_once_from_two_threads_make_one_conversation(token):
    record_at_once(token)
    assert_one_loop()


def test_the_same_question_asked_again_is_another_conversation(token):
    first, second = exchanges(token)
    record_exchange(first)
    record_exchange(second)
    record_exchange(exchanges(token)[0])  # the app runs its loop again from the start
    assert Conversation.objects.count() == 2
