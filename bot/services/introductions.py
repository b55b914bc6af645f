"""Introductions between members: /connect 12 (and a few words about why) asks member #12
whether they agree to be introduced; nothing is shared unless they accept. On Accept each
receives the other's name, organization and a way to reach them; on Decline the asker is told
politely, without details; a request nobody answered expires after a week. Once introduced,
/connect 12 and a message passes it on through the bot (the way to reach someone on a
platform that gives no contact of its own, such as the web chat)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, Sequence

from bot.clock import Clock
from bot.domain.members import Identity, Member, Status
from bot.domain.refusal import Refusal
from bot.ports import Button, Message, Purpose, Span, Style
from bot.services.buttons import ButtonCodec
from bot.services.conversation import UnitOfWork
from bot.services.members import MemberStore
from bot.services.messaging import Messenger, Part, bold, compose
from bot.services.outbox import Waker
from bot.services.routes import Arguments, Route, command, personal_button
from bot.services.rules import IN_PRIVATE, IS_OWNER, NOT_LEFT, NOT_MUTED, NOT_REMOVED
from bot.services.turn import Turn
from bot.texts.catalog import Translator

log = logging.getLogger(__name__)

DAY = 86400.0
EXPIRES_AFTER = 7 * DAY
MOST_WAITING = 5  # requests of one member waiting for an answer at once
ASK_AGAIN_AFTER = 30 * DAY  # after a decline, the same member is not asked again before this
NOTE_CHARS = 300
NUMBER_AND_NOTE = re.compile(r"^#?(\d{1,9})\b\s*(.*)$", re.DOTALL)
NOT_IN_DIRECTORY = Refusal("No member #{number} is in the directory. Send /members and a few words to find members.")


class IntroductionState(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Introduction:
    id: int
    asker_id: int
    asked_id: int
    note: str
    state: IntroductionState
    created_at: float
    expires_at: float
    answered_at: float | None = None


class IntroductionStore(Protocol):
    async def create(self, asker_id: int, asked_id: int, note: str, now: float, expires_at: float) -> Introduction: ...

    async def get(self, introduction_id: int) -> Introduction | None: ...

    async def waiting_from(self, asker_id: int, now: float) -> list[Introduction]:
        """The member's requests still waiting for an answer (not expired)."""
        ...

    async def latest(self, asker_id: int, asked_id: int) -> Introduction | None:
        """The last request this member made of that one."""
        ...

    async def introduced(self, one: int, other: int) -> bool:
        """True when one of the two accepted the other's request."""
        ...

    async def answer(self, introduction_id: int, state: IntroductionState, now: float) -> bool:
        """Settle a pending request; False when it was no longer pending."""
        ...

    async def expire_due(self, now: float) -> list[Introduction]:
        """Mark the pending requests past their expiry as expired; returns them."""
        ...


class Command(StrEnum):
    CONNECT = "connect"


class Press(StrEnum):
    ACCEPT = "ina"
    DECLINE = "ind"


