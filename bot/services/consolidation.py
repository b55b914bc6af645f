"""After the deadline: the discussion closes, each facilitator gets a draft consolidated reply
(the question, a short extractive summary credited to its authors, then every contribution
in full), and one of them publishes it to the whole network and into the archive."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Protocol, Sequence

from bot.domain.discussions import Discussion, Reply, State
from bot.domain.members import Member
from bot.domain.refusal import Refusal
from bot.domain.summary import summarize
from bot.ports import Button, Outgoing, Span
from bot.services import moderation
from bot.services.moderation import day_of
from bot.services.archive import ArchivedReply
from bot.services.outbox import Priority
from bot.services.turn import Services, Turn, bold, compose
from bot.texts.catalog import Translator

log = logging.getLogger(__name__)

PUBLISH = "pb"
EDIT_DRAFT = "pe"
WHOLE_TEXT = "pw"
DISCARD = "dd"
RESHARE = "rs"
CLOSE_QUIETLY = "cw"
DRAFT_CARD = "draft"
WEEK = 7 * 86400.0


@dataclass(frozen=True)
class Draft:
    discussion_id: int
    summary: str  # key points, one per line
    full_text: str | None = None  # a facilitator's own text, replacing everything
    discarded: bool = False


class DraftStore(Protocol):
    async def get(self, discussion_id: int) -> Draft | None: ...

    async def save(self, draft: Draft, now: float) -> None: ...


@dataclass(frozen=True)
class Contribution:
    author: str
    text: str


# --- closing ------------------------------------------------------------------------------


async def close(services: Services, discussion: Discussion, by: Member | None) -> bool:
    """Close once: whoever loses the race (a second deadline job, a second button) does nothing."""
    closed = discussion.close(services.clock.now(), by.id if by else None)
    if isinstance(closed, Refusal) or not await services.discussions.save(closed, discussion.version):
        return False
    services.deadlines.cancel(discussion.id)
    asker = await services.members.get(discussion.asker_id)
    assert asker is not None
    await moderation.update_cards(services, closed, asker, by)
    contributions = await contributions_of(services, closed)
    if contributions:
        points = summarize(closed.text, [(c.author, c.text) for c in contributions])
        summary = "\n".join(f"{point.sentence} ({point.author})" for point in points)
        draft = Draft(closed.id, summary)
        await services.drafts.save(draft, services.clock.now())
        await send_draft_cards(services, closed, draft, contributions)
    else:
        await _send_cards(services, closed, lambda t: compose(
            bold(t("Question #{number} closed with no replies", number=closed.id)), "\n\n",
            closed.text,
            buttons=[[Button(t("Share it again"), services.codec.encode(RESHARE, closed.id)),
                      Button(t("Close without publishing"), services.codec.encode(CLOSE_QUIETLY, closed.id))]],
        ))
    recipients = await services.members.recipients(member_ids=[asker.id])
    count = len(contributions)
    await services.send(recipients, lambda t: compose(
        t.plural("Your question #{number} is now closed, with {count} reply.",
                 "Your question #{number} is now closed, with {count} replies.", count, number=closed.id),
        " ", t("The facilitators are preparing the consolidated reply.") if count else "",
    ), Priority.CARD, "answer", closed.id)
    log.info("discussion %s closed with %s replies", closed.id, count)
    return True


async def contributions_of(services: Services, discussion: Discussion) -> list[Contribution]:
    contributions = []
    for reply in await services.discussions.replies(discussion.id):
        contributions.append(Contribution(await _author(services, reply), reply.text))
    return contributions


async def _author(services: Services, reply: Reply) -> str:
    if reply.anonymous:
        return "anonymous"
    member = await services.members.get(reply.member_id)
    return member.attribution() if member else "a former member"


# --- the draft ----------------------------------------------------------------------------


def consolidated_message(t: Translator, discussion: Discussion, draft: Draft,
                         contributions: Sequence[Contribution], heading: str) -> list[str | Span]:
    if draft.full_text:
        return [bold(heading), "\n\n", draft.full_text]
    parts: list[str | Span] = [bold(heading), "\n\n", bold(t("The question")), "\n", discussion.text, "\n\n"]
    if draft.summary.strip():
        parts += [bold(t("Key points")), "\n"]
        parts += [f"• {line}\n" for line in draft.summary.splitlines() if line.strip()]
        parts.append("\n")
    parts.append(bold(t.plural("{count} contribution", "{count} contributions", len(contributions))))
    for contribution in contributions:
        author = t("anonymous") if contribution.author == "anonymous" else contribution.author
        parts += ["\n\n", bold(author), "\n", contribution.text]
    return parts


async def send_draft_cards(services: Services, discussion: Discussion, draft: Draft,
                           contributions: Sequence[Contribution]) -> None:
    await _send_cards(services, discussion, lambda t: _draft_card(services, t, discussion, draft, contributions))


def _draft_card(services: Services, t: Translator, discussion: Discussion, draft: Draft,
                contributions: Sequence[Contribution]) -> Outgoing:
    codec = services.codec
    heading = t("Draft consolidated reply to question #{number}", number=discussion.id)
    return compose(
        *consolidated_message(t, discussion, draft, contributions, heading),
        buttons=[[Button(t("Publish"), codec.encode(PUBLISH, discussion.id)),
                  Button(t("Edit"), codec.encode(EDIT_DRAFT, discussion.id)),
                  Button(t("Discard"), codec.encode(DISCARD, discussion.id))]],
    )


async def _send_cards(services: Services, discussion: Discussion, message) -> None:  # type: ignore[no-untyped-def]
    recipients = await moderation.facilitator_recipients(services)
    for recipient, row in await services.send(recipients, message, Priority.CARD, "card", discussion.id):
        await services.discussions.add_card(discussion.id, row, DRAFT_CARD, recipient.language)


async def _edit_cards(services: Services, discussion: Discussion, message) -> None:  # type: ignore[no-untyped-def]
    for row, language in await services.discussions.cards(discussion.id, DRAFT_CARD):
        await services.outbox.enqueue_edit(row, message(services.translator(language)))


# --- the facilitators' buttons on the draft -----------------------------------------------


async def press_publish(turn: Turn, discussion: Discussion) -> None:
    services = turn.services
    draft = await services.drafts.get(discussion.id)
    if draft is None or draft.discarded:
        await turn.refuse(Refusal("This draft was discarded."))
        return
    published = discussion.publish(turn.member.id, turn.now)
    if isinstance(published, Refusal):
        await turn.refuse(published)
        return
    if not await services.discussions.save(published, discussion.version):
        await turn.refuse(Refusal("Another facilitator acted on this question a moment ago: look at the updated card."))
        return
    await turn.stop_waiting()
    contributions = await contributions_of(services, published)
    default_t = services.translator("")
    await services.archive.add(ArchivedReply(
        discussion_id=published.id,
        title=title_of(published.text),
        question=published.text,
        summary=draft.full_text or draft.summary,
        contributions="\n\n".join(f"{c.author}: {c.text}" for c in contributions),
        language=published.language,
        published_at=turn.now,
    ))
    recipients = await services.members.recipients()
    await services.send(recipients, lambda t: compose(*consolidated_message(
        t, published, draft, contributions, t("Consolidated reply: {title}", title=title_of(published.text)),
    )), Priority.BROADCAST, "consolidated", published.id)
    contributor_ids = sorted({reply.member_id for reply in await services.discussions.replies(published.id)})
    await services.send(
        await services.members.recipients(member_ids=contributor_ids),
        lambda t: compose(t("Thank you! Your contribution is part of the consolidated reply to question #{number}, "
                            "now shared with the network and kept in its archive (/read {number}).",
                            number=published.id)),
        Priority.CARD, "thanks", published.id,
    )
    by = turn.member.name or default_t("a facilitator")
    await _edit_cards(services, published, lambda t: compose(
        bold(t("The consolidated reply to question #{number} was published by {by}", number=published.id, by=by)),
    ))
    turn.notice = turn.t("Published to {count} members", count=len(recipients))


async def press_edit_draft(turn: Turn, discussion: Discussion) -> None:
    if discussion.state is not State.CLOSED:
        await turn.refuse(discussion.where_it_stands())
        return
    await turn.wait_for("consolidate.summary", discussion=discussion.id)
    turn.notice = turn.t("Send the new summary")
    await turn.say(
        turn.t("Send the new key points, one per line: they replace the summary. "
               "To replace the whole text instead, press the button."),
        buttons=[[turn.button(turn.t("Replace the whole text"), WHOLE_TEXT, discussion.id)]],
    )


async def press_whole_text(turn: Turn, discussion: Discussion) -> None:
    if discussion.state is not State.CLOSED:
        await turn.refuse(discussion.where_it_stands())
        return
    await turn.wait_for("consolidate.full", discussion=discussion.id)
    turn.notice = turn.t("Send the whole text")
    await turn.say(turn.t("Send the whole consolidated reply as it should be published."))


async def new_draft_text(turn: Turn, discussion: Discussion, text: str, whole: bool) -> None:
    services = turn.services
    draft = await services.drafts.get(discussion.id)
    if discussion.state is not State.CLOSED or draft is None or draft.discarded:
        await turn.stop_waiting()
        await turn.refuse(discussion.where_it_stands() if discussion.state is not State.CLOSED
                          else Refusal("This draft was discarded."))
        return
    text = text.strip()
    if not text:
        await turn.refuse(Refusal("That message was empty: please write your text."))
        return
    draft = replace(draft, full_text=text) if whole else replace(draft, summary=text, full_text=None)
    await services.drafts.save(draft, turn.now)
    await turn.stop_waiting()
    contributions = await contributions_of(services, discussion)
    await _edit_cards(services, discussion, lambda t: _draft_card(services, t, discussion, draft, contributions))
    await turn.say(turn.t("The draft is updated:"))
    await turn.say(*consolidated_message(turn.t, discussion, draft, contributions,
                                         turn.t("Draft consolidated reply to question #{number}", number=discussion.id)),
                   buttons=_draft_card(services, turn.t, discussion, draft, contributions).buttons)


async def press_discard(turn: Turn, discussion: Discussion) -> None:
    services = turn.services
    if discussion.state is not State.CLOSED:
        await turn.refuse(discussion.where_it_stands())
        return
    draft = await services.drafts.get(discussion.id) or Draft(discussion.id, "")
    if draft.discarded:
        await turn.refuse(Refusal("This draft was discarded."))
        return
    await services.drafts.save(replace(draft, discarded=True), turn.now)
    by = turn.member.name or turn.t("a facilitator")
    await _edit_cards(services, discussion, lambda t: compose(
        bold(t("Question #{number} was closed without publishing, by {by}", number=discussion.id, by=by)),
    ))
    turn.notice = turn.t("Closed without publishing")


async def press_reshare(turn: Turn, discussion: Discussion) -> None:
    services = turn.services
    replies = len(await services.discussions.replies(discussion.id))
    reshared = discussion.reshare(turn.member.id, turn.now, services.community.reply_window, replies)
    if isinstance(reshared, Refusal):
        await turn.refuse(reshared)
        return
    if not await services.discussions.save(reshared, discussion.version):
        await turn.refuse(Refusal("Another facilitator acted on this question a moment ago: look at the updated card."))
        return
    asker = await services.members.get(reshared.asker_id)
    assert asker is not None
    audience = await moderation.broadcast(services, reshared, asker)
    services.deadlines.schedule(reshared)
    by = turn.member.name or turn.t("a facilitator")
    await _edit_cards(services, reshared, lambda t: compose(
        bold(t("Question #{number} was shared again by {by}", number=reshared.id, by=by)),
    ))
    await moderation.update_cards(services, reshared, asker, turn.member, audience)
    turn.notice = turn.t("Shared again with {count} members", count=audience)


async def press_close_now(turn: Turn, discussion: Discussion) -> None:
    if not discussion.is_open:
        await turn.refuse(discussion.where_it_stands())
        return
    if await close(turn.services, discussion, turn.member):
        turn.notice = turn.t("Closed: the draft is on its way")
    else:
        await turn.refuse(Refusal("Another facilitator acted on this question a moment ago: look at the updated card."))


async def press_extend(turn: Turn, discussion: Discussion) -> None:
    services = turn.services
    extended = discussion.extend(turn.member.id, WEEK)
    if isinstance(extended, Refusal):
        await turn.refuse(extended)
        return
    if not await services.discussions.save(extended, discussion.version):
        await turn.refuse(Refusal("Another facilitator acted on this question a moment ago: look at the updated card."))
        return
    services.deadlines.schedule(extended)
    asker = await services.members.get(extended.asker_id)
    assert asker is not None
    await moderation.update_cards(services, extended, asker, turn.member)
    turn.notice = turn.t("Open until {day}", day=day_of(extended.deadline_at or 0))


# --- reminders ----------------------------------------------------------------------------


async def remind(services: Services, discussion: Discussion) -> bool:
    reminded = discussion.remind(services.clock.now())
    if isinstance(reminded, Refusal) or not await services.discussions.save(reminded, discussion.version):
        return False
    replied = await services.discussions.replied_member_ids(discussion.id)
    recipients = [r for r in await services.members.recipients(exclude=discussion.asker_id)
                  if r.member_id not in replied]
    day = day_of(discussion.deadline_at or 0)
    codec = services.codec
    excerpt = title_of(discussion.text)
    await services.send(recipients, lambda t: compose(
        t("A gentle reminder: question #{number} closes on {day}. If you have something to share, "
          "the network would value it.", number=discussion.id, day=day), "\n\n", excerpt,
        buttons=[[Button(t("Reply"), codec.encode(moderation.REPLY, discussion.id)),
                  Button(t("Reply without my name"), codec.encode(moderation.REPLY, discussion.id, "a"))]],
    ), Priority.BROADCAST, "reminder", discussion.id)
    replies = await services.discussions.replies(discussion.id)
    countries = {member.country for reply in replies
                 if (member := await services.members.get(reply.member_id)) and member.country}
    await _send_status(services, discussion, len(replies), len(countries), day)
    return True


async def _send_status(services: Services, discussion: Discussion, replies: int, countries: int, day: str) -> None:
    recipients = await moderation.facilitator_recipients(services)
    await services.send(recipients, lambda t: compose(
        t("Question #{number} closes on {day}:", number=discussion.id, day=day), " ",
        t.plural("{count} reply so far", "{count} replies so far", replies), ", ",
        t.plural("from {count} country", "from {count} countries", countries), ".",
    ), Priority.CARD, "status", discussion.id)


def title_of(question: str, limit: int = 100) -> str:
    first_line = question.strip().splitlines()[0] if question.strip() else ""
    if len(first_line) <= limit:
        return first_line
    cut = first_line[:limit].rsplit(" ", 1)[0]
    return cut + "…"


