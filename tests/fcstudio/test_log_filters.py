"""A refused request is one line in the log, not a traceback; a server error keeps its stack."""

from __future__ import annotations

import logging

import pytest


def test_a_forbidden_request_is_logged_without_its_traceback(people, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = people.client_for("viewer").post("/t/acme/providers/", {"name": "x"})
    assert response.status_code == 403
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage() == "Forbidden (Permission denied): /t/acme/providers/"
    assert record.exc_info is None


@pytest.mark.urls("tests.fcstudio.crashing_urls")
def test_a_server_error_keeps_its_traceback(people, caplog):
    client = people.client_for("viewer")
    client.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="django.request"):
        assert client.get("/crash/").status_code == 500
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is not None
