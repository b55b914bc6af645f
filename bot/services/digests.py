"""Delivery preferences and digests: a member chooses every question as it comes (instant,
the default), a daily digest or a weekly one, at their hour in their time zone. A digest
lists the new questions, each with a Reply button, and the consolidated replies published
since the last one. Digests are sent by a job every few minutes; one that was missed while
the bot was down is sent once at the next start."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol, Sequence
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.domain.discussions import Discussion, title_of
from bot.domain.members import DeliveryPreference, Member, is_time_zone
from bot.domain.refusal import Refusal
from bot.ports import Button, Message, Purpose, TemplateHint
from bot.services.buttons import ButtonCodec
from bot.services.conversation import UnitOfWork
from bot.services.discussions import DiscussionStore
from bot.services.members import MemberStore
from bot.services.messaging import Messenger, Part, bold, compose
from bot.services.outbox import Waker
from bot.services.replying import Press as ReplyPress
from bot.services.routes import Arguments, Route, command, personal_button
from bot.services.turn import Turn
from bot.texts.catalog import Translator

PERIOD = {DeliveryPreference.DAILY: timedelta(days=1), DeliveryPreference.WEEKLY: timedelta(days=7)}
MONDAY = 0


class Press(StrEnum):
    CHOOSE = "dg"
    SHOW = "ds"  # a template's button: the digest itself, once the member wrote


class Command(StrEnum):
    DIGEST = "digest"
    TIMEZONE = "timezone"


def last_due(member: Member, now: float) -> float:
    """The latest time at or before `now` when the member's digest was due."""
    zone = _zone(member.timezone)
    local = datetime.fromtimestamp(now, zone)
    due = local.replace(hour=member.digest_hour, minute=0, second=0, microsecond=0)
    if member.delivery is DeliveryPreference.WEEKLY:
        due -= timedelta(days=(due.weekday() - MONDAY) % 7)
    while due > local:
        due -= PERIOD[member.delivery]
    return due.timestamp()


class DigestSection(Protocol):
    """More that a digest carries besides questions and consolidated replies (news and briefs)."""

    async def gather(self, member: Member, since: float, now: float) -> Sequence[object]: ...

    def parts(self, t: Translator, items: Sequence[object]) -> list[Part]: ...

    def preview(self, items: Sequence[object]) -> str: ...


Sections = Sequence[tuple[DigestSection, Sequence[object]]]


