"""News, briefs and alerts, once written (the conversations are in bot/services/news_form.py):
a member's news goes to the facilitators as a card (Approve, Edit, Reject), and approved it is
sent to the network with no Reply button; a facilitator's brief is sent at once. Members on a
digest find news and briefs in their next digest; an alert reaches everyone it is meant for at
once, digest or not, marked as urgent."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, Sequence

from bot.domain.members import Member
from bot.domain.news import KIND_WORDS, Audience, Kind, News, State
from bot.domain.refusal import Refusal
from bot.ports import Button, Card, Field, Message, Purpose, Rows, Span, Style, TemplateHint
from bot.services.audit import Action, Audit
from bot.services.buttons import ButtonCodec
from bot.services.cards import Cards
from bot.services.members import MemberStore, Recipient
from bot.services.messaging import Compose, Messenger, Part, bold, compose, italic
from bot.services.outbox import CardCopy
from bot.services.routes import Route, personal_button, step
from bot.services.rules import IS_FACILITATOR, NOT_LEFT
from bot.services.turn import Turn
from bot.texts.catalog import Translator

log = logging.getLogger(__name__)

FACILITATORS_ONLY = (NOT_LEFT, IS_FACILITATOR)


class Press(StrEnum):
    APPROVE = "nwp"
    EDIT = "nwe"
    REJECT = "nwj"
    REJECT_WITHOUT_REASON = "nwn"
    CONFIRM_REJECT = "nwy"
    SHOW = "nwr"  # a template's button: the news itself, once the member wrote


class Step(StrEnum):
    REJECT = "news.reject"  # a facilitator's reason
    EDIT = "news.edit"  # a facilitator's corrected text


class NewsStore(Protocol):
    async def create(self, news: News) -> News: ...

    async def get(self, news_id: int) -> News | None: ...

    async def decide(self, news: News) -> bool:
        """Store an approval or rejection unless someone decided first."""
        ...

    async def edit(self, news_id: int, text: str) -> bool: ...

    async def submitted_by(self, member_id: int) -> list[News]: ...

    async def sent_between(self, since: float, until: float) -> list[News]:
        """News and briefs (not alerts) sent in (since, until]."""
        ...

    async def add_card(self, news_id: int, outbox_id: int, language: str) -> None: ...

    async def cards(self, news_id: int) -> list[CardCopy]: ...


class Audiences(Protocol):
    async def matching(self, by: str, values: Sequence[str], instant_only: bool = False) -> list[int]:
        """Active members whose country, topic or language (`by`) is one of `values`."""
        ...


@dataclass(eq=False)
class NewsDesk:
    store: NewsStore
    members: MemberStore
    audiences: Audiences
    messenger: Messenger
    cards: Cards
    codec: ButtonCodec
    audit: Audit

    def routes(self) -> Sequence[Route]:
        return (
            personal_button(Press.APPROVE, self.press_approve, rules=FACILITATORS_ONLY),
            personal_button(Press.EDIT, self.press_edit, rules=FACILITATORS_ONLY),
            personal_button(Press.REJECT, self.press_reject, rules=FACILITATORS_ONLY),
            personal_button(Press.REJECT_WITHOUT_REASON, self.press_reject_without_reason, rules=FACILITATORS_ONLY),
            personal_button(Press.CONFIRM_REJECT, self.press_confirm_reject, rules=FACILITATORS_ONLY),
            personal_button(Press.SHOW, self.press_show, rules=(NOT_LEFT,)),
            step(Step.REJECT, self.reason_for_rejecting, rules=FACILITATORS_ONLY),
            step(Step.EDIT, self.new_text, rules=FACILITATORS_ONLY),
        )

    # --- what members receive -------------------------------------------------------------

    def message(self, t: Translator, news: News, author: str = "") -> Message:
        """The news as the network reads it: no Reply button, as nothing is collected."""
        parts: list[Part] = []
        if news.urgent:
            parts += [bold("⚠️ " + t("Alert").upper()), "\n"]
        heading = news.title if news.kind is Kind.ALERT else f"{t(KIND_WORDS[news.kind])}: {news.title}"
        parts += [bold(heading), "\n\n", news.text]
        if news.link:
            parts += ["\n\n", news.link]
        if author:
            parts += ["\n\n", italic(t("Shared by {name}", name=author))]
        return compose(*parts, title=news.title)

    def template(self, t: Translator, news: News) -> TemplateHint:
        return TemplateHint(news.title[:60], Button(t("Read it"), self.codec.encode(Press.SHOW, 0, str(news.id))))

    async def audience_size(self, audience: Audience, values: Sequence[str], exclude: int | None) -> int:
        """How many members a brief or alert for this audience reaches (digest readers too)."""
        if audience is Audience.EVERYONE:
            ids = [r.member_id for r in await self.members.recipients(instant_only=False)]
        else:
            ids = [r.member_id for r in await self.members.recipients(
                member_ids=await self.audiences.matching(audience.value, values))]
        return len([member_id for member_id in ids if member_id != exclude])

    async def deliver(self, news: News, exclude: int | None) -> int:
        """Send approved news, a brief or an alert to those it is meant for who read at once (an
        alert: digest readers too); returns how many members it went to now."""
        author = ""
        if news.submitted_by is not None and news.kind in (Kind.WORKSHOP, Kind.PUBLICATION, Kind.JOB,
                                                            Kind.RESOURCE, Kind.OTHER):
            member = await self.members.get(news.submitted_by)
            author = member.attribution() if member else ""
        message: Compose = lambda t: self.message(t, news, author)  # noqa: E731
        template = lambda t: self.template(t, news)  # noqa: E731
        # An alert goes ahead of any broadcast already queued.
        purpose = Purpose.ALERT if news.urgent else Purpose.BROADCAST
        if news.audience is Audience.EVERYONE and not news.urgent:
            excluded = (exclude,) if exclude is not None else ()
            return await self.messenger.send_to_everyone(message, purpose, template=template, exclude=excluded)
        if news.audience is Audience.EVERYONE:
            recipients = await self.members.recipients(exclude=exclude, instant_only=False)
        else:
            ids = await self.audiences.matching(news.audience.value, news.values, instant_only=not news.urgent)
            recipients = [r for r in await self.members.recipients(member_ids=ids) if r.member_id != exclude]
        await self.messenger.send(recipients, message, purpose, template=template)
        return len(recipients)

    async def press_show(self, turn: Turn, arg: str) -> None:
        news = await self.store.get(int(arg)) if arg.isdigit() else None
        if news is None or news.state is not State.APPROVED or not news.reaches(turn.member):
            await turn.refuse(Refusal("This button is not valid. Send /help to see what you can do."))
            return
        await turn.show(self.message(turn.t, news))

    # --- in digests -------------------------------------------------------------------------

    async def gather(self, member: Member, since: float, now: float) -> Sequence[News]:
        """What a digest reader has not had: news and briefs meant for them, not their own."""
        return [news for news in await self.store.sent_between(since, now)
                if news.reaches(member) and news.submitted_by != member.id]

    def parts(self, t: Translator, items: Sequence[object]) -> list[Part]:
        parts: list[Part] = ["\n\n", bold(t("News and briefs"))]
        for news in items:
            assert isinstance(news, News)
            parts += ["\n", f"{t(KIND_WORDS[news.kind])}: ", bold(news.title), " — ", news.text]
            if news.link:
                parts += [" ", news.link]
        return parts

    def preview(self, items: Sequence[object]) -> str:
        first = items[0]
        assert isinstance(first, News)
        return first.title[:60]

    # --- the facilitators' card -----------------------------------------------------------

    async def submitted(self, news: News, submitter: Member) -> None:
        recipients = await self.cards.recipients(submitter.language)
        if not recipients:
            log.warning("news #%s has no facilitator to go to", news.id)
        sent = await self.messenger.send(recipients, lambda t: self.card(t, news, submitter, None), Purpose.CARD)
        for recipient, row in sent:
            await self.store.add_card(news.id, row, recipient.language)

    def card(self, t: Translator, news: News, submitter: Member | None, by: Member | None) -> Card:
        number = news.id
        by_name = by.name if by and by.name else t("a facilitator")
        if news.state is State.APPROVED:
            title = t("News #{number} was approved by {by}", number=number, by=by_name)
        elif news.state is State.REJECTED:
            title = t("News #{number} was rejected by {by}: {reason}", number=number, by=by_name,
                      reason=news.reason or t("no reason given"))
        else:
            title = t("News #{number} is waiting for approval", number=number)
        fields = [Field(t("From"), submitter.attribution() if submitter else t("a former member"))]
        if submitter is not None:
            fields.append(Field(t("Member"), f"#{submitter.id}"))
        fields.append(Field(t("Kind"), t(KIND_WORDS[news.kind])))
        if news.link:
            fields.append(Field(t("Link"), news.link))
        buttons: Rows = ()
        if news.state is State.SUBMITTED:
            arg = str(number)
            buttons = ((Button(t("Approve"), self.codec.encode(Press.APPROVE, number, arg), Style.PRIMARY),
                        Button(t("Edit"), self.codec.encode(Press.EDIT, number, arg)),
                        Button(t("Reject"), self.codec.encode(Press.REJECT, number, arg), Style.DANGER)),)
        return Card(title=title, fields=tuple(fields),
                    body=(Span(news.title, bold=True), Span("\n"), Span(news.text)), buttons=buttons)

    async def _refresh(self, news: News, turn: Turn) -> None:
        """Every copy of the card as it now stands (the one who acted gets it as their answer
        where the platform cannot edit)."""
        submitter = await self.members.get(news.submitted_by) if news.submitted_by else None
        compose_card: Compose = lambda t: self.card(t, news, submitter, turn.member)  # noqa: E731
        for copy in await self.store.cards(news.id):
            if self.messenger.capabilities(copy.to.platform).can_edit:
                await self.messenger.edit(copy.row, copy.to.platform,
                                          compose_card(self.messenger.translator(copy.language)))
            elif copy.member_id == turn.member.id:
                await turn.show(compose_card(turn.t))
        self.cards.watch.changed()

    async def _waiting(self, turn: Turn, arg: str) -> News | None:
        news = await self.store.get(int(arg)) if arg.isdigit() else None
        if news is None:
            await turn.refuse(Refusal("There is no news #{number}.", {"number": arg[:9]}))
            return None
        if news.state is not State.SUBMITTED:
            await turn.refuse(news.where_it_stands())
            return None
        return news

    async def press_approve(self, turn: Turn, arg: str) -> None:
        news = await self._waiting(turn, arg)
        if news is not None:
            await self._decide(turn, news.approve(turn.member.id, turn.now))

    async def press_edit(self, turn: Turn, arg: str) -> None:
        news = await self._waiting(turn, arg)
        if news is None:
            return
        t = turn.t
        turn.notice = t("Send the new text")
        await turn.ask(Step.EDIT, [t("Send the new text of news #{number}. Its text now:", number=news.id),
                                   "\n\n", news.text],
                       label=t("The text of news #{number}", number=news.id), prefill=news.text, news=news.id)

    async def new_text(self, turn: Turn, text: str, data: dict) -> None:
        news = await self._waiting(turn, str(data.get("news", "")))
        if news is None:
            await turn.stop_waiting()
            return
        edited = news.edit(text)
        if isinstance(edited, Refusal):
            log.info("facilitator %s: edit of news %s refused (%s)", turn.member.id, news.id, edited.reason[:40])
            await turn.refuse(edited)
            return
        if not await self.store.edit(news.id, edited.text):
            await turn.stop_waiting()
            now = await self.store.get(news.id)
            await turn.refuse(now.where_it_stands() if now else Refusal("There is no news #{number}.",
                                                                          {"number": news.id}))
            return
        await turn.stop_waiting()
        await self.audit.record(turn, Action.NEWS_EDIT, member_id=news.submitted_by, detail=f"#{news.id} {news.title}")
        t = turn.t
        turn.notice = t("Saved.")
        await self._refresh(edited, turn)
        await turn.say(t("News #{number} now reads as you wrote it. Approve it on its card to share it.",
                         number=news.id))

    async def press_reject(self, turn: Turn, arg: str) -> None:
        news = await self._waiting(turn, arg)
        if news is None:
            return
        t = turn.t
        turn.notice = t("Send the reason")
        await turn.ask(Step.REJECT,
                       [t("Why is news #{number} not approved? Your next message goes to the member who shared it.",
                          number=news.id)],
                       label=t("Why it is not approved"),
                       buttons=[[turn.button(t("Reject without a reason"), Press.REJECT_WITHOUT_REASON, news.id,
                                             str(news.id), style=Style.DANGER, short=t("No reason"))]],
                       news=news.id)

    async def press_reject_without_reason(self, turn: Turn, arg: str) -> None:
        """Rejecting cannot be taken back: the message pressed on asks first."""
        news = await self._waiting(turn, arg)
        if news is None:
            return
        t = turn.t
        turn.notice = t("Reject it without a reason?")
        await self.cards.show_to_presser(turn, compose(
            t("Reject news #{number} without a reason? The member who shared it is told only that it was not "
              "approved.", number=news.id), "\n\n", italic(news.title),
            buttons=[[Button(t("Yes, reject it"), self.codec.encode(Press.CONFIRM_REJECT, news.id, str(news.id)),
                             Style.DANGER),
                      Button(t("Write a reason"), self.codec.encode(Press.REJECT, news.id, str(news.id)))]]))

    async def press_confirm_reject(self, turn: Turn, arg: str) -> None:
        news = await self._waiting(turn, arg)
        if news is None:
            return
        await turn.take_buttons_off_pressed()
        await self._reject(turn, news, "")

    async def reason_for_rejecting(self, turn: Turn, text: str, data: dict) -> None:
        news = await self._waiting(turn, str(data.get("news", "")))
        if news is None:
            await turn.stop_waiting()
            return
        await self._reject(turn, news, text)

    async def _reject(self, turn: Turn, news: News, reason: str) -> None:
        rejected = news.reject(turn.member.id, reason, turn.now)
        if isinstance(rejected, Refusal):
            await turn.refuse(rejected)
            return
        conversation = await turn.waiting()
        if conversation is not None and conversation.data.get("news") == news.id:
            await turn.stop_waiting()
        await self._decide(turn, rejected)

    async def _decide(self, turn: Turn, decided: News | Refusal) -> None:
        if isinstance(decided, Refusal):
            await turn.refuse(decided)
            return
        if not await self.store.decide(decided):
            now = await self.store.get(decided.id)
            await turn.refuse(now.where_it_stands() if now else Refusal("There is no news #{number}.",
                                                                          {"number": decided.id}))
            return
        approved = decided.state is State.APPROVED
        await self.audit.record(turn, Action.NEWS_APPROVE if approved else Action.NEWS_REJECT,
                                member_id=decided.submitted_by,
                                detail=f"#{decided.id} {decided.title}" + (f" — {decided.reason}" if decided.reason
                                                                           else ""))
        await self._refresh(decided, turn)
        t = turn.t
        turn.notice = t("Approved") if approved else t("Rejected")
        count = await self.deliver(decided, exclude=decided.submitted_by) if approved else 0
        if approved:
            log.info("news %s approved and sent to %s members", decided.id, count)
            await turn.say(t.plural("News #{number} was sent to {count} member.",
                                    "News #{number} was sent to {count} members.", count, number=decided.id))
        else:
            await turn.say(t("News #{number} was rejected; the member who shared it has been told.",
                             number=decided.id))
        if decided.submitted_by is None:
            return
        recipients = await self.members.recipients(member_ids=[decided.submitted_by])
        await self._tell(recipients, decided)

    async def _tell(self, recipients: Sequence[Recipient], news: News) -> None:
        if news.state is State.APPROVED:
            await self.messenger.send(recipients, lambda t: compose(
                t("Good news: your news #{number} “{title}” was approved and shared with the network.",
                  number=news.id, title=news.title)), Purpose.ANSWER)
            return
        await self.messenger.send(recipients, lambda t: compose(
            t("Your news #{number} “{title}” was not approved.", number=news.id, title=news.title),
            *(["\n\n", t("The facilitator explained:"), "\n", italic(news.reason)] if news.reason else [])),
            Purpose.ANSWER)
