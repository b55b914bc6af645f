"""News, briefs and alerts. A member's news (a workshop, a publication, a job, a resource) waits
for a facilitator like a question does; a facilitator's brief or alert goes out as it is sent.
Briefs and alerts may be meant for some members only: those of a country, a topic or a
language. Pure: no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum

from bot.domain.members import Member
from bot.domain.practices import clean_link, clean_text, fold, too_long
from bot.domain.refusal import Refusal
from bot.texts.catalog import N_

MAX_TITLE = 150
MAX_TEXT = 1500
MAX_REASON = 1000
MAX_VALUES = 10


class Kind(StrEnum):
    WORKSHOP = "workshop"
    PUBLICATION = "publication"
    JOB = "job"
    RESOURCE = "resource"
    OTHER = "other"
    BRIEF = "brief"  # a facilitator's
    ALERT = "alert"  # a facilitator's, urgent: never waits for a digest


SHARED_KINDS = (Kind.WORKSHOP, Kind.PUBLICATION, Kind.JOB, Kind.RESOURCE, Kind.OTHER)
KIND_WORDS = {
    Kind.WORKSHOP: N_("Workshop"), Kind.PUBLICATION: N_("Publication"), Kind.JOB: N_("Job"),
    Kind.RESOURCE: N_("Resource"), Kind.OTHER: N_("News"), Kind.BRIEF: N_("Brief"), Kind.ALERT: N_("Alert"),
}


class State(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"  # and sent
    REJECTED = "rejected"


class Audience(StrEnum):
    """Who a brief or an alert is for."""

    EVERYONE = "everyone"
    COUNTRY = "country"
    TOPIC = "topic"
    LANGUAGE = "language"


@dataclass(frozen=True)
class News:
    id: int
    kind: Kind
    title: str
    text: str
    link: str = ""
    submitted_by: int | None = None  # None once the member was forgotten
    state: State = State.SUBMITTED
    state_by: int | None = None
    reason: str = ""
    audience: Audience = Audience.EVERYONE
    values: tuple[str, ...] = ()  # the countries, topics or language codes of a targeted one
    created_at: float = 0.0
    decided_at: float | None = None

    @property
    def urgent(self) -> bool:
        return self.kind is Kind.ALERT

    def approve(self, by: int, now: float) -> "News | Refusal":
        if self.state is not State.SUBMITTED:
            return self.where_it_stands()
        return replace(self, state=State.APPROVED, state_by=by, decided_at=now)

    def reject(self, by: int, reason: str, now: float) -> "News | Refusal":
        if self.state is not State.SUBMITTED:
            return self.where_it_stands()
        reason = " ".join(reason.split())
        if len(reason) > MAX_REASON:
            return too_long(MAX_REASON)
        return replace(self, state=State.REJECTED, state_by=by, reason=reason, decided_at=now)

    def edit(self, text: str) -> "News | Refusal":
        if self.state is not State.SUBMITTED:
            return self.where_it_stands()
        cleaned = clean_news_text(text)
        if isinstance(cleaned, Refusal):
            return cleaned
        return replace(self, text=cleaned)

    def where_it_stands(self) -> Refusal:
        if self.state is State.APPROVED:
            return Refusal("News #{number} was already approved.", {"number": self.id})
        if self.state is State.REJECTED:
            return Refusal("News #{number} was already rejected.", {"number": self.id})
        return Refusal("News #{number} is waiting for approval.", {"number": self.id})

    def reaches(self, member: Member) -> bool:
        """Whether the member is among those it is meant for."""
        if self.audience is Audience.EVERYONE:
            return True
        wanted = {fold(value) for value in self.values}
        if self.audience is Audience.COUNTRY:
            return fold(member.country) in wanted
        if self.audience is Audience.TOPIC:
            return any(fold(topic) in wanted for topic in member.topics)
        return member.language.casefold() in {value.casefold() for value in self.values}


def clean_title(text: str) -> str | Refusal:
    value = clean_text(text, MAX_TITLE)
    return " ".join(value.split()) if isinstance(value, str) else value


def clean_news_text(text: str) -> str | Refusal:
    return clean_text(text, MAX_TEXT)


def clean_news_link(text: str) -> str | Refusal:
    return clean_link(text)


def parse_values(text: str) -> tuple[str, ...] | Refusal:
    """Countries or topics as typed, separated by commas."""
    values: list[str] = []
    for part in re.split(r"[,;\n]+", text):
        value = " ".join(part.split())
        if value and fold(value) not in {fold(each) for each in values}:
            values.append(value)
    if not values:
        return Refusal("Please send at least one, separating them with commas.")
    if len(values) > MAX_VALUES or any(len(value) > 60 for value in values):
        return Refusal("At most {limit}, separated by commas, please.", {"limit": MAX_VALUES})
    return tuple(values)


def parse_languages(text: str, names: dict[str, str]) -> tuple[str, ...] | Refusal:
    """Languages by code ("fr") or name in any of the network's languages (`names`: folded name
    or code -> code)."""
    values = parse_values(text)
    if isinstance(values, Refusal):
        return values
    codes: list[str] = []
    for value in values:
        code = names.get(fold(value))
        if code is None:
            return Refusal("The network does not use the language “{name}”.", {"name": value[:40]})
        if code not in codes:
            codes.append(code)
    return tuple(codes)