@dataclass(eq=False)
class Digests:
    members: MemberStore
    discussions: DiscussionStore
    messenger: Messenger
    codec: ButtonCodec
    database: UnitOfWork
    waker: Waker
    clock: Clock
    sections: list[DigestSection] = field(default_factory=list)

    def routes(self) -> Sequence[Route]:
        return (
            command(Command.DIGEST, self.show_choice, "Every question as it comes, or a daily or weekly digest",
                    arguments=Arguments.TEXT),
            command(Command.TIMEZONE, self.set_timezone, "Your time zone, for digests", arguments=Arguments.TEXT),
            personal_button(Press.CHOOSE, self.press_choice),
            personal_button(Press.SHOW, self.press_show),
        )

    async def send_due(self) -> int:
        """Send every digest that is due; returns how many members were handled."""
        now = self.clock.now()
        handled = 0
        for member in await self.members.digest_readers():
            due = last_due(member, now)
            if member.digest_sent_at is not None and member.digest_sent_at >= due:
                continue
            since = member.digest_sent_at if member.digest_sent_at is not None else due - _period(member)
            async with self.database.transaction():
                questions, published = await self._news(member, since, now)
                extra = await self._sections(member, since, now)
                if questions or published or extra:
                    recipients = await self.members.recipients(member_ids=[member.id])
                    await self.messenger.send(
                        recipients, lambda t: self.digest(t, member, questions, published, extra), Purpose.DIGEST,
                        template=lambda t: self.template(t, member, questions, published, extra))
                await self.members.save(replace(member, digest_sent_at=now))
            handled += 1
        self.waker.wake()
        return handled

    async def _news(self, member: Member, since: float, now: float) -> tuple[list[Discussion], list[Discussion]]:
        questions = [d for d in await self.discussions.approved_between(since, now) if d.asker_id != member.id]
        return questions, await self.discussions.published_between(since, now)

    async def _sections(self, member: Member, since: float, now: float) -> Sections:
        gathered = [(section, await section.gather(member, since, now)) for section in self.sections]
        return [(section, items) for section, items in gathered if items]

    def digest(self, t: Translator, member: Member, questions: Sequence[Discussion],
               published: Sequence[Discussion], extra: Sections = ()) -> Message:
        parts: list[Part] = [bold(t("Your daily digest") if member.delivery is DeliveryPreference.DAILY
                                  else t("Your weekly digest"))]
        buttons: list[list[Button]] = []
        if questions:
            parts += ["\n\n", bold(t("New questions"))]
            for discussion in questions:
                parts += ["\n", f"#{discussion.id} ", discussion.text]
                if discussion.deadline_at:
                    parts += [" ", t("(replies until {day})", day=t.date(discussion.deadline_at))]
                buttons.append([Button(t("Reply to #{number}", number=discussion.id),
                                       self.codec.encode(ReplyPress.REPLY, discussion.id))])
        if published:
            parts += ["\n\n", bold(t("New consolidated replies"))]
            for discussion in published:
                parts += ["\n", title_of(discussion.text), f" — /read {discussion.id}"]
        for section, items in extra:
            parts += section.parts(t, items)
        return compose(*parts, buttons=buttons)

    def template(self, t: Translator, member: Member, questions: Sequence[Discussion],
                 published: Sequence[Discussion], extra: Sections = ()) -> TemplateHint:
        preview = (title_of((questions or published)[0].text, limit=60) if questions or published
                   else extra[0][0].preview(extra[0][1]))
        return TemplateHint(preview,
                            Button(t("Read it"), self.codec.encode(Press.SHOW, member.id)))

    async def press_show(self, turn: Turn, arg: str) -> None:
        member = turn.member
        if member.delivery is DeliveryPreference.INSTANT:
            await turn.refuse(Refusal("You receive each question as it comes: there is no digest to show."))
            return
        since = (member.digest_sent_at or turn.now) - _period(member)
        questions, published = await self._news(member, since, turn.now)
        extra = await self._sections(member, since, turn.now)
        await turn.show(self.digest(turn.t, member, questions, published, extra))

    # --- choosing ---------------------------------------------------------------------------

    async def show_choice(self, turn: Turn, args: str) -> None:
        """/digest shows the choice; /digest daily 18 or /digest weekly 9 sets it in one go."""
        words = args.split()
        if words:
            await self._set_from_words(turn, words)
            return
        t, member = turn.t, turn.member
        await turn.say(
            t("How would you like to receive the network's questions? Now: {choice}.", choice=_describe(t, member)),
            "\n", t("Send /digest daily 18 to choose the hour too, and /timezone Africa/Nairobi to set your time zone."),
            buttons=[[turn.button(t("Each question as it comes"), Press.CHOOSE, member.id, "instant",
                                  short=t("Each question"))],
                     [turn.button(t("A daily digest"), Press.CHOOSE, member.id, "daily")],
                     [turn.button(t("A weekly digest"), Press.CHOOSE, member.id, "weekly")]],
        )

    async def press_choice(self, turn: Turn, choice: str) -> None:
        try:
            preference = DeliveryPreference(choice)
        except ValueError:
            await turn.refuse(Refusal("This button is not valid. Send /help to see what you can do."))
            return
        await self._save(turn, replace(turn.member, delivery=preference))

    async def set_timezone(self, turn: Turn, args: str) -> None:
        name = args.strip()
        if not name:
            await turn.say(turn.t("Your time zone is {zone}. Send /timezone and a name like Africa/Nairobi or "
                                  "America/Lima to change it.", zone=turn.member.timezone))
            return
        if not is_time_zone(name):
            await turn.refuse(Refusal("I do not know the time zone {zone}: use a name like Africa/Nairobi or "
                                      "America/Lima.", {"zone": name[:40]}))
            return
        await self._save(turn, replace(turn.member, timezone=name))

    async def _set_from_words(self, turn: Turn, words: list[str]) -> None:
        try:
            preference = DeliveryPreference(words[0].casefold())
        except ValueError:
            await turn.refuse(Refusal("Send /digest instant, /digest daily or /digest weekly, and an hour if you like."))
            return
        member = replace(turn.member, delivery=preference)
        if len(words) > 1:
            if not words[1].isdigit() or not 0 <= int(words[1]) <= 23:
                await turn.refuse(Refusal("The hour is a number from 0 to 23."))
                return
            member = replace(member, digest_hour=int(words[1]))
        await self._save(turn, member)

    async def _save(self, turn: Turn, member: Member) -> None:
        if member.delivery is not DeliveryPreference.INSTANT and member.digest_sent_at is None:
            # The first digest covers what comes after the choice, not the whole history.
            member = replace(member, digest_sent_at=turn.now)
        turn.member = member
        await self.members.save(member)
        turn.notice = turn.t("Saved.")
        await turn.say(turn.t("Saved: {choice}.", choice=_describe(turn.t, member)))


def _period(member: Member) -> float:
    return PERIOD[member.delivery].total_seconds()


def _describe(t: Translator, member: Member) -> str:
    if member.delivery is DeliveryPreference.INSTANT:
        return t("each question as it comes")
    when = f"{member.digest_hour:02d}:00 ({member.timezone})"
    if member.delivery is DeliveryPreference.DAILY:
        return t("a daily digest at {when}", when=when)
    return t("a weekly digest on Mondays at {when}", when=when)


def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name) if is_time_zone(name) else ZoneInfo("UTC")
