"""After a discussion closes: the draft consolidated reply (the question, a short extractive
summary credited to its authors, then every contribution in full) goes to the facilitators,
who edit it, publish it to the whole network and into the archive, or discard it; a
discussion that got no replies can be shared again instead."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol, Sequence

from bot.domain.discussions import Discussion, Reply, State, title_of
from bot.domain.drafts import ANONYMOUS, Contribution, Draft, credited
from bot.domain.members import Member
from bot.domain.refusal import Refusal
from bot.domain.summary import covers, summarize
from bot.ports import Button, Card, Purpose, Rows, Style, TemplateHint
from bot.services.archive import Archive, ArchivedReply
from bot.services.audit import Action, Audit
from bot.services.broadcast import Broadcast
from bot.services.buttons import ButtonCodec
from bot.services.cards import CardKind, Cards
from bot.services.changes import Changes
from bot.services.discussions import DiscussionStore
from bot.services.members import MemberStore
from bot.services.messaging import Messenger, Part, bold, compose
from bot.services.moderation import Schedule
from bot.services.practices import Tagging
from bot.services.routes import Arguments, Audience, Route, command, discussion_step, facilitator_button
from bot.services.rules import IN_PRIVATE, IS_FACILITATOR, NOT_LEFT
from bot.services.searching import Press as SearchPress
from bot.services.searching import render
from bot.services.translating import Kind, Translating, in_reader_language
from bot.services.turn import Turn
from bot.texts.catalog import Translator
from bot.texts.words import DISCUSSION_STATE

log = logging.getLogger(__name__)


class Press(StrEnum):
    PUBLISH = "pb"
    EDIT_DRAFT = "pe"
    WHOLE_TEXT = "pw"
    DISCARD = "dd"
    CONFIRM_DISCARD = "ddy"
    KEEP_DRAFT = "kd"
    RESHARE = "rs"
    SHARE_PUBLISHED = "sp"  # a published consolidated reply, shared again from the archive
    CLOSE_QUIETLY = "cw"


class Step(StrEnum):
    SUMMARY = "consolidate.summary"
    FULL = "consolidate.full"


class Command(StrEnum):
    QUESTION = "question"
    REOPEN = "reopen"


UNDO_WITHIN = 86400.0  # a draft closed without publishing can be reopened for a day


class DraftStore(Protocol):
    async def get(self, discussion_id: int) -> Draft | None: ...

    async def save(self, draft: Draft, now: float) -> None: ...


FACILITATORS_ONLY = (NOT_LEFT, IS_FACILITATOR)


@dataclass(eq=False)
class Publishing:
    discussions: DiscussionStore
    members: MemberStore
    drafts: DraftStore
    archive: Archive
    cards: Cards
    changes: Changes
    broadcast: Broadcast
    schedule: Schedule
    messenger: Messenger
    codec: ButtonCodec
    reply_window: float
    translating: Translating
    audit: Audit
    # Suggests themes and countries on the draft's card, accepted with one tap (good practices).
    tagging: Tagging | None = None

    def routes(self) -> Sequence[Route]:
        return (
            facilitator_button(Press.PUBLISH, self.press_publish),
            facilitator_button(Press.EDIT_DRAFT, self.press_edit_draft),
            facilitator_button(Press.WHOLE_TEXT, self.press_whole_text),
            facilitator_button(Press.DISCARD, self.press_discard),
            facilitator_button(Press.CLOSE_QUIETLY, self.press_discard),
            facilitator_button(Press.CONFIRM_DISCARD, self.press_confirm_discard),
            facilitator_button(Press.KEEP_DRAFT, self.press_keep_draft),
            facilitator_button(Press.RESHARE, self.press_reshare),
            facilitator_button(Press.SHARE_PUBLISHED, self.press_share_published),
            discussion_step(Step.SUMMARY, self.new_summary, rules=FACILITATORS_ONLY),
            discussion_step(Step.FULL, self.new_whole_text, rules=FACILITATORS_ONLY),
            command(Command.QUESTION, self.show_question, "The whole text of a question, and its draft: /question 12",
                    rules=(IN_PRIVATE, NOT_LEFT, IS_FACILITATOR), arguments=Arguments.NUMBER,
                    audience=Audience.FACILITATORS),
            command(Command.REOPEN, self.reopen, "Undo a close without publishing, within a day: /reopen 12",
                    rules=(IN_PRIVATE, NOT_LEFT, IS_FACILITATOR), arguments=Arguments.NUMBER,
                    audience=Audience.FACILITATORS),
        )

    # --- the draft ------------------------------------------------------------------------

    async def start(self, closed: Discussion, now: float) -> int:
        """The draft for a discussion that just closed, to every facilitator; returns how many
        contributions it holds."""
        contributions = await self.contributions_of(closed)
        if contributions:
            points = summarize(closed.text, [(c.credit or c.author, c.text) for c in contributions])
            draft = Draft(closed.id, "\n".join(credited(point.sentence, point.author) for point in points))
            await self.drafts.save(draft, now)
            await self.cards.send(closed.id, CardKind.DRAFT, lambda t: self.draft_card(t, closed, draft, contributions))
        else:
            await self.cards.send(closed.id, CardKind.DRAFT, lambda t: self._no_replies_card(t, closed))
        return len(contributions)

    def _no_replies_card(self, t: Translator, closed: Discussion) -> Card:
        return Card(
            t("Question #{number} closed with no replies", number=closed.id),
            body=tuple(compose(closed.text).spans),
            buttons=((Button(t("Share it again"), self.codec.encode(Press.RESHARE, closed.id), Style.PRIMARY),
                      Button(t("Close without publishing"), self.codec.encode(Press.CLOSE_QUIETLY, closed.id),
                             Style.DANGER, short=t("Close"))),),
        )

    async def reopen(self, turn: Turn, args: str) -> None:
        """/reopen 12: a draft closed without publishing comes back to every facilitator."""
        number = args.strip().lstrip("#")
        discussion = await self.discussions.get(int(number)) if number.isdigit() else None
        draft = await self.drafts.get(discussion.id) if discussion is not None else None
        if discussion is None or discussion.state is not State.CLOSED or draft is None or not draft.discarded:
            await turn.refuse(Refusal("There is no question closed without publishing with that number: "
                                      "/reopen and its number, for example /reopen 12."))
            return
        if turn.now - draft.updated_at > UNDO_WITHIN:
            await turn.refuse(Refusal("It was closed more than a day ago: it can no longer be reopened."))
            return
        reopened = draft.reopen()
        await self.drafts.save(reopened, turn.now)
        await self.audit.record(turn, Action.REOPEN, discussion.id)
        contributions = await self.contributions_of(discussion)
        await self.cards.send(discussion.id, CardKind.DRAFT, lambda t: (
            self.draft_card(t, discussion, reopened, contributions) if contributions
            else self._no_replies_card(t, discussion)))
        await turn.say(turn.t("Question #{number} is reopened: its draft is back with the facilitators.",
                              number=discussion.id))


    async def contributions_of(self, discussion: Discussion) -> list[Contribution]:
        return [await self._contribution(reply) for reply in await self.discussions.replies(discussion.id)]

    async def _contribution(self, reply: Reply) -> Contribution:
        if reply.anonymous:
            return Contribution(ANONYMOUS, reply.text, ANONYMOUS)
        member = await self.members.get(reply.member_id)
        if member is None:
            return Contribution("a former member", reply.text, "a former member")
        return Contribution(member.attribution(), reply.text, member.credit())

    def draft_card(self, t: Translator, discussion: Discussion, draft: Draft,
                   contributions: Sequence[Contribution]) -> Card:
        return Card(
            t("Draft consolidated reply to question #{number}", number=discussion.id),
            body=tuple(compose(*consolidated_body(t, discussion, draft, contributions)).spans),
            buttons=(*self._draft_buttons(t, discussion),
                     *(self.tagging.buttons(t, discussion, contributions) if self.tagging else ())),
            status=self.tagging.card_line(t, discussion, contributions) if self.tagging else "",
            more=t("Shortened here: send /question {number} to read the whole draft.", number=discussion.id),
        )

    def _draft_buttons(self, t: Translator, discussion: Discussion) -> Rows:
        number = discussion.id
        rows = ((Button(t("Publish"), self.codec.encode(Press.PUBLISH, number), Style.PRIMARY),
                 Button(t("Edit"), self.codec.encode(Press.EDIT_DRAFT, number)),
                 Button(t("Discard"), self.codec.encode(Press.DISCARD, number), Style.DANGER)),)
        translations = self.translating.buttons(t, discussion, Kind.CONSOLIDATED)
        return (*rows, tuple(translations)) if translations else rows

    async def show_question(self, turn: Turn, args: str) -> None:
        """/question 12: the whole text of a question, whatever its state, and its draft."""
        number = args.strip().lstrip("#")
        discussion = await self.discussions.get(int(number)) if number.isdigit() else None
        if discussion is None:
            await turn.refuse(Refusal("Send /question and the number of a question, for example: /question 12"))
            return
        t = turn.t
        await turn.say(bold(t("Question #{number}", number=discussion.id)), f" ({t(DISCUSSION_STATE[discussion.state.value])})",
                       "\n\n", discussion.text)
        draft = await self.drafts.get(discussion.id)
        if draft is not None and not draft.discarded and discussion.state is State.CLOSED:
            contributions = await self.contributions_of(discussion)
            # Whole, and kept as a copy of the draft's card: its buttons go when someone publishes it.
            await self.cards.send_to(turn, discussion.id, CardKind.DRAFT, lambda t: compose(
                bold(t("Draft consolidated reply to question #{number}", number=discussion.id)), "\n\n",
                *consolidated_body(t, discussion, draft, contributions), buttons=self._draft_buttons(t, discussion)))

    # --- the facilitators' buttons on the draft -------------------------------------------

    async def press_publish(self, turn: Turn, discussion: Discussion, arg: str) -> None:
        draft = await self.drafts.get(discussion.id)
        if discussion.state is State.CLOSED and (draft is None or draft.discarded):
            await turn.refuse(Refusal("This draft was discarded."))
            return
        published = await self.changes.apply(turn, discussion, discussion.publish(turn.member.id, turn.now),
                                             in_step=True)
        if published is None or draft is None:
            return
        await self.audit.record(turn, Action.PUBLISH, published.id)
        contributions = await self.contributions_of(published)
        title = title_of(published.text)
        await self.archive.add(ArchivedReply(
            discussion_id=published.id, title=title, question=published.text,
            summary=draft.full_text or draft.summary,
            contributions="\n\n".join(f"{c.author}: {c.text}" for c in contributions),
            language=published.language, published_at=turn.now,
        ))
        versions = await self.translating.translations.of(published.id, Kind.CONSOLIDATED)
        audience = await self.messenger.send_to_everyone(
            lambda t: compose(bold(t("Consolidated reply: {title}", title=title)), "\n\n",
                              *in_reader_language(t, consolidated_body(t, published, draft, contributions),
                                                  published.language, versions),
                              title=t("Consolidated reply: {title}", title=title)),
            Purpose.CONSOLIDATED, published.id,
            template=lambda t: TemplateHint(title_of(title, limit=60),
                                            Button(t("Read it"), self.codec.encode(SearchPress.READ, published.id))),
        )
        contributor_ids = sorted(await self.discussions.replied_member_ids(published.id))
        await self.messenger.send(
            await self.members.recipients(member_ids=contributor_ids),
            lambda t: compose(t("Thank you! Your contribution is part of the consolidated reply to question #{number}, "
                                "now shared with the network and kept in its archive (/read {number}).",
                                number=published.id)),
            Purpose.THANKS, published.id,
        )
        by = turn.member.name
        await self.cards.update(published.id, CardKind.DRAFT, lambda t: Card(
            t("The consolidated reply to question #{number} was published by {by}", number=published.id,
              by=by or t("a facilitator"))), acted_by=turn)
        await self.cards.refresh(published, acted_by=turn)
        turn.notice = turn.t("Published to {count} members", count=audience)

    async def press_edit_draft(self, turn: Turn, discussion: Discussion, arg: str) -> None:
        """Editing starts from the draft as it stands: its key points, or the facilitator's
        own whole text when one replaced them."""
        draft = await self._open_draft(turn, discussion)
        if draft is None:
            return
        if draft.full_text:
            await self._ask_for_whole_text(turn, discussion, draft.full_text)
            return
        t = turn.t
        turn.notice = t("Send the new summary")
        await turn.ask(Step.SUMMARY,
                       [t("The key points of the draft to question #{number} as they stand are below: copy them, "
                          "change what you like and send them back, one per line. To replace the whole text "
                          "instead, press the button.", number=discussion.id)],
                       label=t("Key points, one per line"), prefill=draft.summary,
                       buttons=[[turn.button(t("Replace the whole text"), Press.WHOLE_TEXT, discussion.id,
                                             short=t("Whole text"))]],
                       discussion=discussion.id)

    async def press_whole_text(self, turn: Turn, discussion: Discussion, arg: str) -> None:
        draft = await self._open_draft(turn, discussion)
        if draft is None:
            return
        contributions = await self.contributions_of(discussion)
        whole = draft.full_text or compose(*consolidated_body(turn.t, discussion, draft, contributions)).text
        await self._ask_for_whole_text(turn, discussion, whole)

    async def _ask_for_whole_text(self, turn: Turn, discussion: Discussion, whole: str) -> None:
        t = turn.t
        turn.notice = t("Send the whole text")
        await turn.ask(Step.FULL, [t("Send the whole consolidated reply as it should be published.")],
                       label=t("The consolidated reply"), prefill=whole, discussion=discussion.id)

    async def new_summary(self, turn: Turn, discussion: Discussion, text: str, data: dict) -> None:
        await self._new_draft_text(turn, discussion, text, whole=False)

    async def new_whole_text(self, turn: Turn, discussion: Discussion, text: str, data: dict) -> None:
        await self._new_draft_text(turn, discussion, text, whole=True)

    async def _new_draft_text(self, turn: Turn, discussion: Discussion, text: str, whole: bool) -> None:
        draft = await self._open_draft(turn, discussion, in_step=True)
        if draft is None:
            return
        text = text.strip()
        if not text:
            await turn.refuse(Refusal("That message was empty: please write your text."))
            return
        draft = draft.with_full_text(text) if whole else draft.with_summary(text)
        await self.drafts.save(draft, turn.now)
        await self.audit.record(turn, Action.EDIT, discussion.id)
        await turn.stop_waiting()
        contributions = await self.contributions_of(discussion)
        await self.cards.update(discussion.id, CardKind.DRAFT,
                                lambda t: self.draft_card(t, discussion, draft, contributions), acted_by=turn)
        await turn.say(turn.t("The draft is updated:"))
        await self.cards.send_to(turn, discussion.id, CardKind.DRAFT,
                                 lambda t: self.draft_card(t, discussion, draft, contributions))

    async def press_discard(self, turn: Turn, discussion: Discussion, arg: str) -> None:
        """Closing without publishing asks first, on the card of the one who pressed."""
        draft = await self._discardable(turn, discussion)
        if draft is None:
            return
        t = turn.t
        turn.notice = t("Close it without publishing?")
        card = await self._current_card(turn.t, discussion, draft)
        await self.cards.show_to_presser(turn, replace(
            card, status=t("Close question #{number} without publishing? You can undo it for a day with "
                           "/reopen {number}.", number=discussion.id),
            buttons=((Button(t("Yes, close it"), self.codec.encode(Press.CONFIRM_DISCARD, discussion.id), Style.DANGER),
                      Button(t("Keep it"), self.codec.encode(Press.KEEP_DRAFT, discussion.id))),)), hold=True)

    async def draft_waiting(self, discussion: Discussion) -> Draft | None:
        """The draft of a closed discussion while it waits for a facilitator (an empty one when
        it closed with no replies), or None: published, discarded, or not closed."""
        if discussion.state is not State.CLOSED:
            return None
        draft = await self.drafts.get(discussion.id) or Draft(discussion.id, "")
        return None if draft.discarded else draft

    async def send_draft_card(self, turn: Turn, discussion: Discussion, draft: Draft) -> None:
        """The draft's card again, to the facilitator of this turn, kept up to date with the others."""
        contributions = await self.contributions_of(discussion)
        await self.cards.send_to(turn, discussion.id, CardKind.DRAFT, lambda t: (
            self.draft_card(t, discussion, draft, contributions) if contributions
            else self._no_replies_card(t, discussion)))

    async def press_keep_draft(self, turn: Turn, discussion: Discussion, arg: str) -> None:
        draft = await self.drafts.get(discussion.id) or Draft(discussion.id, "")
        turn.notice = turn.t("Kept")
        await self.cards.show_to_presser(turn, await self._current_card(turn.t, discussion, draft))

    async def _current_card(self, t: Translator, discussion: Discussion, draft: Draft) -> Card:
        contributions = await self.contributions_of(discussion)
        if contributions:
            return self.draft_card(t, discussion, draft, contributions)
        return self._no_replies_card(t, discussion)

    async def _discardable(self, turn: Turn, discussion: Discussion) -> Draft | None:
        if discussion.state is not State.CLOSED:
            await turn.refuse(discussion.where_it_stands())
            return None
        draft = await self.drafts.get(discussion.id) or Draft(discussion.id, "")
        if draft.discarded:
            await turn.refuse(Refusal("This draft was discarded."))
            return None
        return draft

    async def press_confirm_discard(self, turn: Turn, discussion: Discussion, arg: str) -> None:
        draft = await self._discardable(turn, discussion)
        if draft is None:
            return
        await self.drafts.save(draft.discard(), turn.now)
        await self.audit.record(turn, Action.DISCARD, discussion.id)
        by = turn.member.name
        await self.cards.update(discussion.id, CardKind.DRAFT, lambda t: Card(
            t("Question #{number} was closed without publishing, by {by}", number=discussion.id,
              by=by or t("a facilitator"))), acted_by=turn)
        turn.notice = turn.t("Closed without publishing")

    async def press_reshare(self, turn: Turn, discussion: Discussion, arg: str) -> None:
        replies = len(await self.discussions.replies(discussion.id))
        reshared = await self.changes.apply(
            turn, discussion, discussion.reshare(turn.member.id, turn.now, self.reply_window, replies))
        if reshared is None:
            return
        await self.audit.record(turn, Action.RESHARE, reshared.id)
        asker = await self.members.get(reshared.asker_id)
        assert asker is not None, f"discussion {reshared.id} has no asker"
        audience = await self.broadcast.share(reshared, asker)
        self.schedule.schedule(reshared)
        by = turn.member.name
        await self.cards.update(reshared.id, CardKind.DRAFT, lambda t: Card(
            t("Question #{number} was shared again by {by}", number=reshared.id, by=by or t("a facilitator"))),
            acted_by=turn)
        await self.cards.refresh(reshared, acted_by=turn, audience=audience)
        turn.notice = turn.t("Shared again with {count} members", count=audience)

    async def press_share_published(self, turn: Turn, discussion: Discussion, arg: str) -> None:
        """A consolidated reply from the archive, shared with the whole network again: when
        its question comes back, or for the members who joined since."""
        reply = await self.archive.get(discussion.id) if discussion.state is State.PUBLISHED else None
        if reply is None:
            await turn.refuse(Refusal("Only a published consolidated reply can be shared again from the archive."))
            return
        audience = await self.messenger.send_to_everyone(
            lambda t: compose(bold(t("From the archive: {title}", title=reply.title)), "\n\n",
                              *in_reader_language(t, render(t, reply), reply.language, reply.translations),
                              title=t("From the archive: {title}", title=reply.title)),
            Purpose.CONSOLIDATED, discussion.id,
            template=lambda t: TemplateHint(title_of(reply.title, limit=60),
                                            Button(t("Read it"), self.codec.encode(SearchPress.READ, discussion.id))))
        await self.audit.record(turn, Action.RESHARE, discussion.id)
        turn.notice = turn.t("Shared again with {count} members", count=audience)

    async def _open_draft(self, turn: Turn, discussion: Discussion, in_step: bool = False) -> Draft | None:
        """The draft still to be published, or None when there is none (the person was told)."""
        draft = await self.drafts.get(discussion.id)
        if discussion.state is State.CLOSED and draft is not None and not draft.discarded:
            return draft
        if in_step:
            await turn.stop_waiting()
        await turn.refuse(discussion.where_it_stands() if discussion.state is not State.CLOSED
                          else Refusal("This draft was discarded."))
        return None


def consolidated_body(t: Translator, discussion: Discussion, draft: Draft,
                      contributions: Sequence[Contribution]) -> list[Part]:
    """The consolidated reply under its heading: the question, the key points, and every
    contribution with its author (or the facilitator's own whole text)."""
    if draft.full_text:
        return [draft.full_text]
    parts: list[Part] = [bold(t("The question")), "\n", discussion.text, "\n\n"]
    if draft.summary.strip():
        parts += [bold(t("Key points")), "\n"]
        parts += [f"• {line}\n" for line in draft.summary.splitlines() if line.strip()]
        parts.append("\n")
    if len(contributions) == 1 and covers(draft.summary, contributions[0].text):
        return parts  # the key points hold the one reply whole: not repeated in full
    parts.append(bold(t.plural("{count} contribution", "{count} contributions", len(contributions))))
    for contribution in contributions:
        author = t("anonymous") if contribution.anonymous else contribution.author
        parts += ["\n\n", bold(author), "\n", contribution.text]
    return parts
