"""`manage.py import_conversation PATH --team SLUG` prints each new conversation's id and page."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from conversations.models import Conversation

from .transcript_samples import json_lines


def test_it_prints_the_new_conversations(team, tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text(
        json_lines() + '{"request": {"messages": [{"role": "user", "content": "x"}]}}\n'
    )
    out = StringIO()
    call_command("import_conversation", str(path), team="acme", stdout=out)
    first, second = Conversation.objects.order_by("pk")
    assert out.getvalue() == (
        f"{first.pk}\t/t/acme/conversations/{first.pk}/\n"
        f"{second.pk}\t/t/acme/conversations/{second.pk}/\n"
    )
    assert first.recorded and second.model_calls.get().error_kind == "none"


@pytest.mark.parametrize(
    ("content", "slug", "complaint"),
    [
        (json_lines(), "nope", "No team"),
        ("[1, 2", "acme", "not JSON"),
        (b"\xff\xfe[]", "acme", "not UTF-8"),
    ],
)
def test_it_says_why_and_imports_nothing(tmp_path, team, content, slug, complaint):
    path = tmp_path / "t.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(CommandError, match=complaint):
        call_command("import_conversation", str(path), team=slug, stdout=StringIO())
    assert not Conversation.objects.exists()


def test_a_missing_file_is_named(team, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_conversation", str(tmp_path / "no.json"), team="acme")
