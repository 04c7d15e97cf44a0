"""Forms for the Batch lab and the Try it panel: calls come in as JSON a person can edit."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings

from fcstudio.forms import pasted_or_uploaded
from tools_app import schema
from tools_app.engine import STRATEGIES, ToolCall
from tools_app.engine.implementations.http import (
    HEADER_NAME,
    MAX_HEADERS,
    NOT_HEADER_TEXT,
    header_name_problem,
)
from tools_app.models import Catalog, Tool

from .example_arguments import example_arguments as example_arguments
from .execution import BatchOptions, new_call_id
from .message_forms import already_answered, answers_of
from .models import Message, Provider
from .provider import PROVIDER_SETS_HEADERS
from .providers import known_model_names
from .runner import problem_made
from .tool_picker import MAX_PICKED_TOOLS, CatalogGroup, catalog_groups, saved_tools

STRATEGY_CHOICES = [(name, name) for name in STRATEGIES]
MONO = {"class": "code", "spellcheck": "false", "autocomplete": "off", "data-code-editor": ""}


def max_calls() -> int:
    return int(getattr(settings, "FCSTUDIO_MAX_BATCH_CALLS", 256))


class BatchForm(forms.Form):
    calls = forms.CharField(
        widget=forms.Textarea(attrs={**MONO, "rows": 14}),
        max_length=2_000_000,
        help_text='A JSON array of {"name": tool, "arguments": {…} or a raw string}.',
    )
    strategy = forms.ChoiceField(choices=STRATEGY_CHOICES, initial="asyncio")
    max_concurrency = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=1024,
        label="Max concurrency",
        help_text="Empty: no limit beyond the strategy's.",
    )
    fail_fast = forms.BooleanField(
        required=False, label="Fail fast", help_text="Cancel the rest after the first failure."
    )
    approve_all = forms.BooleanField(
        required=False,
        label="Approve calls of approval-gated tools",
        help_text="Unchecked, such calls are DENIED, as a model's would be without a person.",
    )

    def __init__(self, *args: Any, tool_names: list[str], **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.tool_names = tool_names

    def clean_calls(self) -> list[ToolCall]:
        value, problem = schema.parse_json(self.cleaned_data["calls"])
        if problem is not None:
            raise forms.ValidationError(problem.message)
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list) or not value:
            raise forms.ValidationError("Give a JSON array with at least one call.")
        if len(value) > max_calls():
            raise forms.ValidationError(f"A batch holds at most {max_calls()} calls.")
        calls = []
        for index, entry in enumerate(value, start=1):
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise forms.ValidationError(f'Call {index} needs a "name" string.')
            arguments = entry.get("arguments", {})
            raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
            given_id = entry.get("id")
            call_id = given_id if isinstance(given_id, str) else new_call_id()
            calls.append(ToolCall(id=call_id[:100], name=entry["name"], arguments=raw))
        return calls

    def options(self) -> BatchOptions:
        return BatchOptions(
            strategy=self.cleaned_data["strategy"],
            max_concurrency=self.cleaned_data.get("max_concurrency"),
            fail_fast=self.cleaned_data.get("fail_fast", False),
            approve_all=self.cleaned_data.get("approve_all", False),
        )


class FillForm(forms.Form):
    """Generate N example calls of one tool into the lab's calls box."""

    tool = forms.CharField(max_length=64)
    count = forms.IntegerField(min_value=1, initial=8)

    def clean_count(self) -> int:
        count = self.cleaned_data["count"]
        if count > max_calls():
            raise forms.ValidationError(f"A batch holds at most {max_calls()} calls.")
        return count


def parse_header_lines(text: str) -> dict[str, str]:
    """`Name: value` per line (the same rules as HTTP tool headers, but for the header the
    provider's key goes in); a ValidationError names the line that is wrong."""
    headers: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        name, value = name.strip(), value.strip()
        if not sep or not HEADER_NAME.match(name):
            raise forms.ValidationError(f"Line {number}: write headers as Name: value.")
        if problem := header_name_problem(name, PROVIDER_SETS_HEADERS):
            raise forms.ValidationError(f"Line {number}: {problem}")
        if NOT_HEADER_TEXT.search(value):
            raise forms.ValidationError(
                f"Line {number}: the value of {name} has a control character or a character "
                "outside ASCII."
            )
        headers[name] = value
    if len(headers) > MAX_HEADERS:
        raise forms.ValidationError(f"At most {MAX_HEADERS} extra headers.")
    return headers


