"""The demo model does not take a word that names another offered tool for a city or an item:
"Flights from Oslo to Lima and the weather in Lima" asks for weather in Oslo and Lima, not in
"Flights"."""

from __future__ import annotations

from tests.conversations.test_demo_model import ask, calls


def test_a_capitalised_tool_word_is_not_an_item():
    assert calls(ask("Flights from Oslo to Lima and the weather in Lima")) == [
        ("get_weather", {"city": "Oslo"}),
        ("get_weather", {"city": "Lima"}),
        (
            "search_flights",
            {"origin": "Oslo", "destination": "Lima", "date": "2026-01-15", "max_results": 5},
        ),
    ]
    assert calls(ask("Weather, please: Oslo")) == [("get_weather", {"city": "Oslo"})]


def test_a_sentence_starting_with_another_tools_word_keeps_its_route():
    assert calls(ask("Weather in Paris, Rome and Berlin, and flights from Paris to Rome"))[-1] == (
        "search_flights",
        {"origin": "Paris", "destination": "Rome", "date": "2026-01-15", "max_results": 5},
    )
