"""The community programme's rules: what goes into a month's newsletter, the life of a
member's feature ("Know Your Community"), and when the next feature is due. Pure: no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from bot.domain.refusal import Refusal

PREVIEW_CHARS = 280  # how much of an item's text a newsletter shows; the rest is one command away
FIRST_WORDS = 12  # the words /community shows of each feature


@dataclass(frozen=True)
class Item:
    """One thing the newsletter tells: a consolidated reply, a practice, an event, news, a feature."""

    number: int
    title: str
    text: str = ""
    at: float = 0.0  # when it was published, or when an event starts


@dataclass(frozen=True)
class NewsletterContent:
    """What was published in a month, as it stood when the newsletter was drafted."""

    replies: tuple[Item, ...] = ()
    practices: tuple[Item, ...] = ()
    past_events: tuple[Item, ...] = ()
    coming_events: tuple[Item, ...] = ()
    news: tuple[Item, ...] = ()
    features: tuple[Item, ...] = ()
    # False while the news feature's table does not exist: the section says so.
    has_news: bool = False

    @property
    def is_empty(self) -> bool:
        return not (self.replies or self.practices or self.past_events or self.coming_events or self.news
                    or self.features)


class NewsletterState(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Newsletter:
    id: int
    month: str  # "2026-11"
    content: NewsletterContent
    state: NewsletterState = NewsletterState.DRAFT
    intro: str = ""
    created_by: int | None = None
    created_at: float = 0.0
    sent_at: float | None = None
    audience: int = 0

    def can_change(self) -> Refusal | None:
        if self.state is NewsletterState.SENT:
            return Refusal("This newsletter was already sent.")
        if self.state is NewsletterState.CANCELLED:
            return Refusal("This newsletter was cancelled. Send /newsletter to draft it again.")
        return None


class FeatureState(StrEnum):
    PROPOSED = "proposed"  # a card in the facilitators' chat: Ask them / Pick another
    PASSED = "passed"  # a facilitator picked another member
    ASKED = "asked"  # the member answers the questions
    REVIEW = "review"  # the member reads the drafted text: Approve / Change
    APPROVING = "approving"  # a facilitator approves it, and it is broadcast
    PUBLISHED = "published"
    DECLINED = "declined"  # the member said no, thanks

    @property
    def is_open(self) -> bool:
        return self in (FeatureState.PROPOSED, FeatureState.ASKED, FeatureState.REVIEW, FeatureState.APPROVING)


# The questions a featured member answers, in order; each may be skipped.
QUESTIONS = ("role", "work", "help")


@dataclass(frozen=True)
class Feature:
    id: int
    member_id: int | None
    state: FeatureState
    proposed_at: float
    role: str | None = None
    work: str | None = None
    help: str | None = None
    text: str = ""
    name: str = ""
    asked_at: float | None = None
    published_at: float | None = None

    def answer(self, question: str) -> str | None:
        return getattr(self, question) if question in QUESTIONS else None

    def next_question(self) -> str | None:
        """The first question not yet answered (nor skipped)."""
        return next((question for question in QUESTIONS if self.answer(question) is None), None)

    def expects(self, *states: FeatureState) -> Refusal | None:
        if self.state in states:
            return None
        if self.state is FeatureState.PUBLISHED:
            return Refusal("This feature was already published.")
        if self.state in (FeatureState.PASSED, FeatureState.DECLINED):
            return Refusal("This feature is no longer planned.")
        return Refusal("That step of the feature is already done.")


@dataclass(frozen=True)
class Candidate:
    member_id: int
    name: str
    organization: str = ""
    country: str = ""
    last_featured_at: float | None = None
    topics: tuple[str, ...] = field(default=())


def feature_due(last_at: float | None, every: float, now: float) -> bool:
    """The first proposal is due at once; each next one `every` seconds after the last."""
    return last_at is None or now >= last_at + every


def parse_member_number(text: str) -> int | None:
    found = re.fullmatch(r"\s*#?(\d{1,9})\s*", text)
    return int(found.group(1)) if found else None


def shortened(text: str, limit: int = PREVIEW_CHARS) -> str:
    """A text cut at a word before `limit` characters, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut.rstrip(",.;:") + "…"


def first_words(text: str, count: int = FIRST_WORDS) -> str:
    words = text.split()
    return " ".join(words[:count]) + ("…" if len(words) > count else "")