class SecretTextarea(forms.Textarea):
    """A textarea that never renders its value back, not even after a failed validation."""

    def format_value(self, value: Any) -> None:
        return None


# A new provider has no key or headers to keep: its fields do not offer to.
NEW_PROVIDER_HELP = {
    "api_key": "Stored encrypted and never shown again.",
    "extra_headers": "Name: value per line; stored encrypted and never shown again.",
}


class ProviderForm(forms.ModelForm):
    base_url = forms.URLField(
        max_length=500,
        assume_scheme="https",
        label="Base URL",
        help_text="Any OpenAI-compatible endpoint, e.g. https://api.openai.com/v1",
    )
    api_key = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        label="API key",
        help_text="Stored encrypted and never shown again. Leave empty to keep the current key.",
        max_length=500,
    )
    extra_headers = forms.CharField(
        required=False,
        widget=SecretTextarea(attrs={"rows": 3, "class": "code", "autocomplete": "off"}),
        label="Extra headers",
        help_text=(
            "Name: value per line; stored encrypted and never shown again. "
            "Leave empty to keep the current ones."
        ),
        max_length=5000,
    )

    class Meta:
        model = Provider
        fields = ["name", "base_url", "default_model", "timeout_s"]
        labels = {"timeout_s": "Request timeout (s)"}

    def __init__(self, *args: Any, team: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.team = team
        if self.instance.pk is None:  # nothing stored yet to keep
            for name, help_text in NEW_PROVIDER_HELP.items():
                self.fields[name].help_text = help_text

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        taken = Provider.objects.filter(team=self.team, name=name).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(f"This team already has a provider “{name}”.")
        return name

    def clean_timeout_s(self) -> float:
        value = self.cleaned_data["timeout_s"]
        if not 1 <= value <= 600:
            raise forms.ValidationError("Between 1 and 600 seconds.")
        return value

    def clean_extra_headers(self) -> dict[str, str] | None:
        text = self.cleaned_data.get("extra_headers") or ""
        return parse_header_lines(text) if text.strip() else None


TOOL_CHOICE_MODES = [
    ("auto", "auto: the model decides"),
    ("none", "none: answer without tools"),
    ("required", "required: call at least one tool"),
]


class PickedToolsField(forms.ModelMultipleChoiceField):
    """The tools ticked in the builder; too many is refused before any is looked up."""

    def clean(self, value: Any) -> Any:
        if isinstance(value, list | tuple) and len(value) > MAX_PICKED_TOOLS:
            raise forms.ValidationError(f"A request takes at most {MAX_PICKED_TOOLS} tools.")
        return super().clean(value)

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.catalog.name})"