@dataclass(eq=False)
class Introductions:
    members: MemberStore
    store: IntroductionStore
    messenger: Messenger
    codec: ButtonCodec
    database: UnitOfWork
    waker: Waker
    clock: Clock

    def routes(self) -> Sequence[Route]:
        answering = (NOT_LEFT, NOT_REMOVED, IS_OWNER)
        return (
            command(Command.CONNECT, self.connect,
                    "Ask a member from /members for an introduction: /connect 12 and why",
                    rules=(IN_PRIVATE, NOT_LEFT, NOT_REMOVED, NOT_MUTED), arguments=Arguments.TEXT),
            personal_button(Press.ACCEPT, self.accept, rules=answering),
            personal_button(Press.DECLINE, self.decline, rules=answering),
        )

    # --- asking ---------------------------------------------------------------------------

    async def connect(self, turn: Turn, args: str) -> None:
        found = NUMBER_AND_NOTE.match(args.strip())
        if found is None:
            await turn.refuse(Refusal("Name the member by their number from /members, and add a few words if you "
                                      "like: /connect 12 I work on school feeding too."))
            return
        number, note = int(found.group(1)), " ".join(found.group(2).split())[:NOTE_CHARS]
        asker = turn.member
        if number == asker.id:
            await turn.refuse(Refusal("That is you! Send /members and a few words to find others."))
            return
        asked = await self.members.get(number)
        # Once introduced, the two stay in touch even if one leaves the directory later.
        if asked is not None and _in_network(asked) and await self.store.introduced(asker.id, asked.id):
            await self._already_introduced(turn, asked, note)
            return
        if asked is None or not _findable(asked):
            await turn.refuse(Refusal(NOT_IN_DIRECTORY.reason, {"number": number}))
            return
        waiting = await self.store.waiting_from(asker.id, turn.now)
        if any(each.asked_id == asked.id for each in waiting):
            await turn.refuse(Refusal("You asked member #{number} already; they have not answered yet.",
                                      {"number": asked.id}))
            return
        latest = await self.store.latest(asker.id, asked.id)
        if latest is not None and latest.state is IntroductionState.DECLINED and \
                (latest.answered_at or 0.0) > turn.now - ASK_AGAIN_AFTER:
            # A no is not worn down by asking again.
            await turn.refuse(Refusal("Member #{number} cannot take up an introduction now. Send /members to find "
                                      "others who may help.", {"number": asked.id}))
            return
        if len(waiting) >= MOST_WAITING:
            await turn.refuse(Refusal("You have {limit} introductions waiting for an answer: wait for one of them "
                                      "before asking another.", {"limit": MOST_WAITING}))
            return
        introduction = await self.store.create(asker.id, asked.id, note, turn.now, turn.now + EXPIRES_AFTER)
        await self._tell(asked, lambda t: self._request(t, introduction, asker))
        log.info("member %s asked member %s for an introduction (%s)", asker.id, asked.id, introduction.id)
        await turn.say(turn.t("I asked member #{number} whether they agree to be introduced to you; nothing is shared "
                              "unless they accept. I will tell you their answer. A request not answered by {date} "
                              "expires.", number=asked.id, date=turn.t.date(introduction.expires_at)))

    def _request(self, t: Translator, introduction: Introduction, asker: Member) -> Message:
        parts: list[Part] = [
            bold(t("Introduction request")), "\n",
            t("{who} (member #{number}) would like to be introduced to you.", who=asker.attribution(),
              number=asker.id),
        ]
        if introduction.note:
            parts += ["\n", t("They wrote:"), " ", Span(introduction.note, italic=True)]
        parts += ["\n\n", t("If you accept, each of you receives the other's name, organization and a way to reach "
                            "them. Nothing is shared unless you accept. This request expires on {date}.",
                            date=t.date(introduction.expires_at))]
        buttons = [[
            Button(t("Accept"), self.codec.encode(Press.ACCEPT, introduction.asked_id, str(introduction.id)),
                   Style.PRIMARY),
            Button(t("Decline"), self.codec.encode(Press.DECLINE, introduction.asked_id, str(introduction.id))),
        ]]
        return compose(*parts, buttons=buttons)

    async def _already_introduced(self, turn: Turn, other: Member, note: str) -> None:
        """Introduced already: a message is passed on; without one, their contact again."""
        t, me = turn.t, turn.member
        if not note:
            await turn.say(t("You are already introduced to {who}.", who=other.attribution()), "\n",
                           *contact(t, other), "\n\n",
                           t("To write to them through the bot, send /connect {number} and your message.",
                             number=other.id))
            return
        await self._tell(other, lambda t: compose(
            bold(t("Message from {who} (member #{number})", who=me.attribution(), number=me.id)), "\n",
            Span(note), "\n\n",
            t("To answer through the bot, send /connect {number} and your message.", number=me.id)))
        log.info("member %s passed a message to member %s", me.id, other.id)
        await turn.say(t("Sent to {who}.", who=other.attribution()))

    # --- answering ------------------------------------------------------------------------

    async def accept(self, turn: Turn, arg: str) -> None:
        found = await self._pending(turn, arg)
        if found is None:
            return
        introduction, asker = found
        if not await self.store.answer(introduction.id, IntroductionState.ACCEPTED, turn.now):
            await turn.refuse(Refusal("You already answered this request."))
            return
        me = turn.member
        await turn.take_buttons_off_pressed()
        log.info("member %s accepted introduction %s", me.id, introduction.id)
        turn.notice = turn.t("Accepted")
        await turn.say(turn.t("You are now introduced to {who}.", who=asker.attribution()), "\n",
                       *contact(turn.t, asker))
        await self._tell(asker, lambda t: compose(
            t("Member #{number} accepted your introduction: {who}.", number=me.id, who=me.attribution()), "\n",
            *contact(t, me)))

    async def decline(self, turn: Turn, arg: str) -> None:
        found = await self._pending(turn, arg)
        if found is None:
            return
        introduction, asker = found
        if not await self.store.answer(introduction.id, IntroductionState.DECLINED, turn.now):
            await turn.refuse(Refusal("You already answered this request."))
            return
        await turn.take_buttons_off_pressed()
        log.info("member %s declined introduction %s", turn.member.id, introduction.id)
        turn.notice = turn.t("Declined")
        await turn.say(turn.t("Declined: nothing was shared, and they are told without any details."))
        await self._tell(asker, lambda t: compose(t(
            "Member #{number} cannot take up your introduction this time. Send /members to find others who "
            "may help.", number=introduction.asked_id)))

    async def _pending(self, turn: Turn, arg: str) -> tuple[Introduction, Member] | None:
        """The request a press answers, still waiting, and its asker, still in the network."""
        introduction = await self.store.get(int(arg)) if arg.isdigit() else None
        if introduction is None or introduction.asked_id != turn.member.id:
            await turn.refuse(Refusal("This request no longer exists."))
            return None
        if introduction.state is not IntroductionState.PENDING:
            await turn.refuse(Refusal("This request has expired.") if introduction.state is IntroductionState.EXPIRED
                              else Refusal("You already answered this request."))
            return None
        if introduction.expires_at <= turn.now:
            # Left pending: the expiry job settles it and tells the asker.
            await turn.take_buttons_off_pressed()
            await turn.refuse(Refusal("This request has expired."))
            return None
        asker = await self.members.get(introduction.asker_id)
        if asker is None or not _in_network(asker):
            await self.store.answer(introduction.id, IntroductionState.EXPIRED, turn.now)
            await turn.take_buttons_off_pressed()
            await turn.refuse(Refusal("The member who asked is no longer in the network."))
            return None
        return introduction, asker

    # --- expiry ---------------------------------------------------------------------------

    async def expire_due(self) -> int:
        """Requests nobody answered within a week expire; each asker is told. Returns how many."""
        now = self.clock.now()
        async with self.database.transaction():
            due = await self.store.expire_due(now)
            for introduction in due:
                asker = await self.members.get(introduction.asker_id)
                if asker is not None and _in_network(asker):
                    await self._tell(asker, lambda t, number=introduction.asked_id: compose(t(
                        "Your introduction request to member #{number} expired without an answer. Send /members "
                        "to find others who may help.", number=number)))
        if due:
            log.info("%d introduction requests expired", len(due))
            self.waker.wake()
        return len(due)

    async def _tell(self, member: Member, message) -> None:  # type: ignore[no-untyped-def]
        recipients = await self.members.recipients(member_ids=[member.id])
        await self.messenger.send(recipients, message, Purpose.ANSWER)


