"""Test connection never becomes a window onto an internal service: a refused target is refused
before any connection, and what a non-public server says beyond an API error is never shown."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from conversations.models import Provider
from conversations.providers import set_api_key

PROVIDERS = "/t/acme/providers/"
INTERNAL = b"INTERNAL-ONLY-DATA db_password=hunter2"


class InternalService(BaseHTTPRequestHandler):
    """Not a model server: an internal service answering every path with its private data."""

    status = 500

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(INTERNAL)))
        self.end_headers()
        self.wfile.write(INTERNAL)


@pytest.fixture
def internal_service() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), InternalService)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def provider_at(team, base_url: str) -> Provider:
    record = Provider(team=team, name="Target", base_url=base_url)
    set_api_key(record, "sk-anything-123456")
    record.save()
    return record


def test_production_refuses_a_loopback_provider_and_says_which_setting_allows_it(
    people, provider, model_server, settings
):
    settings.FCSTUDIO_PROVIDER_ALLOW_PRIVATE = False
    settings.FCSTUDIO_PROVIDER_ALLOWED_HOSTS = []
    settings.FCSTUDIO_HTTP_ALLOWED_HOSTS = []

    html = people.client_for("editor").post(f"{PROVIDERS}{provider.pk}/test/").content.decode()

    assert "refused:" in html and "loopback address" in html
    assert "FCSTUDIO_PROVIDER_ALLOWED_HOSTS" in html
    assert "Connected" not in html


def test_a_listed_local_provider_connects_in_production(people, provider, settings):
    settings.FCSTUDIO_PROVIDER_ALLOW_PRIVATE = False
    settings.FCSTUDIO_PROVIDER_ALLOWED_HOSTS = ["127.0.0.1"]

    html = people.client_for("editor").post(f"{PROVIDERS}{provider.pk}/test/").content.decode()

    assert "Connected" in html and "<code>test-model</code>" in html


def test_cloud_metadata_is_refused_in_development(people, team):
    target = provider_at(team, "http://169.254.169.254/latest/v1")

    html = people.client_for("editor").post(f"{PROVIDERS}{target.pk}/test/").content.decode()

    assert "refused:" in html and "cloud metadata address" in html


@pytest.mark.parametrize("status", [500, 404, 200])
def test_an_internal_services_body_is_never_shown(people, team, internal_service, status):
    InternalService.status = status
    port = internal_service.server_address[1]
    target = provider_at(team, f"http://127.0.0.1:{port}/v1")

    html = people.client_for("editor").post(f"{PROVIDERS}{target.pk}/test/").content.decode()

    assert 'class="error"' in html
    assert "INTERNAL-ONLY-DATA" not in html and "hunter2" not in html


def test_the_outsider_cannot_test_a_provider(people, provider):
    response = people.client_for("outsider").post(f"{PROVIDERS}{provider.pk}/test/")

    assert response.status_code == 404
