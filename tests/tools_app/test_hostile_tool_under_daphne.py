"""While a hostile Python tool holds its interpreter, the studio served by Daphne still answers.

The tool computes ``7 ** 30_000_000``, one C call of about 30 s that would hold the server's
interpreter if it ran there. It runs in a child process instead: a page asked for while it runs
is answered first, and the call comes back TIMEOUT when the child is killed.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import urllib.request
from http.cookiejar import Cookie, CookieJar

import pytest
from django.test import Client

from conversations.models import ToolExecution
from tests.support.live_studio import serve_studio
from tools_app import catalog as catalog_ops
from tools_app.models import Tool

HOSTILE = "tests.support.hostile_tools"


@pytest.fixture
def hostile_tool(catalog, people, settings):
    settings.FCSTUDIO_TOOL_MODULES = ["tools_app.demo_tools", HOSTILE]
    tool = Tool(
        catalog=catalog,
        name="hold_the_interpreter",
        description="Computes 7 ** 30_000_000 in one C call.",
        parameters={"type": "object", "properties": {"signal_port": {"type": "integer"}}},
        implementation_kind="python",
        implementation_config={"callable": f"{HOSTILE}:hold_the_interpreter"},
        timeout_s=8,
    )
    catalog_ops.save_tool(tool, author=people.editor, message="Hostile")
    return tool


def browser_for(user, base: str) -> urllib.request.OpenerDirector:
    client = Client()
    client.force_login(user)
    jar = CookieJar()
    host = base.removeprefix("http://").partition(":")[0]
    jar.set_cookie(
        Cookie(
            0,
            "sessionid",
            client.cookies["sessionid"].value,
            None,
            False,
            host,
            True,
            False,
            "/",
            True,
            False,
            None,
            False,
            None,
            None,
            {},
        )
    )
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))


def test_a_page_is_answered_while_a_hostile_call_holds_its_interpreter(
    transactional_db, people, hostile_tool
):
    events: list[str] = []
    tool_url = "/t/acme/c/travel/tools/hold_the_interpreter/"
    with serve_studio() as base, socket.create_server(("127.0.0.1", 0)) as listener:
        browser = browser_for(people.editor, base)
        editor = browser.open(base + tool_url, timeout=30).read().decode()
        token = re.search(r'"X-CSRFToken": "([^"]+)"', editor).group(1)
        port = listener.getsockname()[1]
        answers: list[str] = []

        def try_it() -> None:
            request = urllib.request.Request(
                base + tool_url + "try/",
                data=f"arguments={json.dumps({'signal_port': port})}".encode(),
                headers={"X-CSRFToken": token, "Referer": base + tool_url},
            )
            answers.append(browser.open(request, timeout=120).read().decode())
            events.append("try it answered")

        trying = threading.Thread(target=try_it)
        trying.start()
        listener.settimeout(60)
        connection, _ = listener.accept()  # the tool says it has started its long computation
        with connection:
            connection.recv(32)
        events.append("call running")
        page = browser.open(base + "/t/acme/c/travel/", timeout=60)
        assert page.status == 200
        events.append("page answered")
        trying.join(timeout=120)
    assert events == ["call running", "page answered", "try it answered"]
    assert "TIMEOUT" in answers[0]
    execution = ToolExecution.objects.get()
    assert (execution.error_code, execution.worker[:7]) == ("TIMEOUT", "python-")
