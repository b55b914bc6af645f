"""Charts as PNG bytes, drawn with matplotlib's Agg renderer on a Figure of their own (never
pyplot, whose global state and interactive backends a server has no use for).

The pictures carry no sentence: what a chart shows is said beside it, in the reader's
language, so the only words drawn are the names given (months, countries)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:  # matplotlib is loaded when a chart is drawn: it weighs tens of megabytes
    from matplotlib.figure import Figure

WIDTH, HEIGHT, DPI = 800, 450, 100  # pixels: wide enough for a phone held sideways, small to send
COLOUR = "#2a6f97"


@dataclass(frozen=True)
class Bar:
    label: str
    value: int


def growth_chart(months: Sequence[Bar]) -> bytes:
    """Members at each month's end, oldest month first: bars with their numbers on top."""
    figure, axes = _figure()
    labels = [bar.label for bar in months]
    values = [bar.value for bar in months]
    drawn = axes.bar(range(len(values)), values, color=COLOUR)
    axes.bar_label(drawn, labels=[f"{value:,}" for value in values], padding=2, fontsize=9)
    axes.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=9)
    axes.set_ylim(0, max([*values, 1]) * 1.15)
    _plain(axes, axes.yaxis)
    return _png(figure)


def countries_chart(countries: Sequence[Bar]) -> bytes:
    """Members by country, the largest at the top."""
    figure, axes = _figure()
    labels = [bar.label for bar in countries]
    values = [bar.value for bar in countries]
    positions = list(range(len(values)))[::-1]
    drawn = axes.barh(positions, values, color=COLOUR)
    axes.bar_label(drawn, labels=[f"{value:,}" for value in values], padding=3, fontsize=9)
    axes.set_yticks(positions, labels, fontsize=9)
    axes.set_xlim(0, max([*values, 1]) * 1.15)
    _plain(axes, axes.xaxis)
    return _png(figure)


def _figure():  # type: ignore[no-untyped-def]
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    return figure, axes


def _plain(axes, counts) -> None:  # type: ignore[no-untyped-def]
    """No frame on the top and right, and whole numbers on the axis of counts (members
    come one by one)."""
    from matplotlib.ticker import MaxNLocator

    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    counts.set_major_locator(MaxNLocator(integer=True))


def _png(figure: Figure) -> bytes:
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()
