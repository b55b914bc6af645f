"""Events of the network (webinars and meetings) and the rules about them: what a facilitator
may write when creating one, who gets a place and who waits, and which reminder is due when.
Pure: no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.members import has_words
from bot.domain.refusal import Refusal

HOUR = 3600.0
DAY = 86400.0
MAX_TITLE = 150
MAX_DESCRIPTION = 2000
MAX_SPEAKERS = 500
MAX_PLACE = 300
MAX_LINK = 500
MAX_CAPACITY = 1_000_000
LONGEST = 14 * DAY  # an event longer than two weeks is a typo

_START = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})[ T]+(\d{1,2})[:h.](\d{2})\s+(\S+)\s*$")
_DURATION = re.compile(r"^\s*(?:(\d{1,3})\s*d)?\s*(?:(\d{1,3})\s*h)?\s*(?:(\d{1,4})\s*m(?:in)?)?\s*$", re.IGNORECASE)
_LINK = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


class Registration(StrEnum):
    REGISTERED = "registered"
    WAITING = "waiting"
    CANCELLED = "cancelled"


class Reminder(StrEnum):
    DAY = "day"
    HOUR = "hour"


@dataclass(frozen=True)
class Event:
    id: int
    title: str
    starts_at: float  # Unix time
    time_zone: str  # the zone the facilitator wrote the start in
    duration: float  # seconds
    language: str
    description: str = ""
    speakers: str = ""
    link: str = ""  # where to join online, or empty
    place: str = ""  # where to meet, or empty
    capacity: int | None = None  # None: no limit
    created_by: int | None = None
    created_at: float = 0.0
    recording: str = ""
    day_reminder_at: float | None = None
    hour_reminder_at: float | None = None
    followed_up_at: float | None = None

    @property
    def ends_at(self) -> float:
        return self.starts_at + self.duration

    def has_ended(self, now: float) -> bool:
        return now >= self.ends_at

    def places_left(self, registered: int) -> int | None:
        return None if self.capacity is None else max(0, self.capacity - registered)

    def is_full(self, registered: int) -> bool:
        return self.capacity is not None and registered >= self.capacity

    def accepts_registrations(self, now: float) -> Refusal | None:
        if now >= self.starts_at:
            return Refusal("This event has already started: registration is closed.")
        return None

    def reminder_due(self, now: float) -> Reminder | None:
        """The reminder to send now, if any: each is due from its moment until the start, only
        for an event announced before that moment, and a day reminder that is late enough to
        overlap the hour one gives way to it (one message, not two in a row)."""
        if now >= self.starts_at:
            return None
        hour_at = self.starts_at - HOUR
        if self.hour_reminder_at is None and now >= hour_at and self.created_at < hour_at:
            return Reminder.HOUR
        day_at = self.starts_at - DAY
        if self.day_reminder_at is None and self.hour_reminder_at is None and day_at <= now < hour_at \
                and self.created_at < day_at:
            return Reminder.DAY
        return None

    def follow_up_due(self, now: float) -> bool:
        return self.followed_up_at is None and self.has_ended(now)


# --- what a facilitator writes ------------------------------------------------------------


def clean_text(text: str, limit: int) -> str | Refusal:
    value = text.strip()
    if not has_words(value):
        return Refusal("Please send a few words.")
    if len(value) > limit:
        return Refusal("That is too long: at most {limit} characters, please.", {"limit": limit})
    return value


def parse_start(text: str) -> tuple[float, str] | Refusal:
    """"2026-12-15 14:00 Africa/Nairobi" -> (Unix time, zone name)."""
    match = _START.match(text)
    if not match:
        return Refusal("Please write the start as a date, a time and a time zone, for example: "
                       "2026-12-15 14:00 Africa/Nairobi")
    year, month, day, hour, minute = (int(part) for part in match.groups()[:5])
    zone_name = match.group(6)
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        return Refusal("I do not know the time zone {zone}: use a name like Africa/Nairobi or America/Lima.",
                       {"zone": zone_name[:40]})
    try:
        moment = datetime(year, month, day, hour, minute, tzinfo=zone)
    except ValueError:
        return Refusal("There is no such date or time: {text}", {"text": text.strip()[:40]})
    return moment.timestamp(), zone_name


def parse_duration(text: str) -> float | Refusal:
    """"90m", "1h30m", "2h", "1d" -> seconds."""
    match = _DURATION.match(text)
    if not match or not any(match.groups()):
        return Refusal("Please write the duration like 90m, 2h or 1h30m.")
    days, hours, minutes = (int(part or 0) for part in match.groups())
    seconds = days * DAY + hours * HOUR + minutes * 60.0
    if seconds <= 0 or seconds > LONGEST:
        return Refusal("The duration must be more than zero and at most two weeks.")
    return seconds


def parse_where(text: str) -> tuple[str, str] | Refusal:
    """A joining link (http or https) or a place: (link, place)."""
    value = text.strip()
    if not value:
        return Refusal("Please send a joining link (starting with https://) or the place of the meeting.")
    if re.match(r"^[a-z][a-z0-9+.-]*://", value, re.IGNORECASE) or value.lower().startswith("www."):
        if not _LINK.match(value) or len(value) > MAX_LINK:
            return Refusal("That link does not look right: it must start with http:// or https://.")
        return value, ""
    place = clean_text(value, MAX_PLACE)
    return place if isinstance(place, Refusal) else ("", place)


def parse_link(text: str) -> str | Refusal:
    value = text.strip()
    if not _LINK.match(value) or len(value) > MAX_LINK:
        return Refusal("That link does not look right: it must start with http:// or https://.")
    return value


def parse_capacity(text: str) -> int | Refusal:
    value = text.strip().replace(",", "").replace(" ", "")
    if not value.isdigit() or not 0 < int(value) <= MAX_CAPACITY:
        return Refusal("Please send the number of places, like 100, or press Skip for no limit.")
    return int(value)


def parse_number(text: str) -> int | None:
    """"12" or "#12" -> 12."""
    value = text.strip().lstrip("#")
    return int(value) if value.isdigit() and len(value) <= 9 else None
