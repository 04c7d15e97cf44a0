"""A recorded request as curl and as openai-SDK Python: the body survives quoting exactly, and
no secret is ever written, only the names of the variables that hold them."""

from __future__ import annotations

import ast
import json
import os
import subprocess

from conversations.reproduce import curl_command, header_variable, python_snippet

HOSTILE = {
    "model": "m",
    "messages": [
        {"role": "user", "content": "it's $HOME `id` \"quoted\"\nEOF\nEOF'\n\\n résumé 東京 🙂"},
        {"role": "assistant", "content": "", "tool_calls": []},
    ],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "parallel_tool_calls": True,
    "temperature": 0.5,
    "stop": None,
}


def run_curl(command: str, env: dict[str, str]) -> tuple[list[str], str]:
    """Runs the command in bash with `curl` replaced by a function that records what it got."""
    script = 'curl() { printf "%s\\0" "$@" > "$OUT/args"; cat > "$OUT/body"; }\n' + command
    out = env["OUT"]
    subprocess.run(["bash", "-c", script], env={**os.environ, **env}, check=True)
    with open(f"{out}/args", encoding="utf-8") as handle:
        args = handle.read().split("\0")[:-1]
    with open(f"{out}/body", encoding="utf-8") as handle:
        return args, handle.read()


def test_curl_sends_the_body_exactly_and_headers_from_variables(tmp_path):
    command = curl_command("http://llm.test/v1/", HOSTILE, ["X-Org-Secret"])
    assert command.startswith("curl http://llm.test/v1/chat/completions \\\n")
    args, body = run_curl(
        command, {"OUT": str(tmp_path), "OPENAI_API_KEY": "sk-k", "X_ORG_SECRET": "s3"}
    )
    assert json.loads(body) == HOSTILE
    assert args[0] == "http://llm.test/v1/chat/completions"
    assert "Authorization: Bearer sk-k" in args
    assert "X-Org-Secret: s3" in args
    assert "Content-Type: application/json" in args
    assert args[-2:] == ["-d", "@-"]


def test_curl_without_a_base_url_reads_it_from_a_variable(tmp_path):
    args, _ = run_curl(
        curl_command(None, {"model": "m"}),
        {"OUT": str(tmp_path), "OPENAI_BASE_URL": "http://x/v1", "OPENAI_API_KEY": "k"},
    )
    assert args[0] == "http://x/v1/chat/completions"


def request_in(snippet: str, name: str = "request") -> object:
    for node in ast.parse(snippet).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == name:
            return ast.literal_eval(node.value)
    raise AssertionError(f"no {name} = ... in the snippet")


def test_python_literal_reads_back_as_the_request():
    snippet = python_snippet("http://llm.test/v1", HOSTILE, ["X-Org-Secret"])
    assert request_in(snippet) == HOSTILE
    assert 'api_key=os.environ["OPENAI_API_KEY"]' in snippet
    assert "'X-Org-Secret': os.environ[\"X_ORG_SECRET\"]" in snippet
    assert "base_url='http://llm.test/v1'" in snippet
    assert "extra_body" not in snippet


def test_python_passes_what_the_sdk_does_not_name_through_extra_body():
    snippet = python_snippet(None, {"model": "m", "messages": [], "top_k": 5})
    assert request_in(snippet) == {"model": "m", "messages": []}
    assert request_in(snippet, "extra_body") == {"top_k": 5}
    assert "create(**request, extra_body=extra_body)" in snippet
    assert 'base_url=os.environ["OPENAI_BASE_URL"]' in snippet


def test_header_variables_are_shell_names():
    assert header_variable("X-Org-Secret") == "X_ORG_SECRET"
    assert header_variable("1st") == "HEADER_1ST"
    assert header_variable("$`!") == "HEADER"
