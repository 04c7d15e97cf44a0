"""The message editor: one form per kind of message, each turning what was typed into the exact
OpenAI message object that replaces the message. The role is the message's own, never a field.

JSON (a tool result, a call's arguments) is shown indented for editing; what is saved is the
compact text the engine itself writes, and text left exactly as shown keeps the original bytes,
so opening and saving a message changes nothing the model is sent.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.http import QueryDict

from fcstudio.templatetags.studio import as_json
from tools_app import schema

from .execution import new_call_id
from .models import Message
from .runner import problem_made
from .view_models import tool_calls_of, turns_before

JSON_TEXT = {
    "class": "code",
    "spellcheck": "false",
    "autocomplete": "off",
    "data-code-editor": "json",
}
MAX_TEXT = 200_000
CALL_PREFIX = "call"


def calls_before(message: Message) -> list[tuple[str, str]]:
    """(id, tool name) of every tool call the assistant made before `message`, in order."""
    return list(tool_calls_of(turns_before(message)))


def typed(text: str) -> str:
    """Browsers post a textarea's line breaks as CRLF."""
    return text.replace("\r\n", "\n")


def shown_content(message: Message) -> str:
    """The content as its textarea shows it: text as it is, content parts (a list) as JSON."""
    content = message.payload.get("content")
    if content is None or isinstance(content, str):
        return content or ""
    return as_json(content)


def kept_or_typed(text: str, message: Message) -> Any:
    """Content parts left exactly as shown are kept as they were, not flattened into text."""
    content = message.payload.get("content")
    if content is not None and not isinstance(content, str) and text == shown_content(message):
        return content
    return text


def compact_json(text: str, original: str) -> str:
    """What to save for text typed in place of `original`: the original when the text is still
    exactly as shown, the compact form of JSON, any other text as typed (some tools answer in
    plain text)."""
    if text == as_json(original):
        return original
    value, problem = schema.parse_json(text)
    return text if problem is not None else json.dumps(value, ensure_ascii=False)


def answers_of(messages: list[Message]) -> dict[str, Message]:
    """The tool results among `messages` by the call id they answer (the first, when several)."""
    answers: dict[str, Message] = {}
    for message in messages:
        if message.role == "tool":
            answers.setdefault(str(message.payload.get("tool_call_id")), message)
    return answers


def already_answered(call_id: str, answer: Message) -> str:
    return f"{call_id} already has a result (message {answer.position + 1}): edit that one instead."


class MessageEditForm(forms.Form):
    """What every kind's form shares: the message it edits, its content field and the payload
    it builds."""

    def __init__(self, message: Message, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("auto_id", f"edit-{message.pk}-%s")
        super().__init__(*args, **kwargs)
        self.message = message
        # Swapped in where the message was: typing starts in its content.
        self.fields["content"].widget.attrs["autofocus"] = True

    def payload(self) -> dict[str, Any]:
        raise NotImplementedError

    def history(self, payload: dict[str, Any]) -> tuple[list[Message], list[Message]]:
        """The conversation's messages as they are, and as they would be with `payload` saved."""
        before = list(self.message.conversation.messages.all())
        edited = Message(position=self.message.position, role=payload["role"], payload=payload)
        return before, [edited if m.pk == self.message.pk else m for m in before]

    def parts(self) -> list[forms.Form]:
        """The form and its rows, in the order they are shown."""
        return [self]

    def focus(self, form: forms.Form, name: str) -> None:
        self.fields["content"].widget.attrs.pop("autofocus", None)
        form.fields[name].widget.attrs["autofocus"] = True

    def focus_first_problem(self) -> None:
        """Shown again with problems: typing resumes at the first field that has one."""
        for part in self.parts():
            for name in part.fields:
                if name in part.errors:
                    self.focus(part, name)
                    return

    def rows_valid(self) -> bool:
        return True

    def is_valid(self) -> bool:
        # Every part is checked, so each shows its own problems at once.
        own = super().is_valid()
        return self.rows_valid() and own


class TextMessageForm(MessageEditForm):
    """A user or system message: its text."""

    kind = "text"
    content = forms.CharField(
        required=False,
        strip=False,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 5}),
    )

    def __init__(self, message: Message, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"content": shown_content(message)})
        super().__init__(message, *args, **kwargs)

    def clean_content(self) -> Any:
        content = typed(self.cleaned_data["content"])
        if not content.strip():
            raise forms.ValidationError(f"A {self.message.role} message needs content.")
        return kept_or_typed(content, self.message)

    def payload(self) -> dict[str, Any]:
        return {"role": self.message.role, "content": self.cleaned_data["content"]}


