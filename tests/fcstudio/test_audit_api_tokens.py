"""Making and revoking an API token leave audit events naming who did it, never the token."""

from __future__ import annotations

import io
import json
import re

from django.core.management import call_command
from django.urls import reverse

from conversations.tokens import create_token
from fcstudio.models import AuditEvent


def rows() -> str:
    return json.dumps(list(AuditEvent.objects.values()), default=str)


def test_a_token_made_in_the_ui_and_revoked_is_on_the_trail(people, team, provider):
    client = people.client_for("admin")
    page = client.post(
        reverse("api_tokens", kwargs={"team": "acme"}),
        {"name": "support bot", "provider": provider.pk},
        follow=True,
    ).content.decode()
    token = re.search(r"fcs_[A-Za-z0-9_-]{43}", page).group(0)
    made = AuditEvent.objects.get(kind="token.create")
    assert (made.actor_user, made.object_label, made.details) == (
        people.admin,
        "support bot",
        {"provider": provider.name},
    )

    record = made.object_id
    client.post(reverse("api_token_revoke", kwargs={"team": "acme", "token_id": record}))
    revoked = AuditEvent.objects.get(kind="token.revoke")
    assert revoked.actor_user == people.admin
    assert token not in rows() and token[4:12] not in rows()


def test_revoking_twice_records_once(people, team, provider):
    record, _ = create_token(team, provider, name="old")
    url = reverse("api_token_revoke", kwargs={"team": "acme", "token_id": record.pk})
    people.client_for("admin").post(url)
    people.client_for("admin").post(url)
    assert AuditEvent.objects.filter(kind="token.revoke").count() == 1


def test_a_token_made_by_the_command_names_the_command(team, provider):
    out = io.StringIO()
    call_command("create_api_token", team="acme", provider=provider.name, stdout=out)
    made = AuditEvent.objects.get(kind="token.create")
    assert made.actor_user is None
    assert made.actor_label == "manage.py create_api_token"
    assert out.getvalue().strip() not in rows()
