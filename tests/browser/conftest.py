"""Browser tests: Playwright for Python driving Debian's chromium against a live Daphne server.

One server process and one browser per test session. The server is Channels' Daphne test
process forked after the test database exists, so it serves the same SQLite file (websockets
included); tests use the transactional database so both processes see committed rows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import Locator, Page

from tests.support.live_studio import serve_studio

CHROMIUM = os.environ.get("FCSTUDIO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Counts the frames the conversation page's socket swaps in: its catch-up snapshot redraws parts
# of the page just after it loads, so a test that measures or photographs them waits for it.
COUNT_SNAPSHOTS = """
window.redrawn = 0;
document.addEventListener("htmx:wsAfterMessage", () => { window.redrawn += 1; });
"""


def table_fit(page: Any, table: str, cell: str) -> tuple[float, int]:
    """(how far the table's box scrolls sideways, how many lines `cell` takes), measured in one
    step: a table that fits a long unbroken name wraps it instead of scrolling."""
    return page.evaluate(
        """([table, cell]) => {
            const wrap = document.querySelector(table).closest(".table-wrap");
            const found = document.querySelector(cell);
            const line = parseFloat(getComputedStyle(found).lineHeight);
            return [wrap.scrollWidth - wrap.clientWidth, Math.round(found.clientHeight / line)];
        }""",
        [table, cell],
    )


def after_the_snapshot(page: Any) -> None:
    """Wait until the page's socket has swapped in its catch-up snapshot (needs
    `page.add_init_script(COUNT_SNAPSHOTS)` before the page was opened)."""
    page.wait_for_function("() => window.redrawn >= 1")


def _keep_the_caret(screenshot: Any) -> Any:
    def taken(self: Any, *args: Any, caret: str = "initial", **kwargs: Any) -> bytes:
        return screenshot(self, *args, caret=caret, **kwargs)

    return taken


# Playwright hides the caret with an injected style attribute, which the studio's CSP refuses:
# a console error (failing the test) whenever a live redraw lands while a screenshot is taken.
Page.screenshot = _keep_the_caret(Page.screenshot)  # type: ignore[method-assign]
Locator.screenshot = _keep_the_caret(Locator.screenshot)  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def live_url(django_db_setup, django_db_blocker) -> Iterator[str]:
    # Forked while unblocked, so the server process may use the database freely; the tests
    # themselves stay blocked unless they ask for the database.
    with ExitStack() as server:
        with django_db_blocker.unblock():
            url = server.enter_context(serve_studio(static=True))
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def sync_orm_beside_playwright(monkeypatch) -> None:
    """Playwright's sync API keeps an event loop in this thread; the ORM calls a browser test
    makes between its steps are still plain synchronous code. Allowed for browser tests only, so
    a sync ORM call inside an async path anywhere else still fails loudly."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def page(live_url, browser, request, transactional_db) -> Iterator[object]:
    context = browser.new_context(base_url=live_url, accept_downloads=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def console(message) -> None:
        # The document's own 403 or 404 is what a test asked for; a failed script, style or
        # image on the page is still an error.
        failed_document = message.text.startswith("Failed to load resource") and (
            message.location.get("url") == page.url
        )
        if message.type == "error" and not failed_document:
            errors.append(message.text)

    page.on("console", console)
    yield page
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    # A CSP violation or a script error is a bug even when the steps happened to pass.
    if failed is not None and failed.passed:
        assert errors == [], f"browser console errors: {errors}"


@pytest.fixture
def log_in(page, live_url):
    """Start the page logged in as a user, through a real session cookie."""

    def as_user(user) -> object:
        client = Client()
        client.force_login(user)
        cookie = client.cookies["sessionid"]
        page.context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_url}])
        return page

    return as_user
