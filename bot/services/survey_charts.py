"""The distribution of a survey's answers as a PNG: one horizontal bar chart per question
that has a scale or options, drawn with matplotlib's Agg backend (no display, and a Figure of
its own per call rather than pyplot's shared state, so it is safe in a worker thread)."""

from __future__ import annotations

import io
import textwrap
from typing import Sequence

from bot.domain.surveys import Kind, QuestionResult

BAR_COLOUR = "#2a6f97"
AGREE_COLOUR = "#2a9d8f"


def survey_chart(title: str, results: Sequence[QuestionResult]) -> bytes | None:
    """The PNG's bytes, or None when no question has a distribution to draw."""
    drawn = [result for result in results if result.question.kind is not Kind.TEXT]
    if not drawn:
        return None
    # matplotlib is loaded when a chart is drawn: it weighs tens of megabytes.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    heights = [1.2 + 0.35 * len(result.distribution) for result in drawn]
    figure = Figure(figsize=(7.5, 0.8 + sum(heights)), dpi=100)
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(len(drawn), 1, height_ratios=heights)
    figure.suptitle(textwrap.shorten(title, 80), fontsize=12, fontweight="bold")
    for index, result in enumerate(drawn):
        axes = figure.add_subplot(grid[index])
        values = list(result.distribution)
        counts = [result.distribution[value] for value in values]
        if result.question.kind is Kind.LIKERT:
            labels = [str(value) for value in values]
            colours = [AGREE_COLOUR if value >= 4 else BAR_COLOUR for value in values]
        else:
            labels = [textwrap.shorten(result.question.options[value], 30) for value in values]
            colours = [BAR_COLOUR] * len(values)
        positions = list(range(len(values)))
        bars = axes.barh(positions, counts, color=colours)
        axes.set_yticks(positions, labels)
        axes.invert_yaxis()
        axes.bar_label(bars, labels=[f"{count}" for count in counts], padding=3, fontsize=8)
        axes.set_xlim(0, max(max(counts), 1) * 1.15)
        axes.set_title("\n".join(textwrap.wrap(f"{result.question.position}. {result.question.text}", 90)),
                       fontsize=9, loc="left")
        axes.tick_params(axis="both", labelsize=8)
        axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    output = io.BytesIO()
    figure.savefig(output, format="png")
    return output.getvalue()
