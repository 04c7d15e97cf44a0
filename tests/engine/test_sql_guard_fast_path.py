"""The SQL guard, with its own lexer (only the rules that can begin with the character at hand)
and its token types sorted once, reaches exactly the verdict of the guard as first written:
sqlparse's lexer and its token types' `in`, which `sqlparse_verdict` keeps as the reference."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlparse import lexer
from sqlparse import tokens as T

from tools_app.engine.guards import SqlGuard, sql_tokens_of

from .test_sql_tokens import SQL_WORDS

ASCII = [chr(code) for code in range(128)]


def sqlparse_verdict(value: str) -> str | None:  # the guard as first written
    if len(value) > 10_000:
        return "the query is longer than 10000 characters"
    if "\\" in value:
        return "backslashes are refused (SQL dialects disagree on string escapes)"
    first = True
    ended = False
    for ttype, text in lexer.tokenize(value):
        if ttype in T.Whitespace or ttype is T.Newline:
            continue
        if ttype in T.Comment:
            return "comments are refused (they can hide statements)"
        if ended:
            return "more than one statement"
        if ttype is T.Punctuation and text == ";":
            ended = True
            continue
        if ttype in T.Error:
            return f"unreadable SQL near {text[:20]!r}"
        upper = text.upper()
        if first:
            first = False
            if not (ttype in T.DML and upper == "SELECT") and ttype not in T.CTE:
                return f"only a SELECT is allowed, not {text[:20]!r}"
            continue
        if ttype in T.DML and upper != "SELECT":
            return f"{upper} is not read-only"
        if ttype in T.DDL:
            return f"{upper} is not allowed in a query"
        if ttype in T.Keyword and upper == "INTO":
            return "SELECT … INTO writes a table"
        if ttype is T.Literal and text.startswith("$"):
            return "dollar-quoted strings are refused (dialects disagree on them)"
    if first:
        return "the query is empty"
    return None


KNOWN = [
    "SELECT id FROM t",
    "with x as (select 1) select * from x",
    "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
    "SELECT 1; SELECT 2",
    "SELECT 1;",
    "SELECT a INTO b FROM c",
    "SELECT $$x$$",
    "SELECT 1 /* c */",
    "SELECT 1 -- c",
    "DROP TABLE t",
    "select * from t for update",
    "CREATE TABLE t (a int)",
    "",
    "   ",
    "\x1b",
]


def test_known_verdicts():
    for query in KNOWN:
        assert SqlGuard().check(query) == sqlparse_verdict(query), query


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
