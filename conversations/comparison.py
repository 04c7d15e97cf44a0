"""What differed between runs of one conversation against several models: the diff table.

Pure: it takes one `RunFacts` per run (plain values, read from the records by
`conversations.comparison_runs`) and returns the table a person reads, each cell marked when it
differs from the first run's. It must not import Django nor read the database, so it is tested
and reasoned about alone.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

ANSWER_SNIPPET_CHARS = 160
TIMES = "\N{MULTIPLICATION SIGN}"


@dataclass(frozen=True)
class CallFacts:
    """One tool call a run's model asked for, and how it ended."""

    name: str
    arguments: Any  # the parsed arguments, or the raw text the model sent when it was no JSON
    error_code: str = ""


@dataclass(frozen=True)
class RunFacts:
    """What one run did, as far as the comparison cares."""

    label: str
    status: str
    rounds: int = 0
    calls: Sequence[CallFacts] = ()
    # Provider errors ("timeout", "http_error"…) of the run's model calls, in order.
    model_errors: Sequence[str] = ()
    # None: at least one model answer came without usage (some servers never send it).
    prompt_tokens: int | None = 0
    completion_tokens: int | None = 0
    model_ms: float = 0.0
    tool_ms: float = 0.0
    answer: str = ""


@dataclass(frozen=True)
class Item:
    """One value in a cell (a call's arguments, an error code…); `differs` when the first run
    has no such value (or fewer of them)."""

    text: str
    differs: bool = False


@dataclass(frozen=True)
class Cell:
    items: tuple[Item, ...]
    differs: bool = False

    @property
    def text(self) -> str:
        return ", ".join(item.text for item in self.items)


@dataclass(frozen=True)
class Row:
    label: str
    cells: tuple[Cell, ...]
    # Whether a cell differing from the first run's is worth a mark: behaviour (which tools,
    # which arguments) is; tokens and times, which always differ a little, are shown plain.
    compared: bool = True
    kind: str = ""

    @property
    def differs(self) -> bool:
        return any(cell.differs for cell in self.cells)


@dataclass
class Table:
    labels: list[str]
    rows: list[Row] = field(default_factory=list)

    def row(self, label: str) -> Row:
        return next(row for row in self.rows if row.label == label)


def canonical(arguments: Any) -> str:
    """Arguments as compact JSON with sorted keys, so equal values read (and compare) equal."""
    if isinstance(arguments, str):
        return arguments
    try:
        return json.dumps(arguments, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
    except (TypeError, ValueError):
        return repr(arguments)


def _multiset_cells(values_per_run: list[list[str]], *, empty: str = "—") -> tuple[Cell, ...]:
    """Cells for values compared as multisets; an item differs when the first run had fewer of
    it, a cell when its multiset is not the first run's."""
    first = Counter(values_per_run[0]) if values_per_run else Counter()
    cells = []
    for values in values_per_run:
        counts = Counter(values)
        if not counts:
            cells.append(Cell((Item(empty, differs=bool(first)),), differs=counts != first))
            continue
        items = tuple(
            Item(f"{value} {TIMES}{n}" if n > 1 else value, differs=n > first.get(value, 0))
            for value, n in sorted(counts.items())
        )
        cells.append(Cell(items, differs=counts != first))
    return tuple(cells)


def _plain_cells(values: list[str], *, compared: bool) -> tuple[Cell, ...]:
    first = values[0] if values else ""
    return tuple(Cell((Item(value),), differs=compared and value != first) for value in values)


def _tokens(value: int | None) -> str:
    return "unknown" if value is None else str(value)


def _ms(value: float) -> str:
    return f"{value:,.0f} ms"


def snippet(text: str, limit: int = ANSWER_SNIPPET_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def diff_runs(runs: Sequence[RunFacts]) -> Table:
    """The diff table of `runs`, each cell compared with the first run's."""
    table = Table(labels=[run.label for run in runs])
    if not runs:
        return table
    table.rows.append(Row("Status", _plain_cells([run.status for run in runs], compared=True)))
    table.rows.append(Row("Rounds", _plain_cells([str(run.rounds) for run in runs], compared=True)))
    table.rows.append(
        Row(
            "Tools called",
            _multiset_cells([[call.name for call in run.calls] for run in runs], empty="none"),
            kind="tools",
        )
    )
    names = sorted({call.name for run in runs for call in run.calls})
    for name in names:
        arguments = [
            [canonical(call.arguments) for call in run.calls if call.name == name] for run in runs
        ]
        table.rows.append(
            Row(
                f"Arguments of {name}",
                _multiset_cells(arguments, empty="not called"),
                kind="arguments",
            )
        )
    errors = [
        [call.error_code for call in run.calls if call.error_code]
        + [f"provider {kind}" for kind in run.model_errors]
        for run in runs
    ]
    table.rows.append(Row("Errors", _multiset_cells(errors, empty="none"), kind="errors"))
    numbers = (
        ("Prompt tokens", [_tokens(run.prompt_tokens) for run in runs]),
        ("Completion tokens", [_tokens(run.completion_tokens) for run in runs]),
        ("Model time", [_ms(run.model_ms) for run in runs]),
        ("Tool time", [_ms(run.tool_ms) for run in runs]),
    )
    for label, values in numbers:
        table.rows.append(Row(label, _plain_cells(values, compared=False), compared=False))
    answers = [snippet(run.answer) or "—" for run in runs]
    table.rows.append(Row("Final answer", _plain_cells(answers, compared=True), kind="answer"))
    return table
