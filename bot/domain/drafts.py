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
    (or "anonymous"), its text, and how a key point taken from it credits the author."""

    author: str
    text: str
    credit: str = ""  # "Name, Organization, Country"; the attribution when not given

    @property
    def anonymous(self) -> bool:
        return self.author == ANONYMOUS


ANONYMOUS = "anonymous"


def credited(sentence: str, credit: str) -> str:
    """A key point with its author's credit, punctuated as a sentence: "Agents worked well
    (Kwame Mensah, Ministry of Gender, Ghana)." The credit goes before a closing full stop,
    after a question or exclamation mark."""
    sentence = sentence.strip()
    if sentence.endswith(_FULL_STOPS) and not sentence.endswith(".."):
        return f"{sentence[:-1]} ({credit}){sentence[-1]}"
    return f"{sentence} ({credit})"


_FULL_STOPS = (".", "。", "۔")
