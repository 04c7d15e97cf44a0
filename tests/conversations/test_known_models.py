"""A model field suggests the model ids the team's providers listed when tested and their
default models: once each, sorted, never a non-text value a provider's listing carried."""

from __future__ import annotations

from conversations.models import Provider
from conversations.providers import known_model_names


def test_the_listed_models_and_the_defaults_once_each_sorted(team):
    Provider.objects.create(
        team=team, name="A", base_url="http://a/v1", known_models=["m-2", 7, "m-1"]
    )
    Provider.objects.create(
        team=team, name="B", base_url="http://b/v1", known_models=["m-1"], default_model="m-0"
    )
    Provider.objects.create(team=team, name="C", base_url="http://c/v1", known_models=[])
    assert known_model_names(team.providers.all()) == ["m-0", "m-1", "m-2"]
