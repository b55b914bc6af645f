"""Surveys: a facilitator writes one (/survey, or /survey 3 for event #3) in a guided
conversation: Likert statements rated 1 to 5, single-choice questions and at most one
free-text question. An event's survey goes to its registrants when it ends; another goes at
once to the members chosen (all, or by country, topic or language). Each member has one
answer per question, changeable until the survey closes (/survey close 4, or its closing
date). /results 4 gives the figures, a chart and the free-text answers; /results 4 csv the
answers as a file."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from typing import Protocol, Sequence

from bot.clock import Clock
from bot.domain.events import parse_duration, parse_number
from bot.domain.refusal import Refusal
from bot.domain.surveys import (
    Kind, Question, QuestionResult, Survey, SurveyState, check_answer, choice_question, percent, question_text, tally,
)
from bot.ports import Button, Document, Message, Purpose, Span, Style, TemplateHint
from bot.services.audit import Action, Audit
from bot.services.buttons import ButtonCodec
from bot.services.conversation import UnitOfWork
from bot.services.events import EventStore
from bot.services.members import MemberStore, Recipient
from bot.services.messaging import Messenger, Part, bold, compose
from bot.services.outbox import Waker
from bot.services.routes import Arguments, Audience, Route, command, personal_button, step
from bot.services.rules import IN_PRIVATE, IS_FACILITATOR, IS_OWNER, NOT_LEFT
from bot.services.survey_charts import survey_chart
from bot.services.turn import Turn
from bot.texts.catalog import Translator, language_from_text, native_name

log = logging.getLogger(__name__)

FACILITATORS_ONLY = (NOT_LEFT, IS_FACILITATOR)
OWN_BUTTON = (NOT_LEFT, IS_FACILITATOR, IS_OWNER)
NO_SUCH_SURVEY = Refusal("There is no survey with that number.")
EVERYONE = "all"
AUDIENCES = ("country", "topic", "language")
MAX_TITLE = 150


@dataclass(frozen=True)
class Answer:
    position: int
    respondent: str  # one per person; not their member number
    value: int | None
    text: str | None
    answered_at: float


class SurveyStore(Protocol):
    async def create(self, title: str, event_id: int | None, created_by: int, now: float) -> Survey: ...

    async def get(self, survey_id: int) -> Survey | None: ...

    async def of_event(self, event_id: int) -> Survey | None: ...

    async def add_question(self, survey_id: int, kind: Kind, text: str, options: tuple[str, ...] = ()) -> Question: ...

    async def open(self, survey_id: int, audience: str, closes_at: float | None) -> None: ...

    async def close(self, survey_id: int) -> bool: ...

    async def discard(self, survey_id: int) -> None: ...

    async def closing_due(self, now: float) -> list[int]: ...

    async def answer(self, survey_id: int, position: int, member_id: int, value: int | None, text: str | None,
                     now: float) -> bool:
        """Keep (or replace) the member's answer; True when it replaced one."""
        ...

    async def answers(self, survey_id: int) -> list[Answer]: ...


class Press(StrEnum):
    ADD = "vq"  # arg: the kind of question
    DONE = "vd"
    AUDIENCE = "va"  # arg: all, country, topic, language
    AUDIENCE_LANGUAGE = "vl"
    SKIP_CLOSING = "vk"
    SEND = "vs"
    DISCARD = "vx"
    ANSWER = "vn"  # arg: "survey-position-value"
    WRITE = "vw"  # arg: "survey-position" of the free-text question
    SHOW = "vh"  # a template's button: the survey itself, once the member wrote


class Step(StrEnum):
    TITLE = "survey.title"
    QUESTION = "survey.question"
    MENU = "survey.menu"
    AUDIENCE = "survey.audience"
    CLOSING = "survey.closing"
    CONFIRM = "survey.confirm"
    ANSWER = "survey.answer"


class Command(StrEnum):
    SURVEY = "survey"
    RESULTS = "results"


