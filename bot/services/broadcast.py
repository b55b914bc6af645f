"""The broadcast of an approved question: to every active member but the asker, each in their
language, with Reply buttons. Where a platform's service window has closed for a member, its
template carries the question's opening words and a button that shows the whole of it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, Sequence

from bot.domain.discussions import Discussion, title_of
from bot.domain.members import Member
from bot.domain.refusal import Refusal
from bot.ports import Button, Message, Purpose, TemplateHint
from bot.services.buttons import ButtonCodec
from bot.services.members import MemberStore, Recipient
from bot.services.messaging import Messenger, bold, compose
from bot.services.replying import reply_buttons
from bot.services.routes import Route, discussion_button
from bot.services.translating import Kind, TranslationStore, in_reader_language
from bot.services.turn import Turn
from bot.texts.catalog import Translator


class Press(StrEnum):
    SHOW_QUESTION = "sq"


class BroadcastWatch(Protocol):
    def watch(self, discussion_id: int) -> None:
        """Report this discussion's broadcast on its cards until it is done."""
        ...


@dataclass(eq=False)
class Broadcast:
    members: MemberStore
    messenger: Messenger
    codec: ButtonCodec
    translations: TranslationStore
    watch: BroadcastWatch | None = None
    # The facilitator who approved a question has its card: by default no broadcast copy too.
    to_approver: bool = False

    def routes(self) -> Sequence[Route]:
        return (discussion_button(Press.SHOW_QUESTION, self.press_show),)

    async def share(self, discussion: Discussion, asker: Member) -> int:
        """The question to every active member except the asker (and the facilitator who
        approved it, unless configured otherwise); returns how many."""
        versions = await self.translations.of(discussion.id, Kind.QUESTION)
        audience = await self.messenger.send_to_everyone(
            lambda t: self.message(t, discussion, asker, versions), Purpose.BROADCAST, discussion.id,
            template=lambda t: self.template(t, discussion), exclude=self.not_readers(discussion))
        if self.watch is not None:
            self.watch.watch(discussion.id)
        return audience

    async def share_translation(self, discussion: Discussion, language: str) -> int:
        """A new version of a question already shared, to the members who read its language."""
        asker = await self.members.get(discussion.asker_id)
        assert asker is not None, f"discussion {discussion.id} has no asker"
        readers = [r for r in await self.readers(discussion) if r.language == language]
        versions = await self.translations.of(discussion.id, Kind.QUESTION)
        await self.messenger.send(readers, lambda t: self.message(t, discussion, asker, versions), Purpose.BROADCAST,
                                  discussion.id, template=lambda t: self.template(t, discussion))
        return len(readers)

    async def readers(self, discussion: Discussion) -> list[Recipient]:
        """Who a question is shared with: every active member but its asker and, unless
        `to_approver`, the facilitator who approved (or shared again) it."""
        left_out = self.not_readers(discussion)
        return [recipient for recipient in await self.members.recipients() if recipient.member_id not in left_out]

    def not_readers(self, discussion: Discussion) -> tuple[int, ...]:
        if self.to_approver or discussion.state_by is None:
            return (discussion.asker_id,)
        return discussion.asker_id, discussion.state_by

    def message(self, t: Translator, discussion: Discussion, asker: Member,
                versions: dict[str, str] | None = None, now: float | None = None) -> Message:
        """The question as members read it; `now` (by default, when it was shared) decides
        whether its deadline is said as a date or, less than a day away, as a time."""
        who = t("a member who asked to stay anonymous") if discussion.anonymous else asker.attribution()
        deadline = ""
        if discussion.deadline_at:
            if now is None:
                now = discussion.approved_at or 0.0
            deadline = t("Replies are collected until {day}.", day=t.until(discussion.deadline_at, now))
        return compose(
            bold(t("Question #{number} from {who}", number=discussion.id, who=who)), "\n\n",
            *in_reader_language(t, [discussion.text], discussion.language, versions or {}), "\n\n",
            deadline,
            buttons=[reply_buttons(t, self.codec, discussion.id)],
            title=title_of(discussion.text),
        )

    def template(self, t: Translator, discussion: Discussion) -> TemplateHint:
        return TemplateHint(title_of(discussion.text, limit=60),
                            Button(t("Read it"), self.codec.encode(Press.SHOW_QUESTION, discussion.id)))

    async def press_show(self, turn: Turn, discussion: Discussion, arg: str) -> None:
        """The button of a template: the whole question, now that the person wrote."""
        closed = discussion.accepts_replies()
        if closed is not None:
            await turn.refuse(closed)
            return
        asker = await self.members.get(discussion.asker_id)
        if asker is None:
            await turn.refuse(Refusal("This question no longer exists."))
            return
        versions = await self.translations.of(discussion.id, Kind.QUESTION)
        await turn.show(self.message(turn.t, discussion, asker, versions, now=turn.now))
