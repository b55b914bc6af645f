"""The archive: published consolidated replies, the network's searchable memory."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

_WORD = re.compile(r"\w+", re.UNICODE)
# Words too common to say whether two questions are about the same thing.
STOPWORDS = frozenset("""
a an and are as at be but by can do does for from has have how i if in is it its of on or our so that the their
there these this to was we what when where which who why will with would you your about any into more most other
some such than them then they those us very
de des du la le les un une et en est que qui dans pour par sur au aux avec ce ces comment quel quelle quels nous
el los las del y que en por para con como cual cuales una unos se es al lo
o os as um uma para com como qual quais em do da dos das no na nos nas
""".split())


@dataclass(frozen=True)
class ArchivedReply:
    discussion_id: int
    title: str
    question: str
    summary: str
    contributions: str
    language: str
    published_at: float
    # The facilitators' versions in other languages, by language code.
    translations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchHit:
    discussion_id: int
    title: str
    published_at: float
    snippet: str  # a few words of the key points (for a search), plain
    # For `similar`: the share (0 to 1) of the text's significant words found in the hit's
    # title and question. For `search`: the relevance rank, higher is better.
    score: float


class Archive(Protocol):
    async def add(self, reply: ArchivedReply) -> None:
        """Add, or replace when the discussion is already there."""
        ...

    async def search(self, words: str, limit: int = 5) -> list[SearchHit]: ...

    async def get(self, discussion_id: int) -> ArchivedReply | None: ...

    async def similar(self, text: str, limit: int = 3) -> list[SearchHit]: ...

    async def all_published(self) -> list[ArchivedReply]:
        """Newest first."""
        ...

    async def count(self) -> int: ...


def search_terms(text: str) -> list[str]:
    """A member's words as plain search terms: letters and digits only, so that no quote,
    operator or stray punctuation can reach the search engine's own syntax."""
    terms = []
    for word in _WORD.findall(text.casefold()):
        word = word.strip("_")
        if word and word not in terms:
            terms.append(word)
    return terms[:12]


def significant_terms(text: str) -> list[str]:
    return [term for term in search_terms(text) if len(term) > 2 and term not in STOPWORDS and not term.isdigit()]