def _in_network(member: Member) -> bool:
    return member.status is not Status.LEFT and member.removed_reason is None


def _findable(member: Member) -> bool:
    return member.in_directory and _in_network(member)


def contact(t: Translator, member: Member) -> list[Part]:
    """How to reach a member who agreed to the introduction: on each platform they use, what
    that platform offers (a phone number on WhatsApp, an address by email...); where it offers
    nothing one can use outside the bot (the web chat), writing through the bot."""
    ways: list[list[Part]] = []
    for identity in member.identities:
        way = _one_way(t, member, identity)
        if identity.reachable and way not in ways:
            ways.append(way)
    if not ways:
        ways.append(_one_way(t, member, None))
    lines: list[Part] = []
    for way in ways:
        lines += [*(["\n"] if lines else []), *way]
    return lines


def _one_way(t: Translator, member: Member, identity: Identity | None) -> list[Part]:
    platform, user = (identity.platform, identity.user_id) if identity else ("", "")
    if platform == "telegram":
        return [t("Telegram:"), " ", Span(t("open their profile (user {id})", id=user), link=f"tg://user?id={user}")]
    if platform == "slack":
        return [t("Slack: member ID {id}, to search in your workspace", id=user)]
    if platform == "whatsapp":
        number = user.lstrip("+")
        return [t("WhatsApp:"), " ", Span(f"+{number}", link=f"https://wa.me/{number}")]
    if platform == "email":
        return [t("Email:"), " ", Span(user, link=f"mailto:{user}")]
    return [t("To write to them, send /connect {number} and your message: the bot passes it on.", number=member.id)]
