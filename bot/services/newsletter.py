"""The monthly newsletter: /newsletter [YYYY-MM] drafts it from what the month published
(consolidated replies, good practices approved, events past and coming, news and briefs,
the member featured); the facilitator previews it in their language, may write an
introduction, and sends it to every member in one tap. Sent newsletters are exported as
HTML pages with the archive (bot/services/export.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, Sequence

from bot.domain.programme import Item, Newsletter, NewsletterContent, NewsletterState, shortened
from bot.domain.refusal import Refusal
from bot.ports import Button, Message, Purpose, Style, TemplateHint
from bot.services.audit import Action, Audit
from bot.services.buttons import ButtonCodec
from bot.services.messaging import Messenger, Part, bold, compose
from bot.services.reports import Month
from bot.services.routes import Arguments, Audience, Route, command, personal_button, step
from bot.services.rules import IN_PRIVATE, IS_FACILITATOR, NOT_LEFT
from bot.services.turn import Turn
from bot.texts.catalog import Translator

log = logging.getLogger(__name__)

FACILITATORS_ONLY = (NOT_LEFT, IS_FACILITATOR)
INTRO_CHARS = 2000
NO_SUCH_NEWSLETTER = Refusal("This newsletter no longer exists. Send /newsletter to draft it again.")


class NewsletterStore(Protocol):
    async def month_content(self, start: float, end: float, now: float) -> NewsletterContent: ...

    async def create_newsletter(self, month: str, content: NewsletterContent, by: int, now: float) -> Newsletter: ...

    async def newsletter(self, newsletter_id: int) -> Newsletter | None: ...

    async def sent_newsletter(self, month: str) -> Newsletter | None: ...

    async def set_intro(self, newsletter_id: int, intro: str) -> bool: ...

    async def mark_sent(self, newsletter_id: int, by: int, now: float) -> bool: ...

    async def set_audience(self, newsletter_id: int, audience: int) -> None: ...

    async def cancel_newsletter(self, newsletter_id: int) -> bool: ...


class Command(StrEnum):
    NEWSLETTER = "newsletter"


class Press(StrEnum):
    SEND = "nlsd"
    EDIT_INTRO = "nlei"
    CANCEL = "nlcx"
    READ = "nlrd"  # a template's button: the newsletter itself, once the member wrote


class Step(StrEnum):
    INTRO = "newsletter.intro"


@dataclass(eq=False)
class Newsletters:
    store: NewsletterStore
    messenger: Messenger
    codec: ButtonCodec
    audit: Audit
    community_name: str

    def routes(self) -> Sequence[Route]:
        return (
            command(Command.NEWSLETTER, self.newsletter_command,
                    "Draft the monthly newsletter: /newsletter 2026-11",
                    rules=(IN_PRIVATE, *FACILITATORS_ONLY), arguments=Arguments.TEXT,
                    audience=Audience.FACILITATORS),
            personal_button(Press.SEND, self.press_send, rules=FACILITATORS_ONLY),
            personal_button(Press.EDIT_INTRO, self.press_edit_intro, rules=FACILITATORS_ONLY),
            personal_button(Press.CANCEL, self.press_cancel, rules=FACILITATORS_ONLY),
            personal_button(Press.READ, self.press_read, rules=(NOT_LEFT,)),
            step(Step.INTRO, self.intro_given, rules=FACILITATORS_ONLY),
        )

    def button(self, label: str, action: Press, newsletter_id: int, style: Style = Style.DEFAULT) -> Button:
        return Button(label, self.codec.encode(action, 0, str(newsletter_id)), style)

    # --- drafting -------------------------------------------------------------------------------

    async def newsletter_command(self, turn: Turn, args: str) -> None:
        """/newsletter drafts this month's; /newsletter 2026-11 another month's."""
        month = Month.parse(args.strip()) if args.strip() else Month.of(turn.now)
        if isinstance(month, Refusal):
            await turn.refuse(month)
            return
        if month > Month.of(turn.now):
            await turn.refuse(Refusal("That month has not begun yet."))
            return
        if await self.store.sent_newsletter(str(month)) is not None:
            await turn.refuse(Refusal("The newsletter of {month} was already sent.", {"month": str(month)}))
            return
        content = await self.store.month_content(month.start, month.end, turn.now)
        newsletter = await self.store.create_newsletter(str(month), content, turn.member.id, turn.now)
        log.info("newsletter %s drafted for %s by member %s", newsletter.id, month, turn.member.id)
        await self.preview(turn, newsletter)

    async def preview(self, turn: Turn, newsletter: Newsletter) -> None:
        t = turn.t
        await turn.say(t("Here is the newsletter of {month} as members will see it. Send it, write an "
                         "introduction, or cancel.", month=month_name(t, newsletter.month)))
        message = self.message(t, newsletter)
        rows = [[self.button(t("Send"), Press.SEND, newsletter.id, Style.PRIMARY),
                 self.button(t("Edit intro"), Press.EDIT_INTRO, newsletter.id),
                 self.button(t("Cancel"), Press.CANCEL, newsletter.id, Style.DANGER)]]
        await turn.show(compose(*message.spans, buttons=rows, title=message.title))

    def message(self, t: Translator, newsletter: Newsletter) -> Message:
        return compose(*newsletter_parts(t, self.community_name, newsletter),
                       title=t("{community}: newsletter of {month}", community=self.community_name,
                               month=month_name(t, newsletter.month)))

    async def _open(self, turn: Turn, arg: str) -> Newsletter | None:
        newsletter = await self.store.newsletter(int(arg)) if arg.isdigit() else None
        if newsletter is None:
            await turn.refuse(NO_SUCH_NEWSLETTER)
            return None
        refusal = newsletter.can_change()
        if refusal is not None:
            await turn.refuse(refusal)
            return None
        return newsletter

    # --- the introduction -----------------------------------------------------------------------

    async def press_edit_intro(self, turn: Turn, arg: str) -> None:
        newsletter = await self._open(turn, arg)
        if newsletter is None:
            return
        t = turn.t
        await turn.ask(Step.INTRO, [t("Write the introduction of the newsletter: a short paragraph that opens it.")],
                       label=t("Introduction"), prefill=newsletter.intro, newsletter=newsletter.id)

    async def intro_given(self, turn: Turn, text: str, data: dict) -> None:
        newsletter = await self._open(turn, str(data.get("newsletter", "")))
        if newsletter is None:
            await turn.stop_waiting()
            return
        intro = text.strip()
        if not intro or len(intro) > INTRO_CHARS:
            await turn.refuse(Refusal("The introduction must be 1 to {limit} characters.", {"limit": INTRO_CHARS}))
            return
        await self.store.set_intro(newsletter.id, intro)
        await turn.stop_waiting()
        turn.notice = turn.t("Saved.")
        updated = await self.store.newsletter(newsletter.id)
        assert updated is not None, f"newsletter {newsletter.id} vanished in its own turn"
        await self.preview(turn, updated)

    # --- sending ----------------------------------------------------------------------------------

    async def press_send(self, turn: Turn, arg: str) -> None:
        newsletter = await self._open(turn, arg)
        if newsletter is None:
            return
        if not await self.store.mark_sent(newsletter.id, turn.member.id, turn.now):
            await turn.refuse(Refusal("The newsletter of {month} was already sent.", {"month": newsletter.month}))
            return
        audience = await self.messenger.send_to_everyone(
            lambda t: self.message(t, newsletter), Purpose.DIGEST,
            template=lambda t: TemplateHint(self.message(t, newsletter).title[:60],
                                            self.button(t("Read it"), Press.READ, newsletter.id)))
        await self.store.set_audience(newsletter.id, audience)
        await self.audit.record(turn, Action.NEWSLETTER, detail=f"{newsletter.month} #{newsletter.id}")
        await turn.take_buttons_off_pressed()
        t = turn.t
        turn.notice = t("Sent")
        # The month named first: babel reads a translator passed inside the arguments as a call.
        month = month_name(t, newsletter.month)
        await turn.say(t.plural("The newsletter of {month} is on its way to {count} member.",
                                "The newsletter of {month} is on its way to {count} members.", audience, month=month))
        log.info("newsletter %s of %s sent to %s members", newsletter.id, newsletter.month, audience)

    async def press_read(self, turn: Turn, arg: str) -> None:
        newsletter = await self.store.newsletter(int(arg)) if arg.isdigit() else None
        if newsletter is None or newsletter.state is not NewsletterState.SENT:
            await turn.refuse(NO_SUCH_NEWSLETTER)
            return
        await turn.show(self.message(turn.t, newsletter))

    async def press_cancel(self, turn: Turn, arg: str) -> None:
        newsletter = await self._open(turn, arg)
        if newsletter is None:
            return
        await self.store.cancel_newsletter(newsletter.id)
        await turn.take_buttons_off_pressed()
        turn.notice = turn.t("Cancelled")
        await turn.say(turn.t("The newsletter draft is cancelled: nothing was sent."))


def month_name(t: Translator, month: str) -> str:
    parsed = Month.parse(month)
    return month if isinstance(parsed, Refusal) else t.month(parsed.start)


def sections(t: Translator, content: NewsletterContent) -> list[tuple[str, tuple[Item, ...], bool]]:
    """(heading, items, whether times matter) of each section, in the order they are read."""
    return [
        (t("Consolidated replies"), content.replies, False),
        (t("Good practices"), content.practices, False),
        (t("Know Your Community"), content.features, False),
        (t("News and briefs"), content.news, False),
        (t("Coming events"), content.coming_events, True),
        (t("Past events"), content.past_events, True),
    ]


def newsletter_parts(t: Translator, community: str, newsletter: Newsletter) -> list[Part]:
    content = newsletter.content
    parts: list[Part] = [bold(t("{community}: newsletter of {month}", community=community,
                                month=month_name(t, newsletter.month)))]
    if newsletter.intro:
        parts += ["\n\n", newsletter.intro]
    if content.is_empty:
        parts += ["\n\n", t("Nothing was published this month.")]
    if not content.has_news:
        # Before the news feature's table exists, the section says why it is empty.
        parts += ["\n\n", bold(t("News and briefs")), "\n", t("News and briefs are not collected yet.")]
    for heading, items, timed in sections(t, content):
        if not items:
            continue
        parts += ["\n\n", bold(heading)]
        for item in items:
            parts += ["\n", "• ", bold(item.title)]
            if timed:
                parts += [" (", t.moment(item.at, "UTC"), " UTC)"]
            if item.text:
                parts += [": ", shortened(item.text)]
    return parts
