"""The SQL guard's one-pass lexer gives exactly sqlparse's tokens."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlparse import lexer

from tools_app.engine.guards import sql_tokens_of

SQL_WORDS = [
    "SELECT", "select", "FROM", "WHERE", "INTO", "DROP", "TABLE", "WITH", "AS", "DELETE",
    "UPDATE", "INSERT", "JOIN", "LEFT JOIN", "ORDER BY", "GROUP  BY", "NOT NULL", "x", "t1",
    "'a''b'", "'it\\'s'", '"col"', "`q`", "[n]", "1", "-2.5", "0x1F", "1e-3", ";", ",", "(", ")",
    "*", "=", "<>", "--c\n", "# c\n", "#x", "@v", ":p", "?", "%s", "::", ":=", "\n", "\r\n",
    "\t", " ", "é", "ü", "\x00", "$1", "/* c */", "$$a$$", "|", "->>",
]  # fmt: skip


@pytest.mark.parametrize(
    "query",
    [
        "SELECT id, name FROM customers WHERE region = 'north' ORDER BY name LIMIT 50",
        "select 'DROP TABLE' as s; drop table x",
        "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
        "SELECT a.b, c::int FROM t LEFT OUTER JOIN u ON t.id=u.id -- trailing\n",
        "SELECT 'unterminated",
        "",
    ],
)
def test_known_queries(query):
    assert list(sql_tokens_of(query)) == list(lexer.tokenize(query))


@settings(max_examples=300)
@given(
    st.lists(st.sampled_from(SQL_WORDS), max_size=25).map(" ".join)
    | st.lists(st.sampled_from(SQL_WORDS), max_size=25).map("".join)
    | st.text(max_size=40)
)
def test_random_sql_like_text(query):
    assert list(sql_tokens_of(query)) == list(lexer.tokenize(query))
