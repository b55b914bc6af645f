"""The conversations that write news: a member's /share (the kind with buttons, a title, a few
lines, a link that can be skipped, then Submit or Cancel), and a facilitator's /brief and /alert
(a title, a few lines, a link, who should receive it, then Send with the audience counted).

Each answer is checked as it comes; the answers so far live in the conversation state, so a
restart in the middle loses nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Sequence

from bot.domain.news import (
    KIND_WORDS, SHARED_KINDS, Audience, Kind, News, State, clean_news_link, clean_news_text, clean_title,
    parse_languages, parse_values,
)
from bot.domain.practices import fold
from bot.domain.refusal import Refusal
from bot.ports import Style
from bot.services.audit import Action
from bot.services.messaging import Part, bold
from bot.services.news import NewsDesk, NewsStore
from bot.services.routes import Audience as Listed
from bot.services.routes import Route, command, personal_button, step
from bot.services.rules import IN_PRIVATE, IS_FACILITATOR, IS_OWNER, NOT_LEFT, NOT_MUTED
from bot.services.turn import Turn
from bot.texts.catalog import N_

log = logging.getLogger(__name__)

WAITING_NEWS = 5  # how many of one member's news may wait for the facilitators


class Command(StrEnum):
    SHARE = "share"
    BRIEF = "brief"
    ALERT = "alert"


class Step(StrEnum):
    KIND = "news.kind"
    TITLE = "news.title"
    TEXT = "news.text"
    LINK = "news.link"
    AUDIENCE = "news.audience"
    VALUES = "news.values"
    CONFIRM = "news.confirm"


SHARE_ORDER = (Step.KIND, Step.TITLE, Step.TEXT, Step.LINK, Step.CONFIRM)
SEND_ORDER = (Step.TITLE, Step.TEXT, Step.LINK, Step.AUDIENCE, Step.VALUES, Step.CONFIRM)


class Press(StrEnum):
    KIND = "nwk"
    SKIP = "nws"
    AUDIENCE = "nwa"
    SUBMIT = "nwu"
    CANCEL = "nwc"


AUDIENCE_WORDS = {Audience.EVERYONE: N_("Everyone"), Audience.COUNTRY: N_("By country"),
                  Audience.TOPIC: N_("By topic"), Audience.LANGUAGE: N_("By language")}
ALREADY_DONE = Refusal("That news was already sent or cancelled.")


@dataclass(eq=False)
class NewsForm:
    desk: NewsDesk
    store: NewsStore
    language_names: dict[str, str]  # folded name or code, in any of the network's languages -> code

    def routes(self) -> Sequence[Route]:
        writing = (NOT_LEFT, IS_OWNER, NOT_MUTED)
        return (
            command(Command.SHARE, self.share_command, "Share news with the network: a workshop, a publication, "
                    "a job, a resource", rules=(IN_PRIVATE, NOT_LEFT)),
            command(Command.BRIEF, partial(self.send_command, Kind.BRIEF),
                    "Send a brief to the network, or to some countries, topics or languages",
                    rules=(IN_PRIVATE, NOT_LEFT, IS_FACILITATOR), audience=Listed.FACILITATORS),
            command(Command.ALERT, partial(self.send_command, Kind.ALERT),
                    "Send an urgent alert, delivered at once even to members on a digest",
                    rules=(IN_PRIVATE, NOT_LEFT, IS_FACILITATOR), audience=Listed.FACILITATORS),
            personal_button(Press.KIND, self.press_kind, rules=writing),
            personal_button(Press.SKIP, self.press_skip, rules=writing),
            personal_button(Press.AUDIENCE, self.press_audience, rules=(NOT_LEFT, IS_FACILITATOR, IS_OWNER)),
            personal_button(Press.SUBMIT, self.press_submit, rules=writing),
            personal_button(Press.CANCEL, self.press_cancel),
            *(step(each, partial(self.answer, each), rules=(NOT_LEFT, NOT_MUTED)) for each in Step),
        )

    async def share_command(self, turn: Turn, args: str) -> None:
        if turn.member.muted_reason is not None:
            await turn.refuse(Refusal("The facilitators have paused your questions and replies: {reason}",
                                      {"reason": turn.member.muted_reason}))
            return
        await turn.say(turn.t("Let us share your news with the network: a workshop, a publication, a job or a "
                              "resource. The facilitators look at it before it is shared. Send /cancel to stop at "
                              "any time."))
        await self.ask_step(turn, Step.KIND, {})

    async def send_command(self, kind: Kind, turn: Turn, args: str) -> None:
        t = turn.t
        if kind is Kind.ALERT:
            await turn.say(t("An alert goes out at once to every member it is for, even those who chose a digest. "
                             "Keep it for what is urgent. Send /cancel to stop at any time."))
        else:
            await turn.say(t("A brief goes to the members it is for, and into the digests of those who chose one. "
                             "Send /cancel to stop at any time."))
        await self.ask_step(turn, Step.TITLE, {"kind": kind.value})

    # --- asking ---------------------------------------------------------------------------

    async def ask_step(self, turn: Turn, at: Step, data: dict) -> None:
        t, me = turn.t, turn.member.id
        cancel = turn.button(t("Cancel"), Press.CANCEL, me)
        if at is Step.KIND:
            await turn.wait_for(at, **data)
            kinds = [turn.button(t(KIND_WORDS[kind]), Press.KIND, me, kind.value) for kind in SHARED_KINDS]
            await turn.say(t("What kind of news is it?"), buttons=[kinds[:3], [*kinds[3:], cancel]])
            return
        if at is Step.AUDIENCE:
            await turn.wait_for(at, **data)
            await turn.say(t("Who should receive it?"), buttons=[
                [turn.button(t(AUDIENCE_WORDS[a]), Press.AUDIENCE, me, a.value) for a in Audience][:2],
                [turn.button(t(AUDIENCE_WORDS[a]), Press.AUDIENCE, me, a.value) for a in Audience][2:], [cancel]])
            return
        if at is Step.CONFIRM:
            await turn.wait_for(at, **data)
            await self._confirm(turn, data)
            return
        if at is Step.VALUES:
            audience = Audience(data.get("audience", Audience.EVERYONE.value))
            question = {Audience.COUNTRY: t("Which countries? Separate them with commas, for example: Kenya, Uganda"),
                        Audience.TOPIC: t("Which topics? Separate them with commas, for example: nutrition, "
                                          "education"),
                        Audience.LANGUAGE: t("Which languages? Separate them with commas, for example: French")}
            await turn.ask(at, [question.get(audience, "")], label=t(AUDIENCE_WORDS[audience]), buttons=[[cancel]],
                           **data)
            return
        questions = {
            Step.TITLE: (t("What is the title? One short line."), t("Title")),
            Step.TEXT: (t("Tell the network about it in a few lines."), t("Text")),
            Step.LINK: (t("A link where one can read more (an address starting with https://)?"), t("Link")),
        }
        question, label = questions[at]
        buttons = [[turn.button(t("Skip"), Press.SKIP, me, "link"), cancel]] if at is Step.LINK else [[cancel]]
        await turn.ask(at, [question], label=label, buttons=buttons, **data)

    async def _confirm(self, turn: Turn, data: dict) -> None:
        t, me = turn.t, turn.member.id
        news = _news(data, turn.member.id, turn.now)
        parts: list[Part] = [t("Here is how it will read:"), "\n\n"]
        parts += list(self.desk.message(t, news).spans)
        if news.kind in SHARED_KINDS:
            parts += ["\n\n", t("Shall I send it to the facilitators? Once they approve it, it goes to the network.")]
            label = t("Submit")
        else:
            count = await self.desk.audience_size(news.audience, news.values, exclude=me)
            parts += ["\n\n", bold(self._audience_said(turn, news, count))]
            label = t("Send")
        await turn.say(*parts, buttons=[[turn.button(label, Press.SUBMIT, me, style=Style.PRIMARY),
                                         turn.button(t("Cancel"), Press.CANCEL, me)]])

    def _audience_said(self, turn: Turn, news: News, count: int) -> str:
        t = turn.t
        if news.audience is Audience.EVERYONE:
            return t.plural("To {count} member.", "To {count} members.", count)
        values = news.values
        if news.audience is Audience.LANGUAGE:
            values = tuple(t.language_name(code) for code in values)
        where = ", ".join(values)
        if news.audience is Audience.COUNTRY:
            return t.plural("To {count} member in {where}.", "To {count} members in {where}.", count, where=where)
        if news.audience is Audience.TOPIC:
            return t.plural("To {count} member interested in {where}.", "To {count} members interested in {where}.",
                            count, where=where)
        return t.plural("To {count} member reading {where}.", "To {count} members reading {where}.", count,
                        where=where)

    # --- answers --------------------------------------------------------------------------

    async def answer(self, at: Step, turn: Turn, text: str, data: dict) -> None:
        """The person's text while the form waits for `at`."""
        data = {key: value for key, value in data.items() if key != "form"}
        value: object
        if at is Step.TITLE:
            value = clean_title(text)
        elif at is Step.TEXT:
            value = clean_news_text(text)
        elif at is Step.LINK:
            value = clean_news_link(text)
        elif at is Step.KIND:
            value = next((kind.value for kind in SHARED_KINDS
                          if fold(text) in {kind.value, fold(turn.t(KIND_WORDS[kind]))}),
                         Refusal("Please choose one of the buttons."))
        elif at is Step.VALUES:
            audience = Audience(data.get("audience", Audience.EVERYONE.value))
            value = (parse_languages(text, self.language_names) if audience is Audience.LANGUAGE
                     else parse_values(text))
        else:
            value = Refusal("Please choose one of the buttons.")
        if isinstance(value, Refusal):
            log.info("member %s: answer to %s refused (%s)", turn.member.id, at.value, value.reason[:40])
            await turn.refuse(value)
            return
        data[at.value.split(".", 1)[1]] = list(value) if isinstance(value, tuple) else value
        await self._next(turn, at, data)

    async def _next(self, turn: Turn, done: Step, data: dict) -> None:
        order = SHARE_ORDER if Kind(data.get("kind", Kind.OTHER.value)) in SHARED_KINDS else SEND_ORDER
        following = order[order.index(done) + 1]
        if following is Step.VALUES and data.get("audience") == Audience.EVERYONE.value:
            following = Step.CONFIRM
        await self.ask_step(turn, following, data)

    async def _at(self, turn: Turn, wanted: Step | None = None) -> tuple[Step, dict] | None:
        conversation = await turn.waiting()
        steps = {each.value for each in Step}
        if conversation is None or conversation.step not in steps or (wanted and conversation.step != wanted):
            await turn.refuse(ALREADY_DONE if conversation is None or conversation.step not in steps
                              else Refusal("That question was already answered."))
            return None
        return Step(conversation.step), {k: v for k, v in conversation.data.items() if k != "form"}

    async def press_kind(self, turn: Turn, arg: str) -> None:
        at = await self._at(turn, Step.KIND)
        if at is None or arg not in {kind.value for kind in SHARED_KINDS}:
            return
        _, data = at
        data["kind"] = arg
        turn.notice = turn.t(KIND_WORDS[Kind(arg)])
        await turn.take_buttons_off_pressed()
        await self._next(turn, Step.KIND, data)

    async def press_audience(self, turn: Turn, arg: str) -> None:
        at = await self._at(turn, Step.AUDIENCE)
        if at is None or arg not in {audience.value for audience in Audience}:
            return
        _, data = at
        data["audience"] = arg
        data.pop("values", None)
        turn.notice = turn.t(AUDIENCE_WORDS[Audience(arg)])
        await turn.take_buttons_off_pressed()
        await self._next(turn, Step.AUDIENCE, data)

    async def press_skip(self, turn: Turn, arg: str) -> None:
        at = await self._at(turn, Step.LINK)
        if at is None:
            return
        _, data = at
        data.pop("link", None)
        await self._next(turn, Step.LINK, data)

    async def press_submit(self, turn: Turn, arg: str) -> None:
        at = await self._at(turn, Step.CONFIRM)
        if at is None:
            await turn.take_buttons_off_pressed()
            return
        _, data = at
        news = _news(data, turn.member.id, turn.now)
        if news.kind in SHARED_KINDS:
            await self._submit(turn, news)
        elif not turn.member.is_facilitator:  # a member who was a facilitator when the form began
            await turn.refuse(Refusal("Only facilitators can do that."))
        else:
            await self._send(turn, news)

    async def _submit(self, turn: Turn, news: News) -> None:
        waiting = [n for n in await self.store.submitted_by(turn.member.id) if n.state is State.SUBMITTED]
        if len(waiting) >= WAITING_NEWS:
            await turn.refuse(Refusal("{count} of your news are waiting for the facilitators already: this one can "
                                      "be submitted once they have looked at them.", {"count": len(waiting)}))
            return
        created = await self.store.create(news)
        await turn.stop_waiting()
        await turn.take_buttons_off_pressed()
        t = turn.t
        turn.notice = t("Sent to the facilitators")
        await turn.say(t("Thank you! Your news #{number} is with the facilitators. I will tell you when it is "
                         "approved.", number=created.id))
        await self.desk.submitted(created, turn.member)

    async def _send(self, turn: Turn, news: News) -> None:
        created = await self.store.create(news)
        await turn.stop_waiting()
        await turn.take_buttons_off_pressed()
        count = await self.desk.deliver(created, exclude=turn.member.id)
        await self.desk.audit.record(turn, Action.ALERT if created.urgent else Action.BRIEF,
                                     detail=f"#{created.id} {created.title}")
        log.info("%s %s sent to %s members now", created.kind.value, created.id, count)
        t = turn.t
        turn.notice = t("Sent")
        if created.urgent:
            await turn.say(t.plural("Alert #{number} was sent to {count} member.",
                                    "Alert #{number} was sent to {count} members.", count, number=created.id))
        else:
            await turn.say(t.plural("Brief #{number} was sent to {count} member; members on a digest get it in "
                                    "their next digest.",
                                    "Brief #{number} was sent to {count} members; members on a digest get it in "
                                    "their next digest.", count, number=created.id))

    async def press_cancel(self, turn: Turn, arg: str) -> None:
        conversation = await turn.waiting()
        if conversation is None or conversation.step not in {each.value for each in Step}:
            await turn.refuse(ALREADY_DONE)
            await turn.take_buttons_off_pressed()
            return
        await turn.stop_waiting()
        await turn.take_buttons_off_pressed()
        turn.notice = turn.t("Cancelled")
        await turn.say(turn.t("Cancelled: nothing was sent."))


def _news(data: dict, by: int, now: float) -> News:
    """The answers so far, as news without a number: a member's waits, a facilitator's is sent."""
    kind = Kind(data.get("kind", Kind.OTHER.value))
    shared = kind in SHARED_KINDS
    return News(
        id=0, kind=kind, title=data.get("title", ""), text=data.get("text", ""), link=data.get("link", ""),
        submitted_by=by, state=State.SUBMITTED if shared else State.APPROVED, state_by=None if shared else by,
        audience=Audience(data.get("audience", Audience.EVERYONE.value)), values=tuple(data.get("values", [])),
        created_at=now, decided_at=None if shared else now,
    )