@dataclass(eq=False)
class Surveys:
    surveys: SurveyStore
    events: EventStore
    members: MemberStore
    messenger: Messenger
    codec: ButtonCodec
    database: UnitOfWork
    waker: Waker
    clock: Clock
    audit: Audit
    languages: tuple[str, ...]

    def routes(self) -> Sequence[Route]:
        return (
            command(Command.SURVEY, self.survey_command,
                    "Write a survey: /survey, /survey 3 for event #3, /survey close 4",
                    rules=(IN_PRIVATE, *FACILITATORS_ONLY), arguments=Arguments.TEXT, audience=Audience.FACILITATORS),
            command(Command.RESULTS, self.results_command, "A survey's results: /results 4, or /results 4 csv",
                    rules=(IN_PRIVATE, *FACILITATORS_ONLY), arguments=Arguments.TEXT, audience=Audience.FACILITATORS),
            personal_button(Press.ADD, self.press_add, rules=OWN_BUTTON),
            personal_button(Press.DONE, self.press_done, rules=OWN_BUTTON),
            personal_button(Press.AUDIENCE, self.press_audience, rules=OWN_BUTTON),
            personal_button(Press.AUDIENCE_LANGUAGE, self.press_audience_language, rules=OWN_BUTTON),
            personal_button(Press.SKIP_CLOSING, self.press_skip_closing, rules=OWN_BUTTON),
            personal_button(Press.SEND, self.press_send, rules=OWN_BUTTON),
            personal_button(Press.DISCARD, self.press_discard, rules=OWN_BUTTON),
            # A survey's questions go alike to everyone: these act for whoever presses them.
            personal_button(Press.ANSWER, self.press_answer, rules=(NOT_LEFT,)),
            personal_button(Press.WRITE, self.press_write, rules=(NOT_LEFT,)),
            personal_button(Press.SHOW, self.press_show, rules=(NOT_LEFT,)),
            step(Step.TITLE, self.title_given, rules=FACILITATORS_ONLY),
            step(Step.QUESTION, self.question_given, rules=FACILITATORS_ONLY),
            step(Step.MENU, self.press_a_button, rules=FACILITATORS_ONLY),
            step(Step.AUDIENCE, self.audience_given, rules=FACILITATORS_ONLY),
            step(Step.CLOSING, self.closing_given, rules=FACILITATORS_ONLY),
            step(Step.CONFIRM, self.press_a_button, rules=FACILITATORS_ONLY),
            step(Step.ANSWER, self.text_answer_given),
        )

    def _button(self, label: str, action: Press, survey_id: int, arg: str = "", short: str = "") -> Button:
        """A button on a survey's messages: the same for everyone, so the survey (and what the
        button answers) is its arg, "survey-position-value"."""
        return Button(label, self.codec.encode(action, 0, "-".join(str(part) for part in (survey_id, arg) if part != "")),
                      short=short)

    # --- writing a survey ---------------------------------------------------------------------

    async def survey_command(self, turn: Turn, args: str) -> None:
        words = args.split()
        if words and words[0].casefold() in ("close", "fermer", "cerrar", "fechar"):
            await self._close_command(turn, words[1:])
            return
        if words:
            number = parse_number(words[0])
            if number is None:
                await turn.refuse(Refusal("Send /survey for a survey of its own, /survey 3 for event #3's survey, or "
                                          "/survey close 4."))
                return
            await self.start_for_event(turn, number)
            return
        await turn.ask(Step.TITLE, [turn.t("A new survey. What is its title?")], label=turn.t("Title"))

    async def start_for_event(self, turn: Turn, event_id: int) -> None:
        event = await self.events.get(event_id)
        if event is None:
            await turn.refuse(Refusal("There is no event with that number. Send /events to see what is coming."))
            return
        existing = await self.surveys.of_event(event_id)
        if existing is not None and existing.state is not SurveyState.DRAFT:
            await turn.refuse(Refusal("Event #{event} already has survey #{number}: /results {number}",
                                      {"event": event_id, "number": existing.id}))
            return
        survey = existing or await self.surveys.create(event.title, event_id, turn.member.id, turn.now)
        await self.menu(turn, survey)

    async def title_given(self, turn: Turn, text: str, data: dict) -> None:
        title = " ".join(text.split())
        if not title or len(title) > MAX_TITLE:
            await turn.refuse(Refusal("Please send a title of at most {limit} characters.", {"limit": MAX_TITLE}))
            return
        survey = await self.surveys.create(title, None, turn.member.id, turn.now)
        await self.menu(turn, survey)

    async def menu(self, turn: Turn, survey: Survey) -> None:
        """What the survey holds so far, and what to add."""
        await turn.wait_for(Step.MENU, survey=survey.id)
        t, member = turn.t, turn.member
        parts: list[Part] = [bold(t("Survey #{number}: {title}", number=survey.id, title=survey.title))]
        for question in survey.questions:
            parts += ["\n", f"{question.position}. ", question.text, " ", _kind_note(t, question)]
        parts += ["\n\n", t("Add a question, or press Done.") if survey.questions else t("Add the first question.")]
        rows = [[turn.button(t("A 1–5 rating"), Press.ADD, member.id, Kind.LIKERT.value)],
                [turn.button(t("A choice"), Press.ADD, member.id, Kind.CHOICE.value)]]
        if not any(question.kind is Kind.TEXT for question in survey.questions):
            rows.append([turn.button(t("A free-text question"), Press.ADD, member.id, Kind.TEXT.value,
                                     short=t("Free text"))])
        rows.append([turn.button(t("Done"), Press.DONE, member.id, style=Style.PRIMARY),
                     turn.button(t("Discard"), Press.DISCARD, member.id, style=Style.DANGER)])
        await turn.say(*parts, buttons=rows)

    async def _draft(self, turn: Turn, steps: Sequence[Step]) -> tuple[Survey, dict] | None:
        conversation = await turn.waiting()
        if conversation is None or conversation.step not in steps:
            await turn.refuse(Refusal("That question was already answered."))
            return None
        survey = await self.surveys.get(int(conversation.data.get("survey", 0)))
        if survey is None or survey.state is not SurveyState.DRAFT:
            await turn.stop_waiting()
            await turn.refuse(Refusal("This survey was already sent or discarded."))
            return None
        return survey, conversation.data

    async def press_a_button(self, turn: Turn, text: str, data: dict) -> None:
        await turn.refuse(Refusal("Please choose one of the buttons, or send /cancel."))

    async def press_add(self, turn: Turn, kind_value: str) -> None:
        draft = await self._draft(turn, (Step.MENU,))
        if draft is None:
            return
        survey, _ = draft
        try:
            kind = Kind(kind_value)
        except ValueError:
            await turn.refuse(Refusal("This button is not valid. Send /help to see what you can do."))
            return
        refused = survey.can_add(kind)
        if refused is not None:
            await turn.refuse(refused)
            return
        t = turn.t
        question = {
            Kind.LIKERT: t("Write the statement members rate from 1 (strongly disagree) to 5 (strongly agree), for "
                           "example: The webinar was relevant to my work."),
            Kind.CHOICE: t("Write the question on the first line, then each option on its own line (two to six)."),
            Kind.TEXT: t("Write the open question, for example: What would you like the next webinar to cover?"),
        }[kind]
        await turn.ask(Step.QUESTION, [question], label=t("Question"), survey=survey.id, kind=kind.value)

    async def question_given(self, turn: Turn, text: str, data: dict) -> None:
        draft = await self._draft(turn, (Step.QUESTION,))
        if draft is None:
            return
        survey, _ = draft
        kind = Kind(data["kind"])
        refused = survey.can_add(kind)
        if refused is not None:
            await turn.refuse(refused)
            await self.menu(turn, survey)
            return
        if kind is Kind.CHOICE:
            written = choice_question(text)
            if isinstance(written, Refusal):
                await turn.refuse(written)
                return
            await self.surveys.add_question(survey.id, kind, written[0], written[1])
        else:
            question = question_text(text)
            if isinstance(question, Refusal):
                await turn.refuse(question)
                return
            await self.surveys.add_question(survey.id, kind, question)
        updated = await self.surveys.get(survey.id)
        assert updated is not None
        await self.menu(turn, updated)

    async def press_discard(self, turn: Turn, arg: str) -> None:
        draft = await self._draft(turn, (Step.MENU, Step.CONFIRM, Step.AUDIENCE, Step.CLOSING))
        if draft is None:
            return
        await self.surveys.discard(draft[0].id)
        await turn.stop_waiting()
        await turn.take_buttons_off_pressed()
        turn.notice = turn.t("Discarded")
        await turn.say(turn.t("The survey is discarded: nothing was sent."))

    async def press_done(self, turn: Turn, arg: str) -> None:
        draft = await self._draft(turn, (Step.MENU,))
        if draft is None:
            return
        survey, _ = draft
        t = turn.t
        if not survey.questions:
            await turn.refuse(Refusal("Add at least one question first."))
            return
        await turn.take_buttons_off_pressed()
        if survey.event_id is not None:
            await self._open_for_event(turn, survey)
            return
        await turn.wait_for(Step.AUDIENCE, survey=survey.id)
        member = turn.member
        await turn.say(t("Who should receive it?"), buttons=[
            [turn.button(t("Everyone"), Press.AUDIENCE, member.id, EVERYONE)],
            [turn.button(t("By country"), Press.AUDIENCE, member.id, "country"),
             turn.button(t("By topic"), Press.AUDIENCE, member.id, "topic")],
            [turn.button(t("By language"), Press.AUDIENCE, member.id, "language")]])

    async def _open_for_event(self, turn: Turn, survey: Survey) -> None:
        await turn.stop_waiting()
        await self.surveys.open(survey.id, f"event:{survey.event_id}", None)
        await self.audit.record(turn, Action.SURVEY, detail=f"#{survey.id} {survey.title}")
        t = turn.t
        event = await self.events.get(survey.event_id or 0)
        turn.notice = t("Saved.")
        if event is not None and event.followed_up_at is not None:  # the event is over: it goes now
            ids = [member_id for member_id, _ in await self.events.registrants(event.id)]
            count = await self.send_for_event(event.id, ids)
            await turn.say(t.plural("Survey #{number} was sent to {count} registrant.",
                                    "Survey #{number} was sent to {count} registrants.", count, number=survey.id))
            return
        await turn.say(t("Survey #{number} is ready: it goes to the registrants of event #{event} when it ends.",
                         number=survey.id, event=survey.event_id))

    async def press_audience(self, turn: Turn, by: str) -> None:
        draft = await self._draft(turn, (Step.AUDIENCE,))
        if draft is None:
            return
        survey, _ = draft
        t, member = turn.t, turn.member
        if by == EVERYONE:
            await self._ask_closing(turn, survey, EVERYONE)
        elif by == "language":
            await turn.say(t("Which language?"), buttons=[
                [turn.button(native_name(code), Press.AUDIENCE_LANGUAGE, member.id, code)] for code in self.languages])
        elif by in AUDIENCES:
            question = t("Which country? For example: Kenya") if by == "country" else t(
                "Which topic? For example: social protection")
            await turn.ask(Step.AUDIENCE, [question], label=t("Country") if by == "country" else t("Topic"),
                           survey=survey.id, by=by)
        else:
            await turn.refuse(Refusal("This button is not valid. Send /help to see what you can do."))

    async def press_audience_language(self, turn: Turn, code: str) -> None:
        draft = await self._draft(turn, (Step.AUDIENCE,))
        if draft is None:
            return
        if code not in self.languages:
            await turn.refuse(Refusal("That language is not offered in this network."))
            return
        await self._ask_closing(turn, draft[0], f"language:{code}")

    async def audience_given(self, turn: Turn, text: str, data: dict) -> None:
        draft = await self._draft(turn, (Step.AUDIENCE,))
        if draft is None:
            return
        by = data.get("by")
        value = " ".join(text.split())[:60]
        if by == "language":
            code = language_from_text(value, self.languages, turn.t)
            if code is None:
                await turn.refuse(Refusal("Please choose one of the buttons."))
                return
            value = code
        if by not in AUDIENCES or not value:
            await turn.refuse(Refusal("Please choose one of the buttons."))
            return
        await self._ask_closing(turn, draft[0], f"{by}:{value}")

    async def _ask_closing(self, turn: Turn, survey: Survey, audience: str) -> None:
        recipients = await self._audience(audience)
        if not recipients:
            await turn.refuse(Refusal("No member matches that: choose again."))
            return
        t = turn.t
        await turn.ask(Step.CLOSING, [t.plural("It goes to {count} member.", "It goes to {count} members.",
                                               len(recipients)), " ",
                                      t("How long may members answer? For example: 7d or 14d. Or press Skip, and "
                                        "close it yourself with /survey close {number}.", number=survey.id)],
                       label=t("Open for"), survey=survey.id, audience=audience,
                       buttons=[[turn.button(t("Skip"), Press.SKIP_CLOSING, turn.member.id)]])

    async def closing_given(self, turn: Turn, text: str, data: dict) -> None:
        draft = await self._draft(turn, (Step.CLOSING,))
        if draft is None:
            return
        seconds = parse_duration(text)
        if isinstance(seconds, Refusal):
            await turn.refuse(Refusal("Please write how long it stays open, like 7d or 14d, or press Skip."))
            return
        await self._confirm(turn, draft[0], data["audience"], turn.now + seconds)

    async def press_skip_closing(self, turn: Turn, arg: str) -> None:
        draft = await self._draft(turn, (Step.CLOSING,))
        if draft is not None:
            await self._confirm(turn, draft[0], draft[1]["audience"], None)

    async def _confirm(self, turn: Turn, survey: Survey, audience: str, closes_at: float | None) -> None:
        await turn.wait_for(Step.CONFIRM, survey=survey.id, audience=audience, closes_at=closes_at)
        recipients = await self._audience(audience)
        t, member = turn.t, turn.member
        parts: list[Part] = [bold(t("Survey #{number}: {title}", number=survey.id, title=survey.title)), "\n",
                             t.plural("{count} question", "{count} questions", len(survey.questions)), " · ",
                             t.plural("to {count} member", "to {count} members", len(recipients)), " · ",
                             t("closes on {day}", day=t.date(closes_at, member.timezone)) if closes_at
                             else t("open until you close it"), "\n\n", t("Send it now?")]
        await turn.say(*parts, buttons=[[turn.button(t("Send"), Press.SEND, member.id, style=Style.PRIMARY),
                                         turn.button(t("Discard"), Press.DISCARD, member.id, style=Style.DANGER)]])

    async def press_send(self, turn: Turn, arg: str) -> None:
        draft = await self._draft(turn, (Step.CONFIRM,))
        if draft is None:
            await turn.take_buttons_off_pressed()
            return
        survey, data = draft
        recipients = await self._audience(data["audience"])
        closes_at = data.get("closes_at")
        await self.surveys.open(survey.id, data["audience"], float(closes_at) if closes_at else None)
        await turn.stop_waiting()
        await turn.take_buttons_off_pressed()
        opened = await self.surveys.get(survey.id)
        assert opened is not None
        await self.deliver(opened, [r for r in recipients if r.member_id != turn.member.id])
        await self.audit.record(turn, Action.SURVEY, detail=f"#{survey.id} {survey.title} ({data['audience']})")
        t = turn.t
        turn.notice = t("Sent")
        await turn.say(t.plural("Survey #{number} was sent to {count} member.",
                                "Survey #{number} was sent to {count} members.", len(recipients), number=survey.id),
                       " ", t("See the answers with /results {number}.", number=survey.id))

    async def _audience(self, audience: str) -> list[Recipient]:
        if audience == EVERYONE:
            return await self.members.recipients(instant_only=False)
        by, _, value = audience.partition(":")
        if by not in AUDIENCES:
            return []
        chosen = await self.members.listing(status="active", limit=1_000_000, **{by: value})
        return await self.members.recipients(member_ids=[member.id for member in chosen])

    # --- sending and answering ----------------------------------------------------------------

    async def survey_number(self, event_id: int) -> int | None:
        survey = await self.surveys.of_event(event_id)
        return survey.id if survey is not None else None

    async def send_for_event(self, event_id: int, member_ids: Sequence[int]) -> int:
        """The event's survey, if it has an open one, to these registrants; how many got it."""
        survey = await self.surveys.of_event(event_id)
        if survey is None or not survey.is_open(self.clock.now()):
            return 0
        recipients = await self.members.recipients(member_ids=list(member_ids))
        await self.deliver(survey, recipients)
        return len(recipients)

    async def deliver(self, survey: Survey, recipients: Sequence[Recipient]) -> None:
        """An opening message, then each question with its buttons."""
        template = lambda t: TemplateHint(survey.title[:60], self._button(t("Answer"), Press.SHOW, survey.id))  # noqa: E731
        await self.messenger.send(recipients, lambda t: self._opening(t, survey), Purpose.BROADCAST,
                                  template=template)
        for question in survey.questions:
            await self.messenger.send(recipients, lambda t, question=question: self.question_message(  # type: ignore[misc]
                t, survey, question), Purpose.BROADCAST)
        log.info("survey %s sent to %s members", survey.id, len(recipients))

    def _opening(self, t: Translator, survey: Survey) -> Message:
        count = len(survey.questions)
        return compose(bold(t("Survey: {title}", title=survey.title)), "\n",
                       t.plural("{count} short question: one tap each. You can change an answer until the survey "
                                "closes.", "{count} short questions: one tap each. You can change an answer until "
                                "the survey closes.", count), title=survey.title)

    def question_message(self, t: Translator, survey: Survey, question: Question) -> Message:
        parts: list[Part] = [f"{question.position}/{len(survey.questions)} ", bold(question.text)]
        if question.kind is Kind.LIKERT:
            parts += ["\n", t("1 = strongly disagree, 5 = strongly agree")]
            rows = [[self._button(str(value), Press.ANSWER, survey.id, f"{question.position}-{value}")
                     for value in range(1, 6)]]
        elif question.kind is Kind.CHOICE:
            rows = [[self._button(option, Press.ANSWER, survey.id, f"{question.position}-{index}")]
                    for index, option in enumerate(question.options)]
        else:
            rows = [[self._button(t("Write my answer"), Press.WRITE, survey.id, str(question.position))]]
        return compose(*parts, buttons=rows, title=survey.title)

    async def _open_survey(self, turn: Turn, survey_id: int) -> Survey | None:
        survey = await self.surveys.get(survey_id)
        if survey is None:
            await turn.refuse(NO_SUCH_SURVEY)
            return None
        closed = survey.accepts_answers(turn.now)
        if closed is not None:
            await turn.refuse(closed)
            return None
        return survey

    async def press_answer(self, turn: Turn, arg: str) -> None:
        survey_id, position, value = (arg.split("-") + ["", "", ""])[:3]
        survey = await self._open_survey(turn, int(survey_id) if survey_id.isdigit() else 0)
        if survey is None:
            return
        question = survey.question(int(position)) if position.isdigit() else None
        checked = check_answer(question, int(value) if value.isdigit() else None, None) if question else None
        if question is None or checked is None or isinstance(checked, Refusal):
            await turn.refuse(checked if isinstance(checked, Refusal) else
                              Refusal("This button is not valid. Send /help to see what you can do."))
            return
        changed = await self.surveys.answer(survey.id, question.position, turn.member.id, int(checked), None, turn.now)
        t = turn.t
        shown = str(checked) if question.kind is Kind.LIKERT else question.options[int(checked)]
        turn.notice = t("Changed to {answer}", answer=shown) if changed else t("Saved: {answer}", answer=shown)
        if not turn.capabilities.can_toast:
            await turn.say(turn.notice)

    async def press_write(self, turn: Turn, arg: str) -> None:
        survey_id, _, position = arg.partition("-")
        survey = await self._open_survey(turn, int(survey_id) if survey_id.isdigit() else 0)
        if survey is None:
            return
        question = survey.question(int(position)) if position.isdigit() else None
        if question is None or question.kind is not Kind.TEXT:
            await turn.refuse(Refusal("This button is not valid. Send /help to see what you can do."))
            return
        t = turn.t
        await turn.ask(Step.ANSWER, [bold(question.text), "\n", t("Write your answer in your next message.")],
                       label=t("Your answer"), survey=survey.id, position=question.position)

    async def text_answer_given(self, turn: Turn, text: str, data: dict) -> None:
        survey = await self._open_survey(turn, int(data.get("survey", 0)))
        if survey is None:
            await turn.stop_waiting()
            return
        question = survey.question(int(data.get("position", 0)))
        if question is None:
            await turn.stop_waiting()
            await turn.refuse(NO_SUCH_SURVEY)
            return
        checked = check_answer(question, None, text)
        if isinstance(checked, Refusal):
            await turn.refuse(checked)
            return
        await self.surveys.answer(survey.id, question.position, turn.member.id, None, str(checked), turn.now)
        await turn.stop_waiting()
        await turn.say(turn.t("Thank you: your answer is saved. You can change it until the survey closes."))

    async def press_show(self, turn: Turn, arg: str) -> None:
        survey = await self._open_survey(turn, int(arg) if arg.isdigit() else 0)
        if survey is None:
            return
        await turn.show(self._opening(turn.t, survey))
        for question in survey.questions:
            await turn.show(self.question_message(turn.t, survey, question))

    # --- closing and results --------------------------------------------------------------

    async def _close_command(self, turn: Turn, words: list[str]) -> None:
        number = parse_number(words[0]) if len(words) == 1 else None
        survey = await self.surveys.get(number) if number is not None else None
        if survey is None:
            await turn.refuse(Refusal("Send /survey close and the survey's number: /survey close 4"))
            return
        if not await self.surveys.close(survey.id):
            await turn.refuse(Refusal("Survey #{number} is not open.", {"number": survey.id}))
            return
        await self.audit.record(turn, Action.SURVEY_CLOSED, detail=f"#{survey.id} {survey.title}")
        respondents = len({answer.respondent for answer in await self.surveys.answers(survey.id)})
        await turn.say(turn.t.plural("Survey #{number} is closed, with answers from {count} person.",
                                     "Survey #{number} is closed, with answers from {count} people.", respondents,
                                     number=survey.id), " ", turn.t("See them with /results {number}.",
                                                                     number=survey.id))

    async def close_due(self) -> int:
        """Close the surveys whose closing date passed."""
        closed = 0
        for survey_id in await self.surveys.closing_due(self.clock.now()):
            if await self.surveys.close(survey_id):
                closed += 1
                log.info("survey %s closed at its closing date", survey_id)
        return closed

    async def results(self, survey: Survey) -> tuple[list[QuestionResult], int]:
        """Each question's figures, and how many people answered at all."""
        answers = await self.surveys.answers(survey.id)
        results = []
        for question in survey.questions:
            mine = [answer for answer in answers if answer.position == question.position]
            results.append(tally(question, [a.value for a in mine], [a.text for a in mine]))
        return results, len({answer.respondent for answer in answers})

    async def results_command(self, turn: Turn, args: str) -> None:
        words = args.split()
        number = parse_number(words[0]) if words else None
        survey = await self.surveys.get(number) if number is not None else None
        if survey is None or len(words) > 2 or (len(words) == 2 and words[1].casefold() != "csv"):
            await turn.refuse(Refusal("Send /results and the survey's number: /results 4, or /results 4 csv"))
            return
        t = turn.t
        if len(words) == 2:
            data = results_csv(survey, await self.surveys.answers(survey.id)).encode("utf-8")
            await turn.show(Message((Span(t("The answers to survey #{number}, as a CSV file.", number=survey.id)),),
                                    document=Document(f"survey-{survey.id}.csv", "text/csv", data)))
            return
        results, respondents = await self.results(survey)
        parts: list[Part] = [bold(t("Results of survey #{number}: {title}", number=survey.id, title=survey.title)),
                             "\n", t.plural("{count} person answered.", "{count} people answered.", respondents)]
        if survey.state is SurveyState.OPEN and survey.is_open(turn.now):
            parts += [" ", t("The survey is still open.")]
        for result in results:
            parts += ["\n\n", bold(f"{result.question.position}. {result.question.text}"), "\n",
                      *_figures(t, result)]
        chart = await asyncio.to_thread(survey_chart, survey.title, results)
        document = Document(f"survey-{survey.id}.png", "image/png", chart) if chart else None
        await turn.show(Message(compose(*parts).spans, title=survey.title, document=document))