class ToolChoiceField(forms.ChoiceField):
    """tool_choice: a mode, or one tool by name.

    Only the picked tools are offered as named options (a team may have thousands of tools);
    the name of any of the team's tools is accepted here, so that the form can say it is not
    among the chosen ones rather than that it does not exist.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.known_tool: Callable[[str], bool] = lambda name: False

    def valid_value(self, value: Any) -> bool:
        if super().valid_value(value):
            return True
        kind, _, name = str(value).partition(":")
        return kind == "function" and bool(name) and self.known_tool(name)


class ConversationForm(forms.Form):
    title = forms.CharField(required=False, max_length=200)
    provider = forms.ModelChoiceField(queryset=Provider.objects.none(), empty_label=None)
    model = forms.CharField(
        max_length=200, required=False, help_text="Empty: the provider's default."
    )
    system = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=50_000,
        label="System message",
    )
    user = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), max_length=50_000, label="User message"
    )
    tools = PickedToolsField(
        queryset=Tool.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    # A whole catalog: all of its saved tools, also those the picker never rendered.
    catalogs = forms.ModelMultipleChoiceField(
        queryset=Catalog.objects.none(), required=False, widget=forms.MultipleHiddenInput
    )
    tool_choice = ToolChoiceField(choices=[])
    keep_tool_choice = forms.BooleanField(
        required=False,
        label="Keep forcing tool_choice",
        help_text="Send required or a named function every round. Unchecked, the round after "
        "one that obeyed it sends auto, so the model can answer.",
    )
    parallel_tool_calls = forms.BooleanField(
        required=False, initial=True, label="Parallel tool calls"
    )
    strategy = forms.ChoiceField(choices=STRATEGY_CHOICES, initial="asyncio")
    max_concurrency = forms.IntegerField(
        required=False, min_value=1, max_value=256, label="Max concurrency"
    )
    temperature = forms.FloatField(required=False, min_value=0, max_value=2)
    max_rounds = forms.IntegerField(min_value=1, max_value=50, initial=6, label="Max rounds")
    review_results = forms.BooleanField(
        required=False,
        label="Pause to review tool results",
        help_text="After each batch, wait so you can edit results before they are sent.",
    )

    def __init__(self, *args: Any, team: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        # self.fields holds copies of the fields declared above, so their classes are known.
        provider_field = self.fields["provider"]
        tools_field = self.fields["tools"]
        choice_field = self.fields["tool_choice"]
        assert isinstance(provider_field, forms.ModelChoiceField)
        assert isinstance(tools_field, forms.ModelMultipleChoiceField)
        assert isinstance(choice_field, ToolChoiceField)
        provider_field.queryset = self.providers = team.providers.all()
        self.fields["model"].widget.attrs["list"] = "known-models"
        tools = saved_tools(team).select_related("catalog")
        tools_field.queryset = tools
        catalogs_field = self.fields["catalogs"]
        assert isinstance(catalogs_field, forms.ModelMultipleChoiceField)
        catalogs_field.queryset = team.catalogs.all()
        self.picked_tools = self._picked(tools)
        self.picked_catalogs = self._picked_catalogs(team)
        whole = [t for group in self.picked_catalogs for t in group.tools]
        named = [
            (f"function:{name}", f"only {name}")
            for name in dict.fromkeys(t.name for t in [*self.picked_tools, *whole])
        ]
        choice_field.choices = [*TOOL_CHOICE_MODES, *named]
        choice_field.known_tool = lambda name: tools.filter(name=name).exists()

    def known_models(self) -> list[str]:
        return known_model_names(self.providers)

    def _picked(self, tools: Any) -> list[Tool]:
        """The tools ticked in the posted form, rendered back as ticked; never the whole list."""
        if not self.is_bound:
            return []
        values = self.data.getlist("tools") if hasattr(self.data, "getlist") else []
        ids = [int(v) for v in values if str(v).isdigit()][: MAX_PICKED_TOOLS + 1]
        return list(tools.filter(pk__in=ids).order_by("catalog__name", "name"))

    def _picked_catalogs(self, team: Any) -> list[CatalogGroup]:
        """The catalogs picked whole in the posted form, with their tools, rendered back."""
        if not self.is_bound:
            return []
        values = self.data.getlist("catalogs") if hasattr(self.data, "getlist") else []
        ids = [int(v) for v in values if str(v).isdigit()][:MAX_PICKED_TOOLS]
        tools = list(
            saved_tools(team)
            .filter(catalog_id__in=ids)
            .select_related("catalog")
            .order_by("catalog__name", "catalog_id", "name")[: MAX_PICKED_TOOLS * 4]
        )
        return catalog_groups(tools)

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        picked = {tool.pk: tool for tool in cleaned.get("tools") or []}
        catalogs = list(cleaned.get("catalogs") or [])
        if catalogs:
            # The catalogs field only accepts the team's own catalogs.
            whole = Tool.objects.filter(catalog__in=catalogs, version__gt=0)
            ones = set(picked)
            # One more than a request takes is enough to refuse: a huge catalog is never loaded.
            picked.update(
                {tool.pk: tool for tool in whole.select_related("catalog")[: MAX_PICKED_TOOLS + 1]}
            )
            if len(picked) > MAX_PICKED_TOOLS:
                total = len(ones) + whole.exclude(pk__in=ones).count()
                self.add_error(
                    "tools",
                    f"A request takes at most {MAX_PICKED_TOOLS} tools; with the whole "
                    f"catalogs these are {total}.",
                )
        tools = sorted(picked.values(), key=lambda t: (t.catalog.name, t.name))
        cleaned["tools"] = tools
        names = [tool.name for tool in tools]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            self.add_error("tools", f"Two chosen tools share the name {', '.join(duplicates)}.")
        choice = cleaned.get("tool_choice", "auto")
        if (choice == "required" or choice.startswith("function:")) and not tools:
            self.add_error("tool_choice", f"tool_choice {choice} needs at least one tool.")
        elif choice.startswith("function:") and choice.partition(":")[2] not in names:
            self.add_error(
                "tool_choice", f"{choice.partition(':')[2]} is not among the chosen tools."
            )
        return cleaned


class RunSettingsForm(ConversationForm):
    """The settings for a conversation's next run, with the builder's fields and checks."""

    KEPT = (
        "provider",
        "model",
        "tools",
        "tool_choice",
        "keep_tool_choice",
        "parallel_tool_calls",
        "temperature",
        "max_rounds",
    )

    def __init__(self, *args: Any, team: Any, conversation: Any, **kwargs: Any) -> None:
        if not args and "data" not in kwargs:
            kwargs.setdefault("initial", self.initial_for(conversation))
        kwargs.setdefault("auto_id", "settings_%s")
        super().__init__(*args, team=team, **kwargs)
        for name in [name for name in self.fields if name not in self.KEPT]:
            del self.fields[name]
        model_field = self.fields["model"]
        model_field.widget.attrs["list"] = "known-models"
        model_field.help_text = "Pick one the provider listed, or type any name."
        if not self.is_bound:
            tools = [v.tool for v in conversation.tool_versions.select_related("tool__catalog")]
            self.picked_tools = sorted(tools, key=lambda t: (t.catalog.name, t.name))
            choice_field = self.fields["tool_choice"]
            assert isinstance(choice_field, ToolChoiceField)
            named = [(f"function:{t.name}", f"only {t.name}") for t in self.picked_tools]
            choice_field.choices = [*TOOL_CHOICE_MODES, *named]

    @staticmethod
    def initial_for(conversation: Any) -> dict[str, Any]:
        choice = conversation.tool_choice
        if choice == "function":
            choice = f"function:{conversation.tool_choice_name}"
        return {
            "provider": conversation.provider_id,
            "model": conversation.model,
            "tools": [v.tool_id for v in conversation.tool_versions.all()],
            "tool_choice": choice,
            "keep_tool_choice": conversation.keep_tool_choice,
            "parallel_tool_calls": conversation.parallel_tool_calls,
            "temperature": conversation.temperature,
            "max_rounds": conversation.max_rounds,
        }


class ComposerForm(forms.Form):
    """The next user turn, typed at the bottom of the conversation page."""

    content = forms.CharField(
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": "Message… (Enter sends, Shift+Enter for a new line)"}
        ),
        max_length=50_000,
        label="Next user message",
        strip=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "composer_%s")
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_content(self) -> str:
        # Browsers post a textarea's line breaks as CRLF; the model is sent what was typed.
        content = self.cleaned_data["content"].replace("\r\n", "\n")
        if not content.strip():
            raise forms.ValidationError("Write a message to send.")
        return content


ROLES = [("user", "user"), ("assistant", "assistant"), ("tool", "tool"), ("system", "system")]


class MessageForm(forms.Form):
    """A message written or corrected by hand, turned into the exact OpenAI message object."""

    role = forms.ChoiceField(choices=ROLES)
    content = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4, **MONO}), max_length=200_000
    )
    tool_calls = forms.CharField(
        required=False,
        label="Tool calls (JSON)",
        widget=forms.Textarea(attrs={"rows": 6, **MONO}),
        max_length=200_000,
        help_text='Assistant only: [{"name": "get_weather", "arguments": {"city": "Oslo"}}]; '
        "ids are made up when missing.",
    )
    tool_call_id = forms.CharField(
        required=False, max_length=100, label="Tool call id", help_text="Tool results only."
    )

    def __init__(
        self,
        *args: Any,
        call_ids: set[str] | None = None,
        offered: set[str] | None = None,
        history: list[Message] | None = None,
        **kwargs: Any,
    ) -> None:
        """`call_ids`: the tool call ids a tool message may answer; `offered`: the names of the
        tools the model is offered; `history`: the messages this one is appended to, held to
        the runner's pairing rule. None skips that check."""
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.call_ids = call_ids
        self.offered = offered
        self.history = history

    @classmethod
    def initial_for(cls, payload: dict[str, Any]) -> dict[str, Any]:
        calls = payload.get("tool_calls")
        return {
            "role": payload.get("role", "user"),
            "content": payload.get("content") or "",
            "tool_calls": json.dumps(calls, indent=2) if calls else "",
            "tool_call_id": payload.get("tool_call_id", ""),
        }

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        role = cleaned.get("role")
        content = cleaned.get("content") or ""
        if role in ("user", "system"):
            if not content.strip():
                self.add_error("content", f"A {role} message needs content.")
            cleaned["payload"] = {"role": role, "content": content}
        elif role == "tool":
            call_id = (cleaned.get("tool_call_id") or "").strip()
            if not call_id:
                self.add_error("tool_call_id", "A tool result answers one tool call: give its id.")
            elif self.call_ids is not None and call_id not in self.call_ids:
                self.add_error(
                    "tool_call_id",
                    f"No assistant turn before this one has a tool call with id {call_id}.",
                )
            cleaned["payload"] = {"role": "tool", "tool_call_id": call_id, "content": content}
        elif role == "assistant":
            calls = self._tool_calls(cleaned.get("tool_calls") or "")
            if self.offered is not None:
                unknown = sorted(
                    {c["function"]["name"] for c in calls} - self.offered, key=str.casefold
                )
                if unknown:
                    offered = ", ".join(sorted(self.offered)) or "none"
                    self.add_error(
                        "tool_calls",
                        f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not among "
                        f"the tools offered to the model (offered: {offered}).",
                    )
            if not content.strip() and not calls and not self.errors:
                self.add_error("content", "An assistant message needs content or tool calls.")
            payload: dict[str, Any] = {"role": "assistant", "content": content or None}
            if calls:
                payload["tool_calls"] = calls
            cleaned["payload"] = payload
        if self.history is not None and not self.errors and "payload" in cleaned:
            self._check_pairing(cleaned["payload"])
        return cleaned

    def _check_pairing(self, payload: dict[str, Any]) -> None:
        """The runner's pairing rule over the history with this message appended, at its field."""
        assert self.history is not None
        added = Message(position=len(self.history), role=payload["role"], payload=payload)
        problem = problem_made(self.history, [*self.history, added])
        if problem is None:
            return
        role = payload["role"]
        if role == "tool":
            call_id = payload["tool_call_id"]
            answer = answers_of(self.history).get(call_id)
            self.add_error("tool_call_id", already_answered(call_id, answer) if answer else problem)
        else:
            self.add_error("tool_calls" if payload.get("tool_calls") else "content", problem)

    def _tool_calls(self, text: str) -> list[dict[str, Any]]:
        if not text.strip():
            return []
        value, problem = schema.parse_json(text)
        if problem is not None:
            self.add_error("tool_calls", problem.message)
            return []
        if not isinstance(value, list):
            self.add_error("tool_calls", "Give a JSON array of calls.")
            return []
        calls = []
        for number, entry in enumerate(value, start=1):
            function = entry.get("function", entry) if isinstance(entry, dict) else None
            if not isinstance(function, dict) or not isinstance(function.get("name"), str):
                self.add_error("tool_calls", f"Call {number} needs a name.")
                return []
            arguments = function.get("arguments", {})
            if not isinstance(arguments, str):
                arguments = json.dumps(arguments)
            given_id = entry.get("id")
            call_id = given_id if isinstance(given_id, str) else new_call_id()
            calls.append(
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": function["name"], "arguments": arguments},
                }
            )
        return calls


