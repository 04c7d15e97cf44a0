"""Typing in a JSON code editor (static/js/code_editor.js) as a person does.

The editor hides its textarea and keeps it in sync, so a test reads what the form will send from
the textarea (`source`) and types into the editor, which its label names.
"""

from __future__ import annotations

import re
from typing import Any


def replace_code(scope: Any, label: str | re.Pattern[str], text: str) -> Any:
    """Select everything in the editor labelled `label` (on a page, or inside a locator) and
    type `text` over it, as a paste (a single bracket typed alone would be closed for you)."""
    # Until the script mounts the editor the label still names the textarea, which it then hides.
    scope.locator(".cm-editor").first.wait_for()
    editor = scope.get_by_label(label, exact=True)
    page = getattr(scope, "page", scope)
    editor.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Backspace")
    if text:
        page.keyboard.insert_text(text)
    return editor


def source(page: Any, name: str) -> Any:
    """The hidden textarea behind an editor: what the form submits."""
    return page.locator(f"textarea[name={name}]")