class ToolResultForm(MessageEditForm):
    """A tool message: the call it answers (one the assistant made before it) and its result."""

    kind = "tool"
    tool_call_id = forms.CharField(max_length=100, label="Answers the call", widget=forms.Select)
    content = forms.CharField(
        required=False,
        strip=False,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={**JSON_TEXT, "rows": 10}),
        help_text="Shown indented; saved as compact JSON when it parses, else as typed.",
    )

    def __init__(self, message: Message, *args: Any, **kwargs: Any) -> None:
        current = str(message.payload.get("tool_call_id") or "")
        shown = as_json(message.content) if message.content else shown_content(message)
        kwargs.setdefault("initial", {"tool_call_id": current, "content": shown})
        super().__init__(message, *args, **kwargs)
        self.calls = calls_before(message)
        self.names = dict(self.calls)
        choices = [(call_id, f"{name or '?'} ({call_id})") for call_id, name in self.calls]
        if current and current not in self.names:
            choices.append((current, f"{current} (no call before this message)"))
        if not choices:
            choices = [("", "(no call before this message)")]
        widget = self.fields["tool_call_id"].widget
        assert isinstance(widget, forms.Select)
        widget.choices = choices
        self.current_call_id = current
        self.tool_name = self.names.get(current, "")
        self.fields["content"].label = (
            f"Result of {self.tool_name} ({current})" if self.tool_name else "Result"
        )

    def clean_tool_call_id(self) -> str:
        call_id = self.cleaned_data["tool_call_id"].strip()
        if call_id not in self.names:
            raise forms.ValidationError(
                f"No assistant turn before this one has a tool call with id {call_id}."
            )
        # The runner's pairing rule: the result must answer an open call of the turn before it.
        before, after = self.history({"role": "tool", "tool_call_id": call_id})
        if problem := problem_made(before, after):
            others = [m for m in before if m.pk != self.message.pk]
            answer = answers_of(others).get(call_id)
            raise forms.ValidationError(already_answered(call_id, answer) if answer else problem)
        return call_id

    def clean_content(self) -> str:
        text = typed(self.cleaned_data["content"])
        kept = kept_or_typed(text, self.message)
        return kept if kept is not text else compact_json(text, self.message.content)

    def payload(self) -> dict[str, Any]:
        return {
            "role": "tool",
            "tool_call_id": self.cleaned_data["tool_call_id"],
            "content": self.cleaned_data["content"],
        }


