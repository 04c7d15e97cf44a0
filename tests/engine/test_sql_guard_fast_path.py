"""The SQL guard's lexer, which tries only the rules that can begin with the character at hand,
reaches exactly the verdict (and the tokens) that sqlparse's own lexer does."""

from __future__ import annotations

from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlparse import lexer

from tools_app.engine import guards
from tools_app.engine.guards import SqlGuard, sql_tokens_of

from .test_sql_tokens import SQL_WORDS

ASCII = [chr(code) for code in range(128)]


def sqlparse_verdict(query: str) -> str | None:
    with patch.object(guards, "sql_tokens_of", lexer.tokenize):
        return SqlGuard().check(query)


def test_every_ascii_character_in_every_position_lexes_alike():
    for char in ASCII:
        for query in (char, f"x{char}", f"{char}x", f"SELECT {char}1", f"'{char}'", f"1{char}a"):
            assert list(sql_tokens_of(query)) == list(lexer.tokenize(query)), query


@settings(max_examples=500)
@given(
    st.lists(st.sampled_from(SQL_WORDS + ASCII), max_size=30).map("".join)
    | st.lists(st.sampled_from(SQL_WORDS), max_size=25).map(" ".join).map("SELECT ".__add__)
    | st.text(max_size=40)
)
def test_the_verdict_is_sqlparses(query):
    assert SqlGuard().check(query) == sqlparse_verdict(query)
    assert list(sql_tokens_of(query)) == list(lexer.tokenize(query))