def _figures(t: Translator, result: QuestionResult) -> list[Part]:
    parts: list[Part] = [t.plural("{count} answer", "{count} answers", result.answers)]
    if result.question.kind is Kind.LIKERT and result.answers:
        assert result.agreeing is not None and result.mean is not None
        parts += [" · ", t("{percent}% agreed or strongly agreed", percent=percent(result.agreeing)),
                  " · ", t("mean {mean}", mean=t.number(round(result.mean, 1)))]
        parts += ["\n", "  ".join(f"{value}: {count}" for value, count in result.distribution.items())]
    elif result.question.kind is Kind.CHOICE:
        for index, option in enumerate(result.question.options):
            count = result.distribution.get(index, 0)
            share = percent(count / result.answers) if result.answers else 0
            parts += ["\n", f"{option}: {count} ({share}%)"]
    else:
        for text in result.texts:
            parts += ["\n", "— ", text]
    return parts


def _kind_note(t: Translator, question: Question) -> str:
    if question.kind is Kind.LIKERT:
        return t("(rated 1–5)")
    if question.kind is Kind.CHOICE:
        return "(" + " / ".join(question.options) + ")"
    return t("(free text)")


def results_csv(survey: Survey, answers: Sequence[Answer]) -> str:
    """One row per answer; respondents numbered in the order they first answered, never named."""
    numbers: dict[str, int] = {}
    for answer in sorted(answers, key=lambda a: (a.answered_at, a.respondent)):
        numbers.setdefault(answer.respondent, len(numbers) + 1)
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(["survey", "title", "question", "kind", "question_text", "respondent", "value", "answer",
                     "answered_at"])
    questions = {question.position: question for question in survey.questions}
    for answer in sorted(answers, key=lambda a: (a.position, numbers[a.respondent])):
        question = questions.get(answer.position)
        if question is None:
            continue
        if question.kind is Kind.CHOICE and answer.value is not None and answer.value < len(question.options):
            said = question.options[answer.value]
        elif question.kind is Kind.LIKERT:
            said = str(answer.value)
        else:
            said = answer.text or ""
        writer.writerow([survey.id, survey.title, question.position, question.kind.value, question.text,
                         f"R{numbers[answer.respondent]}", "" if answer.value is None else answer.value, said,
                         datetime.fromtimestamp(answer.answered_at, timezone.utc).isoformat(timespec="seconds")])
    return output.getvalue()
