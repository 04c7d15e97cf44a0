"""`manage.py create_api_token` prints only a working token, stored as its hash."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from conversations.models import ApiToken
from conversations.tokens import find_token, token_hash


def test_it_prints_only_the_token(team, provider):
    out = StringIO()
    call_command("create_api_token", team="acme", provider="Scripted", stdout=out)
    token = out.getvalue().strip()
    assert token.startswith("fcs_") and "\n" not in token and len(token) > 40
    stored = ApiToken.objects.get()
    assert stored.token_hash == token_hash(token) and token not in stored.token_hash
    assert find_token(token) == stored and stored.provider == provider


@pytest.mark.parametrize(
    ("slug", "name", "complaint"),
    [("nope", "Scripted", "No team"), ("acme", "Missing", "no provider named")],
)
def test_it_names_what_it_could_not_find(slug, name, complaint, provider):
    with pytest.raises(CommandError, match=complaint):
        call_command("create_api_token", team=slug, provider=name, stdout=StringIO())
    assert not ApiToken.objects.exists()


def test_it_refuses_a_name_too_long_instead_of_cutting_it(provider):
    with pytest.raises(CommandError, match="144 characters; at most 100"):
        call_command(
            "create_api_token", team="acme", provider="Scripted", name="n" * 144, stdout=StringIO()
        )
    assert not ApiToken.objects.exists()
