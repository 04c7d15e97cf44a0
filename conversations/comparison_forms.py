"""The "Compare models" form: where to cut the conversation, and 2 to 4 provider/model pairs."""

from __future__ import annotations

from typing import Any

from django import forms

from .comparison import snippet
from .comparison_runs import CUT_ROLES, Pair, default_cut
from .models import Conversation, Message, Provider
from .providers import known_model_names

MAX_PAIRS = 4
MIN_PAIRS = 2


class ComparisonForm(forms.Form):
    cut = forms.TypedChoiceField(
        label="Run up to and with this message",
        coerce=int,
        help_text="Each run starts from the messages up to here, and the model answers from there.",
    )

    def __init__(self, *args: Any, source: Conversation, **kwargs: Any) -> None:
        self.source = source
        messages = list(source.messages.filter(role__in=CUT_ROLES).order_by("position"))
        initial = kwargs.setdefault("initial", {})
        cut = default_cut(source)
        initial.setdefault("cut", cut.pk if cut else None)
        initial.setdefault("provider_1", source.provider_id)
        initial.setdefault("model_1", source.model)
        super().__init__(*args, **kwargs)
        self.messages = {m.pk: m for m in messages}
        cut_field = self.fields["cut"]
        assert isinstance(cut_field, forms.TypedChoiceField)
        cut_field.choices = [
            (m.pk, f"#{m.position + 1} {m.role}: {snippet(m.content, 60) or '(tool calls)'}")
            for m in messages
        ]
        providers = source.team.providers.all()
        for n in range(1, MAX_PAIRS + 1):
            self.fields[f"provider_{n}"] = forms.ModelChoiceField(
                queryset=providers, required=False, label=f"Provider {n}", empty_label="—"
            )
            model = forms.CharField(required=False, max_length=200, label=f"Model {n}")
            model.widget.attrs["list"] = "compare-models"
            self.fields[f"model_{n}"] = model

    @property
    def pair_fields(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"provider_{n}"], self[f"model_{n}"]) for n in range(1, MAX_PAIRS + 1)]

    def known_models(self) -> list[str]:
        return known_model_names(self.source.team.providers.all())

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        pairs: list[Pair] = []
        for n in range(1, MAX_PAIRS + 1):
            provider: Provider | None = data.get(f"provider_{n}")
            model = (data.get(f"model_{n}") or "").strip()
            if provider is None:
                if model and f"provider_{n}" not in self.errors:
                    self.add_error(f"provider_{n}", "Pick the provider to ask this model.")
                continue
            model = model or provider.default_model
            if not model:
                self.add_error(f"model_{n}", f"Name a model: {provider.name} has no default.")
                continue
            pairs.append(Pair(provider, model))
        if not self.errors and len(pairs) < MIN_PAIRS:
            raise forms.ValidationError(
                f"Pick at least {MIN_PAIRS} provider and model pairs to compare."
            )
        data["pairs"] = pairs
        return data

    @property
    def cut_message(self) -> Message:
        return self.messages[self.cleaned_data["cut"]]
