"""Figures, percentiles and the table that puts each figure next to its floor."""

from __future__ import annotations

import math
import resource
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One measured figure. `floor` names the floor Figure it is compared with, if any."""

    key: str
    label: str
    value: float
    unit: str
    floor: str | None = None
    note: str = ""


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def latency_figures(
    key: str, label: str, seconds: Sequence[float], *, floor: str | None = None, one_floor: bool = False
) -> list[Figure]:
    """p50 and p95 in milliseconds, compared with `<floor>_p50` and `<floor>_p95`, or with
    `floor` itself for both when `one_floor`."""
    return [
        Figure(
            f"{key}_{name}",
            f"{label} {name}",
            percentile(seconds, q) * 1000,
            "ms",
            (floor if one_floor else f"{floor}_{name}") if floor else None,
        )
        for name, q in (("p50", 0.50), ("p95", 0.95))
    ]


def _number(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def render_table(figures: Sequence[Figure]) -> str:
    """The benchmark table: figure, unit, the floor measured in this run, and the ratio.

    ratio = figure / floor. For rates below 1 is slower than the floor; for latencies
    above 1 is slower.
    """
    by_key = {f.key: f for f in figures}
    header = ("benchmark", "figure", "unit", "floor measured in this run", "floor", "ratio")
    rows = [header]
    for figure in figures:
        floor = by_key.get(figure.floor) if figure.floor else None
        if floor is not None and floor.value and not math.isnan(floor.value):
            floor_cells = (
                floor.label,
                f"{_number(floor.value)} {floor.unit}",
                f"{figure.value / floor.value:.2f}",
            )
        elif figure.floor:
            floor_cells = ("(floor not measured)", "", "")
        else:
            floor_cells = ("", "", "")
        rows.append((figure.label, _number(figure.value), figure.unit, *floor_cells))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    right = {1, 4, 5}
    lines = []
    for n, row in enumerate(rows):
        cells = [
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    notes = [f"  {f.label}: {f.note}" for f in figures if f.note]
    legend = "ratio = figure / floor: for rates below 1 is slower than the floor, for latencies above 1 is."
    return "\n".join([*lines, "", legend, *(["Notes:", *notes] if notes else [])])


def peak_rss_mb(*, children: bool = False) -> float:
    """Peak resident memory in MB of this process, or of its largest waited-for child."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024  # kilobytes on Linux