class TranscriptForm(forms.Form):
    """A transcript pasted or uploaded; `source` is its text, within the import limit."""

    text = forms.CharField(
        required=False,
        label="Paste",
        strip=False,
        widget=forms.Textarea(attrs={**MONO, "rows": 14}),
    )
    file = forms.FileField(required=False, label="…or upload a file")

    def clean(self) -> dict[str, Any]:
        super().clean()
        self.cleaned_data["source"] = pasted_or_uploaded(
            self.cleaned_data,
            "Paste a messages array, a request body or JSON lines, or pick a file.",
        )
        return self.cleaned_data


class TranscriptToolsForm(forms.Form):
    """Which of a transcript's unknown tools to create, and in which catalog."""

    catalog: forms.ModelChoiceField[Catalog] = forms.ModelChoiceField(
        queryset=Catalog.objects.none(), empty_label=None
    )
    names = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, label="Tools")

    def __init__(self, *args: Any, team: Any, names: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        catalog_field = self.fields["catalog"]
        assert isinstance(catalog_field, forms.ModelChoiceField)
        catalog_field.queryset = team.catalogs.all()
        names_field = self.fields["names"]
        assert isinstance(names_field, forms.ChoiceField)
        names_field.choices = [(name, name) for name in names]


class AnswerForm(forms.Form):
    """A tool call's result written by hand on its row: the tool message's content, as JSON."""

    content = forms.CharField(
        max_length=200_000,
        label="Answer this call",
        widget=forms.Textarea(attrs={"rows": 3, **MONO}),
        error_messages={"required": "Write the result the model should get, as JSON."},
    )

    def clean_content(self) -> str:
        text = self.cleaned_data["content"].strip()
        _, problem = schema.parse_json(text)
        if problem is not None:
            raise forms.ValidationError(problem.message)
        return text
