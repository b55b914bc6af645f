"""The draft of a consolidated reply, while the facilitators edit it before publishing."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Draft:
    discussion_id: int
    summary: str  # key points, one per line
    full_text: str | None = None  # a facilitator's own text, replacing everything
    discarded: bool = False
    updated_at: float = 0.0  # when it was last changed (discarded), as stored

    def with_summary(self, summary: str) -> "Draft":
        return replace(self, summary=summary, full_text=None)

    def with_full_text(self, text: str) -> "Draft":
        return replace(self, full_text=text)

    def discard(self) -> "Draft":
        return replace(self, discarded=True)

    def reopen(self) -> "Draft":
        return replace(self, discarded=False)


@dataclass(frozen=True)
class Contribution:
    """One reply as it appears in the consolidated reply: its author's attribution
    (or "anonymous") and its text."""

    author: str
    text: str

    @property
    def anonymous(self) -> bool:
        return self.author == ANONYMOUS


ANONYMOUS = "anonymous"