class ToolCallForm(forms.Form):
    """One of an assistant turn's tool calls: a tool offered to the model and its arguments."""

    id = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)
    name = forms.CharField(max_length=200, label="Tool")
    arguments = forms.CharField(
        required=False,
        strip=False,
        max_length=MAX_TEXT,
        label="Arguments",
        widget=forms.Textarea(attrs={**JSON_TEXT, "rows": 5}),
    )

    def __init__(
        self,
        *args: Any,
        offered: list[str] | None = None,
        originals: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.offered = offered
        self.originals = originals or {}
        if offered is not None:
            current = self.initial.get("name") or ""
            names = offered if not current or current in offered else [*offered, current]
            # A new row starts on no tool, so an untouched one is left out rather than saved.
            blank = [] if current else [("", "(pick a tool)")]
            self.fields["name"].widget = forms.Select(choices=[*blank, *[(n, n) for n in names]])

    @property
    def call_id(self) -> str:
        """The id of the call this row edits ('' for a new one)."""
        given = self.data.get(self.add_prefix("id")) if self.is_bound else self.initial.get("id")
        return given if isinstance(given, str) and given in self.originals else ""

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if self.offered is not None and name not in self.offered:
            offered = ", ".join(sorted(self.offered, key=str.casefold)) or "none"
            raise forms.ValidationError(
                f"{name} is not among the tools offered to the model (offered: {offered})."
            )
        return name

    def clean_arguments(self) -> str:
        text = typed(self.cleaned_data["arguments"])
        if not text.strip():
            text = "{}"
        original = self.originals.get(self.call_id)
        if original is not None and text == as_json(original):
            return original
        value, problem = schema.parse_json(text)
        if problem is not None:
            raise forms.ValidationError(problem.message)
        if not isinstance(value, dict):
            raise forms.ValidationError('Arguments are a JSON object, like {"city": "Oslo"}.')
        return json.dumps(value, ensure_ascii=False)


class BaseCallFormSet(forms.BaseFormSet):
    default_error_messages = {"too_many_forms": "A message takes at most %(num)d tool calls."}

    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        form.fields["DELETE"].label = "Remove this call"


CallFormSet = forms.formset_factory(
    ToolCallForm,
    formset=BaseCallFormSet,
    extra=0,
    can_delete=True,
    max_num=128,
    validate_max=True,
)


class AssistantForm(MessageEditForm):
    """An assistant turn: its text and its tool calls, one row per call."""

    kind = "assistant"
    content = forms.CharField(
        required=False,
        strip=False,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(
        self, message: Message, *args: Any, offered: set[str] | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("initial", {"content": shown_content(message)})
        super().__init__(message, *args, **kwargs)
        calls = [c for c in message.tool_calls if isinstance(c, dict)]
        originals: dict[str, str] = {}
        initial = []
        for call in calls:
            given = call.get("function")
            function: dict[str, Any] = given if isinstance(given, dict) else {}
            arguments = function.get("arguments")
            arguments = arguments if isinstance(arguments, str) else json.dumps(arguments)
            call_id = str(call.get("id") or "")
            originals[call_id] = arguments
            name = function.get("name")
            initial.append(
                {
                    "id": call_id,
                    "name": name if isinstance(name, str) else "",
                    "arguments": as_json(arguments),
                }
            )
        self.calls = CallFormSet(
            self.data if self.is_bound else None,
            initial=initial,
            prefix=CALL_PREFIX,
            auto_id=f"edit-{message.pk}-%s",
            form_kwargs={
                "offered": sorted(offered, key=str.casefold) if offered is not None else None,
                "originals": originals,
            },
        )

    def rows_valid(self) -> bool:
        # A removed row is not validated by the formset, but may carry the pairing problem.
        return self.calls.is_valid() and not any(row.errors for row in self.calls.forms)

    def parts(self) -> list[forms.Form]:
        return [self, *self.calls.forms]

    def clean_content(self) -> Any:
        return kept_or_typed(typed(self.cleaned_data["content"]), self.message)

    def tool_calls(self) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = []
        used: set[str] = set()
        for row in self.calls.forms:
            data = getattr(row, "cleaned_data", {})
            if not data or data.get("DELETE"):
                continue
            call_id = row.call_id if row.call_id not in used else ""
            call_id = call_id or new_call_id()
            used.add(call_id)
            calls.append(
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": data["name"], "arguments": data["arguments"]},
                }
            )
        return calls

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        content = cleaned.get("content")
        empty = not content or (isinstance(content, str) and not content.strip())
        if empty and self.calls.is_valid() and not self.tool_calls():
            self.add_error("content", "An assistant message needs content or tool calls.")
        if not self.errors and self.calls.is_valid():
            self.check_pairing()
        return cleaned

    def check_pairing(self) -> None:
        """The runner's pairing rule over the history with this turn saved: a call removed while
        a result answers it is refused on its row, any other break on the form."""
        before, after = self.history(self.payload())
        problem = problem_made(before, after)
        if problem is None:
            return
        answers = answers_of([m for m in before if m.position > self.message.position])
        orphaned = False
        for row in self.calls.forms:
            answer = answers.get(row.call_id) if row.cleaned_data.get("DELETE") else None
            if answer is not None:
                orphaned = True
                row.add_error(
                    "DELETE",
                    f"{row.call_id} has a result (message {answer.position + 1}): keep the "
                    "call, or use Fork from here on this turn and remove it in the fork.",
                )
        if not orphaned:
            self.add_error(None, problem)

    def payload(self) -> dict[str, Any]:
        content = self.cleaned_data["content"]
        payload: dict[str, Any] = {"role": "assistant", "content": content or None}
        calls = self.tool_calls()
        if calls:
            payload["tool_calls"] = calls
        return payload


def with_another_call(data: QueryDict) -> QueryDict:
    """The posted form with one more (empty) call row: "Add a call" without any script."""
    more = data.copy()
    key = f"{CALL_PREFIX}-TOTAL_FORMS"
    try:
        total = int(more.get(key, "0"))
    except ValueError:
        total = 0
    more[key] = str(min(total + 1, 128))
    return more


def form_for(
    message: Message,
    data: QueryDict | None = None,
    *,
    offered: set[str] | None = None,
) -> MessageEditForm:
    """The edit form for this kind of message; `offered`: the names of the tools the model is
    offered (None for a recorded conversation, whose app chose its own tools)."""
    if message.role == "tool":
        return ToolResultForm(message, data)
    if message.role == "assistant":
        return AssistantForm(message, data, offered=offered)
    return TextMessageForm(message, data)
