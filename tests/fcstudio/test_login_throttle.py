"""Log-in throttling: after N wrong passwords a user name is paused from that address."""

from __future__ import annotations

from django.conf import settings
from django.test import Client

from tests.conftest import PASSWORD

LOGIN = "/accounts/login/"


def attempt(username: str, password: str, address: str = "10.0.0.1"):
    client = Client()
    response = client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)
    return client, response


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def fail(times: int, username: str = "eddie", address: str = "10.0.0.1") -> None:
    for _ in range(times):
        _, response = attempt(username, "wrong password", address)
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.content.decode()


def lock_out(username: str = "eddie", address: str = "10.0.0.1") -> None:
    fail(settings.AXES_FAILURE_LIMIT - 1, username, address)
    _, response = attempt(username, "wrong password", address)
    assert response.status_code == 429


def test_the_limit_and_cool_off_come_from_the_environment_defaults():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60


def test_after_the_limit_even_the_right_password_is_refused_with_a_clear_message(people):
    lock_out()
    client, response = attempt("eddie", PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed log-ins" in page
    assert "After 5 wrong passwords for <strong>eddie</strong> from this address" in page
    assert "paused for 15 minutes. Even the right password is refused until then." in page
    assert not logged_in(client)


def test_fewer_failures_than_the_limit_still_let_the_right_password_in(people):
    fail(settings.AXES_FAILURE_LIMIT - 1)
    client, response = attempt("eddie", PASSWORD)
    assert response.status_code == 302 and logged_in(client)
    # A success starts the count again.
    fail(settings.AXES_FAILURE_LIMIT - 1)
    client, _ = attempt("eddie", PASSWORD)
    assert logged_in(client)


def test_another_user_from_the_same_address_is_unaffected(people):
    lock_out()
    client, response = attempt("vera", PASSWORD)
    assert response.status_code == 302 and logged_in(client)


def test_the_same_user_from_another_address_is_unaffected(people):
    lock_out()
    client, response = attempt("eddie", PASSWORD, address="10.0.0.2")
    assert response.status_code == 302 and logged_in(client)


def test_sessions_made_without_the_log_in_page_still_work(people):
    lock_out()
    forced = Client()
    forced.force_login(people.editor)
    assert forced.get("/t/acme/").status_code == 200
    assert Client().login(username="vera", password=PASSWORD)
