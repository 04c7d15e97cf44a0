"""The Django admin, for operators: reachable by staff, and it never shows secrets."""

from __future__ import annotations

from django.test import Client

from conversations.models import Provider
from conversations.providers import set_api_key
from fcstudio import secrets
from tools_app import catalog as catalog_ops
from tools_app.models import Tool


def test_admin_pages_mask_header_secrets_and_provider_keys(people, catalog, team):
    people.admin.is_staff = people.admin.is_superuser = True
    people.admin.save()
    hooked = Tool(
        catalog=catalog,
        name="hook",
        parameters={"type": "object"},
        implementation_kind="http",
        implementation_config={
            "url": "https://example.com/hook",
            "method": "POST",
            "headers": {"Authorization": {"secret": secrets.encrypt("Bearer s3cret")}},
        },
    )
    catalog_ops.save_tool(hooked)
    provider = Provider(team=team, name="P", base_url="https://api.example.com/v1")
    set_api_key(provider, "sk-admin-visible-never-1234")
    provider.save()
    client = Client()
    client.force_login(people.admin)
    token = hooked.implementation_config["headers"]["Authorization"]["secret"]
    for url in (
        f"/admin/tools_app/tool/{hooked.pk}/change/",
        f"/admin/tools_app/toolversion/{hooked.versions.get().pk}/change/",
        f"/admin/conversations/provider/{provider.pk}/change/",
        "/admin/conversations/conversation/",
        "/admin/conversations/batch/",
    ):
        response = client.get(url)
        page = response.content.decode()
        assert response.status_code == 200, url
        assert "s3cret" not in page and token not in page
        assert "sk-admin-visible-never" not in page and provider.api_key_encrypted not in page
    assert (
        "example.com/hook"
        in client.get(f"/admin/tools_app/tool/{hooked.pk}/change/").content.decode()
    )


def test_members_who_are_not_staff_cannot_use_the_admin(people):
    assert people.client_for("admin").get("/admin/").status_code == 302
