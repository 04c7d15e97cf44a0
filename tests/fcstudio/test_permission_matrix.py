"""Every URL the project has, asked by every kind of person, in both read and write methods.

The URLconf is enumerated, so a new URL is covered the day it is added: it must either be a
team view listed in `EXPECTED_ROLES` with the roles this test expects (read and write, written
here, never read back from the decorator under test), or be listed here as deliberately public.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from conversations.models import (
    Batch,
    Comparison,
    Conversation,
    Message,
    ModelCall,
    Provider,
    ReplayJob,
    ToolExecution,
)
from conversations.tokens import create_token
from fcstudio.models import ROLE_RANK, Membership, Role

# Views outside any team: reachable by anyone logged in, or by anyone at all.
LOGIN_ONLY = {"home"}
PUBLIC = {"login", "logout", "favicon", "demo_model_chat_completions", "demo_model_models"}
V, E, A = Role.VIEWER, Role.EDITOR, Role.ADMIN
# name: (role needed to read, role needed to write)
EXPECTED_ROLES = {
    "team": (V, A),
    "member_role": (A, A),
    "audit": (A, A),
    "catalog_new": (E, E),
    "catalog": (V, E),
    "catalog_edit": (E, E),
    "catalog_delete": (A, A),
    "catalog_import": (E, E),
    "catalog_export": (V, E),
    "catalog_export_bundle": (V, E),
    "tool_new": (E, E),
    "tool_check": (E, E),
    "tool": (V, E),
    "tool_history": (V, E),
    "tool_delete": (E, E),
    "tool_guard_lab": (E, E),
    "batch_lab": (V, E),
    "batch_fill": (E, E),
    "tool_try": (E, E),
    "batch": (V, E),
    "batch_compare": (V, E),
    "providers": (V, A),
    "provider": (A, A),
    "provider_test": (E, E),
    "api_tokens": (A, A),
    "api_token_revoke": (A, A),
    "conversations": (V, E),
    "conversation_new": (E, E),
    "conversation_tool_search": (E, E),
    "conversation": (V, E),
    "conversation_waterfall": (V, E),
    "conversation_earlier_rounds": (V, E),
    "conversation_run": (E, E),
    "conversation_send": (E, E),
    "conversation_settings": (E, E),
    "conversation_stop": (E, E),
    "conversation_fork": (E, E),
    "conversation_delete": (E, E),
    "conversation_export": (V, E),
    "conversation_import": (E, E),
    "conversation_transcript": (V, E),
    "conversation_export_jsonl": (V, E),
    "message_add": (E, E),
    "message_edit": (E, E),
    "message": (V, E),
    "call_decide": (E, E),
    "model_call_raw": (V, E),
    "conversation_replay": (E, E),
    "conversation_replay_detail": (V, E),
    "comparison_new": (E, E),
    "comparison": (V, E),
    "replay_jobs": (V, E),
    "replay_job": (V, E),
    "replay_job_resume": (E, E),
    "call_answer": (E, E),
}
SAMPLE_KWARGS = {"team": "acme", "catalog": "travel", "tool": "get_weather"}


def all_patterns(resolvers=None) -> list[URLPattern]:
    found = []
    for entry in resolvers if resolvers is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue
            found.extend(all_patterns(entry.url_patterns))
        elif isinstance(entry, URLPattern):
            found.append(entry)
    return found


def named_patterns() -> list[tuple[str, object]]:
    return [(entry.name, entry.callback) for entry in all_patterns() if entry.name]


PATTERNS = named_patterns()
TEAM_VIEWS = [(name, view) for name, view in PATTERNS if hasattr(view, "required_role")]


@pytest.fixture
def batch(team, tool):
    provider = Provider.objects.create(team=team, name="P", base_url="http://127.0.0.1:9/v1")
    conversation = Conversation.objects.create(team=team, title="C", provider=provider, model="m")
    Message.objects.create(
        conversation=conversation,
        position=0,
        role="user",
        payload={"role": "user", "content": "hi"},
    )
    batch = Batch.objects.create(
        team=team,
        conversation=conversation,
        source="lab",
        strategy="asyncio",
        compare_group=Batch.new_compare_group(),
    )
    ToolExecution.objects.create(batch=batch, position=0, tool_call_id="c", tool_name="t")
    ModelCall.objects.create(
        conversation=conversation, round=0, request={"messages": []}, started_at=batch.created_at
    )
    # A replay of it, in the same group, so the replay page has one to show.
    Batch.objects.create(
        team=team,
        source="replay",
        strategy="asyncio",
        compare_group=batch.compare_group,
        replay_of=batch,
    )
    return batch


@pytest.fixture
def api_token(batch):
    return create_token(batch.team, batch.conversation.provider, name="app")[0]


def url_for(name: str, viewer_membership: Membership, batch: Batch, api_token=None) -> str:
    route = next(p for p in get_resolver().reverse_dict.getlist(name))
    params = route[0][0][1]
    kwargs = {key: SAMPLE_KWARGS[key] for key in params if key in SAMPLE_KWARGS}
    samples = {
        "member": viewer_membership.pk,
        "batch": batch.pk,
        "group": batch.compare_group,
        "conversation": batch.conversation_id,
        "provider_id": batch.conversation.provider_id,
        "token_id": api_token.pk,
        "execution": batch.executions.get().pk,
        "position": 0,
        "model_call": batch.conversation.model_calls.get().pk,
        "job": ReplayJob.objects.get_or_create(team=batch.team)[0].pk,
        "comparison": Comparison.objects.get_or_create(team=batch.team, message_count=1)[0].pk,
    }
    kwargs.update({key: value for key, value in samples.items() if key in params})
    return reverse(name, kwargs=kwargs)


def test_every_url_has_a_name_this_test_can_reach():
    unnamed = [str(entry.pattern) for entry in all_patterns() if not entry.name]
    assert unnamed == []


def test_every_url_declares_who_may_use_it():
    undeclared = [
        name
        for name, view in PATTERNS
        if not hasattr(view, "required_role") and name not in LOGIN_ONLY | PUBLIC
    ]
    assert undeclared == []


def test_every_team_view_is_pinned_to_the_expected_roles():
    declared = {
        name: (Role(view.required_role), Role(view.required_write_role))
        for name, view in TEAM_VIEWS
    }
    assert declared == EXPECTED_ROLES


@pytest.mark.parametrize("name", [name for name, _ in TEAM_VIEWS])
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_is_sent_to_log_in(name, method, people, batch, api_token):
    url = url_for(name, people.viewer.memberships.get(), batch, api_token)
    response = getattr(people.client_for("anonymous"), method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", [name for name, _ in TEAM_VIEWS])
@pytest.mark.parametrize("method", ["get", "post"])
def test_outsider_sees_nothing(name, method, people, batch, api_token):
    url = url_for(name, people.viewer.memberships.get(), batch, api_token)
    response = getattr(people.client_for("outsider"), method)(url)
    assert response.status_code == 404


@pytest.mark.parametrize(("name", "view"), TEAM_VIEWS, ids=[name for name, _ in TEAM_VIEWS])
@pytest.mark.parametrize("who", ["viewer", "editor", "admin"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_members_get_what_their_role_allows(name, view, who, method, people, batch, api_token):
    membership = getattr(people, who).memberships.get()
    url = url_for(name, people.viewer.memberships.get(), batch, api_token)
    read_role, write_role = EXPECTED_ROLES[name]
    needed = read_role if method == "get" else write_role
    response = getattr(people.client_for(who), method)(url)
    if ROLE_RANK[Role(membership.role)] < ROLE_RANK[Role(needed)]:
        assert response.status_code == 403
    else:
        assert response.status_code not in (403, 404, 500)


def test_home_needs_login_and_lists_only_your_teams(people, tool):
    assert people.client_for("anonymous").get(reverse("home")).status_code == 302
    page = people.client_for("outsider").get(reverse("home")).content.decode()
    assert "Elsewhere" in page
    assert "Acme" not in page
    page = people.client_for("viewer").get(reverse("home")).content.decode()
    assert "Acme" in page and "Travel" in page
