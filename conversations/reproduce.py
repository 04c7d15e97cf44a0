"""A recorded Chat Completions request as a `curl` command or as Python for the `openai` SDK,
to send it again outside the studio.

Django-free. It is given the provider's base URL and the NAMES of its extra headers, never a
key or a header's value: every secret is an environment variable the reader sets themselves.
"""

from __future__ import annotations

import inspect
import json
import pprint
import re
import shlex
from collections.abc import Sequence
from typing import Any

from openai.resources.chat.completions import Completions

KEY_VARIABLE = "OPENAI_API_KEY"
BASE_URL_VARIABLE = "OPENAI_BASE_URL"
# What `client.chat.completions.create` takes by name; anything else in a body (a server's own
# options, such as vLLM's `top_k`) is passed through `extra_body`, as the SDK expects.
_SDK_ARGUMENTS = frozenset(inspect.signature(Completions.create).parameters) - {
    "self",
    "extra_body",
    "extra_headers",
    "extra_query",
    "timeout",
}


def header_variable(name: str) -> str:
    """The environment variable that stands for a header's value: `X-Org-Secret` → X_ORG_SECRET."""
    variable = re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_") or "HEADER"
    return variable if not variable[0].isdigit() else f"HEADER_{variable}"


def endpoint(base_url: str | None) -> str:
    return f"{base_url.rstrip('/')}/chat/completions" if base_url else ""


def body_json(request: dict[str, Any]) -> str:
    return json.dumps(request, indent=2, ensure_ascii=False)


def curl_command(
    base_url: str | None, request: dict[str, Any], header_names: Sequence[str] = ()
) -> str:
    """`curl` that posts `request` as it is; the body follows on a quoted here-document, so the
    shell expands nothing in it."""
    url = (
        shlex.quote(endpoint(base_url)) if base_url else f'"${BASE_URL_VARIABLE}/chat/completions"'
    )
    lines = [
        f"curl {url}",
        f'-H "Authorization: Bearer ${KEY_VARIABLE}"',
        *(f'-H {shlex.quote(name + ": ")}"${header_variable(name)}"' for name in header_names),
        '-H "Content-Type: application/json"',
    ]
    body = body_json(request)
    delimiter = "EOF"
    while delimiter in body.splitlines():  # cannot happen for JSON; cheap to be sure
        delimiter += "_"
    lines.append(f"-d @- <<'{delimiter}'")
    return " \\\n  ".join(lines) + f"\n{body}\n{delimiter}\n"


def python_literal(value: Any) -> str:
    """`value` (JSON) written as Python that `ast.literal_eval` reads back equal."""
    return pprint.pformat(value, sort_dicts=False, width=88)


def python_snippet(
    base_url: str | None, request: dict[str, Any], header_names: Sequence[str] = ()
) -> str:
    """A script that sends `request` with the `openai` SDK."""
    named = {key: value for key, value in request.items() if key in _SDK_ARGUMENTS}
    extra = {key: value for key, value in request.items() if key not in _SDK_ARGUMENTS}
    base = repr(base_url) if base_url else f'os.environ["{BASE_URL_VARIABLE}"]'
    client = [f"    base_url={base},", f'    api_key=os.environ["{KEY_VARIABLE}"],']
    if header_names:
        client.append("    default_headers={")
        client.extend(
            f'        {name!r}: os.environ["{header_variable(name)}"],' for name in header_names
        )
        client.append("    },")
    call = "client.chat.completions.create(**request)"
    if extra:
        call = "client.chat.completions.create(**request, extra_body=extra_body)"
    parts = [
        "import os\n\nfrom openai import OpenAI\n",
        "client = OpenAI(\n" + "\n".join(client) + "\n)",
        f"request = {python_literal(named)}",
    ]
    if extra:
        parts.append(
            "# Not arguments of the SDK: sent in the body as they are.\n"
            f"extra_body = {python_literal(extra)}"
        )
    parts.append(f"response = {call}\nprint(response)\n")
    return "\n".join(parts)
