"""Members of the network and the rules about their profiles and status. Pure: no I/O."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.refusal import Refusal


class Role(StrEnum):
    MEMBER = "member"
    FACILITATOR = "facilitator"


class Status(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    LEFT = "left"


class DeliveryPreference(StrEnum):
    INSTANT = "instant"
    DAILY = "daily"
    WEEKLY = "weekly"


@dataclass(frozen=True)
class Identity:
    """A member on one platform. `chat_id` is their private chat there (may be empty when
    the platform writes to the user id directly)."""

    platform: str
    user_id: str
    chat_id: str = ""
    reachable: bool = True
    last_seen_at: float | None = None


@dataclass(frozen=True)
class Member:
    id: int
    name: str = ""
    organization: str = ""
    country: str = ""
    topics: tuple[str, ...] = ()
    language: str = ""
    featured_consent: bool = False
    role: Role = Role.MEMBER
    status: Status = Status.ACTIVE
    delivery: DeliveryPreference = DeliveryPreference.INSTANT
    identities: tuple[Identity, ...] = ()
    joined_at: float = 0.0
    digest_hour: int = 8  # local hour of the daily or weekly digest
    timezone: str = "UTC"
    digest_sent_at: float | None = None
    # Languages a facilitator handles besides their own: their cards come to them too.
    handles: tuple[str, ...] = ()
    # Set by the facilitators, with their reason: muted (may not ask or reply), removed.
    muted_reason: str | None = None
    removed_reason: str | None = None
    # The member directory (/members): what they offer and look for, in their own words, and
    # whether other members may find them there at all.
    offers: str = ""
    seeks: str = ""
    in_directory: bool = False

    @property
    def is_facilitator(self) -> bool:
        return self.role is Role.FACILITATOR

    def handles_language(self, code: str) -> bool:
        return code == self.language or code in self.handles

    @property
    def receives_broadcasts(self) -> bool:
        return self.status is Status.ACTIVE

    def attribution(self) -> str:
        """"Name (Organization, Country)", leaving out what the member did not give."""
        where = ", ".join(part for part in (self.organization, self.country) if part)
        name = self.name or "A member"
        return f"{name} ({where})" if where else name

    def credit(self) -> str:
        """"Name, Organization, Country": how a key point of a consolidated reply names its
        author, itself inside parentheses."""
        return ", ".join(part for part in (self.name or "A member", self.organization, self.country) if part)

    def pause(self) -> "Member | Refusal":
        if self.status is Status.LEFT:
            return Refusal("You have left the network. Send /start to join again.")
        if self.status is Status.PAUSED:
            return Refusal("You are already paused. Send /resume to receive questions again.")
        return replace(self, status=Status.PAUSED)

    def resume(self) -> "Member | Refusal":
        if self.status is Status.ACTIVE:
            return Refusal("You are already receiving questions.")
        return replace(self, status=Status.ACTIVE)

    def leave(self) -> "Member | Refusal":
        if self.status is Status.LEFT:
            return Refusal("You have already left the network.")
        return replace(self, status=Status.LEFT)

    def best_identity(self) -> Identity | None:
        """The reachable identity the member used last: where the bot writes to them."""
        reachable = [identity for identity in self.identities if identity.reachable]
        if not reachable:
            return None
        return max(reachable, key=lambda identity: identity.last_seen_at or 0.0)


# --- profile fields ------------------------------------------------------------------------

PROFILE_LIMITS = {"name": 80, "organization": 120, "country": 60, "offers": 300, "seeks": 300}
MAX_TOPICS = 10
MAX_TOPIC_LENGTH = 40


def clean_field(field_name: str, text: str) -> str | Refusal:
    """A profile field as the member typed it, tidied; or why it cannot be used."""
    value = " ".join(text.split())
    if not has_words(value):
        return Refusal("Please send a few letters, or press Skip.")
    limit = PROFILE_LIMITS[field_name]
    if len(value) > limit:
        return Refusal("That is too long: at most {limit} characters, please.", {"limit": limit})
    return value


def clean_topics(text: str) -> tuple[str, ...] | Refusal:
    topics = []
    for part in re.split(r"[,;\n]", text):
        topic = " ".join(part.split())
        if not topic:
            continue
        if len(topic) > MAX_TOPIC_LENGTH:
            return Refusal(
                "Each topic can be at most {limit} characters: separate topics with commas.",
                {"limit": MAX_TOPIC_LENGTH},
            )
        if topic.casefold() not in {existing.casefold() for existing in topics}:
            topics.append(topic)
    if not topics:
        return Refusal("Please send a few topics separated by commas, or press Skip.")
    if len(topics) > MAX_TOPICS:
        return Refusal("At most {limit} topics, please.", {"limit": MAX_TOPICS})
    return tuple(topics)


def has_words(text: str) -> bool:
    """True when the text holds at least one letter or digit (not only emoji or punctuation)."""
    return any(unicodedata.category(character)[0] in "LN" for character in text)


def is_time_zone(name: str) -> bool:
    """True for an IANA time zone name such as "Africa/Nairobi"."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
