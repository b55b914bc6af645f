"""Sharing a good practice with /practice: a short conversation in the chat (title, summary,
countries, status and themes with buttons, then SDGs, who implements it and its source, which
can be skipped), a summary to Submit or Cancel, and the practice goes to the facilitators.

Each answer is checked as it comes, with a clear word when it cannot be used; the answers so
far live in the conversation state, so a restart in the middle loses nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Sequence

from bot.domain.practices import (
    MAX_ENTITIES, MAX_ORGANIZATION, STATUS_WORDS, Practice, PracticeDraft, State, Status, check_draft, clean_link,
    clean_summary, clean_text, clean_title, parse_countries, parse_sdgs, parse_status, parse_themes,
)
from bot.domain.refusal import Refusal
from bot.ports import Button, Style
from bot.services.cards import Cards
from bot.services.language import LanguageDetection
from bot.services.messaging import Part, bold, compose
from bot.services.practices import Command, Countries, Practices, PracticeStore, Taxonomy
from bot.services.routes import Arguments, Route, command, personal_button, step
from bot.services.rules import IN_PRIVATE, IS_OWNER, NOT_LEFT, NOT_MUTED
from bot.services.turn import Turn
from bot.texts.catalog import Translator

log = logging.getLogger(__name__)

CHOSEN = "✓ "
WAITING_PRACTICES = 5  # how many of one member's practices may wait for the facilitators


class Step(StrEnum):
    TITLE = "practice.title"
    SUMMARY = "practice.summary"
    COUNTRIES = "practice.countries"
    STATUS = "practice.status"
    THEMES = "practice.themes"
    SDGS = "practice.sdgs"
    ENTITIES = "practice.entities"
    ORGANIZATION = "practice.organization"
    LINK = "practice.link"
    CONFIRM = "practice.confirm"

    @property
    def key(self) -> str:
        return self.value.split(".", 1)[1]


ORDER = tuple(Step)
OPTIONAL = (Step.SDGS, Step.ENTITIES, Step.ORGANIZATION, Step.LINK)


class Press(StrEnum):
    STATUS = "gps"
    THEME = "gpt"
    THEMES_DONE = "gpd"
    SKIP = "gpk"
    SUBMIT = "gpu"
    CANCEL = "gpc"


ALREADY_DONE = Refusal("That good practice was already sent or cancelled.")


@dataclass(eq=False)
class PracticeForm:
    practices: Practices
    store: PracticeStore
    cards: Cards
    taxonomy: Taxonomy
    countries: Countries
    detector: LanguageDetection
    languages: tuple[str, ...]
    default_language: str
    statuses: dict[str, Status]

    def routes(self) -> Sequence[Route]:
        sharing = (NOT_LEFT, IS_OWNER, NOT_MUTED)
        return (
            command(Command.PRACTICE, self.practice_command,
                    "Share a good practice with the network; /practice 12 reads one",
                    rules=(IN_PRIVATE, NOT_LEFT), arguments=Arguments.NUMBER),
            personal_button(Press.STATUS, self.press_status, rules=sharing),
            personal_button(Press.THEME, self.press_theme, rules=sharing),
            personal_button(Press.THEMES_DONE, self.press_themes_done, rules=sharing),
            personal_button(Press.SKIP, self.press_skip, rules=sharing),
            personal_button(Press.SUBMIT, self.press_submit, rules=sharing),
            personal_button(Press.CANCEL, self.press_cancel),
            *(step(each, partial(self.answer, each), rules=(NOT_LEFT, NOT_MUTED)) for each in Step),
        )

    async def practice_command(self, turn: Turn, args: str) -> None:
        number = args.strip().lstrip("#")
        if number:
            if not number.isdigit():
                await turn.refuse(Refusal("Send /practice alone to share a good practice, or /practice and a "
                                          "number to read one, for example: /practice 12"))
                return
            await self.practices.show(turn, int(number))
            return
        if turn.member.muted_reason is not None:
            await turn.refuse(Refusal("The facilitators have paused your questions and replies: {reason}",
                                      {"reason": turn.member.muted_reason}))
            return
        conversation = await turn.waiting()
        if conversation is not None and conversation.step in {each.value for each in Step}:
            data = {key: value for key, value in conversation.data.items() if key != "form"}
            await self.ask_step(turn, Step(conversation.step), data)
            return
        t = turn.t
        await turn.say(t("Let us share a good practice: something that worked, or a promising idea, that others in "
                         "the network can learn from. A few short questions; the facilitators look at it before it "
                         "is shared. Send /cancel to stop at any time."))
        await self.ask_step(turn, Step.TITLE, {})

    # --- asking ---------------------------------------------------------------------------

    async def ask_step(self, turn: Turn, at: Step, data: dict) -> None:
        t = turn.t
        me = turn.member.id
        cancel = turn.button(t("Cancel"), Press.CANCEL, me)
        skip_row = [turn.button(t("Skip"), Press.SKIP, me, at.key), cancel]
        if at is Step.STATUS:
            await turn.wait_for(at, **data)
            await turn.say(t("Where does it stand?"), buttons=[
                [turn.button(t(STATUS_WORDS[status]), Press.STATUS, me, status.value) for status in Status], [cancel]])
            return
        if at is Step.THEMES:
            await turn.wait_for(at, **data)
            await turn.say(*self._themes_question(t, data), buttons=self._theme_buttons(turn, data))
            return
        if at is Step.CONFIRM:
            await turn.wait_for(at, **data)
            await self._confirm(turn, data)
            return
        questions = {
            Step.TITLE: (t("What is the practice called? A short title, for example: Cash transfers that keep "
                           "girls in school in northern Ghana"), t("Title")),
            Step.SUMMARY: (t("Describe it in a few sentences: what was done, for whom, and what came of it."),
                           t("Summary")),
            Step.COUNTRIES: (t("In which countries? Separate them with commas, for example: Ghana, Togo"),
                             t("Countries")),
            Step.SDGS: (t("Which Sustainable Development Goals does it serve? Send their numbers, the main one "
                          "first, for example: 1 4"), t("SDGs")),
            Step.ENTITIES: (t("Who implements it? The organizations or agencies, separated by commas."),
                            t("Implemented by")),
            Step.ORGANIZATION: (t("Which organization documented it, as the source?"), t("Source")),
            Step.LINK: (t("A link where one can read more (an address starting with https://)?"), t("Link")),
        }
        question, label = questions[at]
        await turn.ask(at, [question], label=label, buttons=[skip_row] if at in OPTIONAL else [[cancel]], **data)

    def _themes_question(self, t: Translator, data: dict) -> list[Part]:
        chosen = data.get("themes", [])
        parts: list[Part] = [t("Which themes is it about? Press each one that fits, then Done; or send their "
                               "numbers, for example: 2 5")]
        for index, theme in enumerate(self.taxonomy.themes, 1):
            parts += ["\n", f"{index}. {CHOSEN if theme in chosen else ''}{t(theme)}"]
        return parts

    def _theme_buttons(self, turn: Turn, data: dict) -> list[list[Button]]:
        t, me = turn.t, turn.member.id
        chosen = data.get("themes", [])
        room = max(turn.capabilities.max_buttons - 1, 0)
        buttons = []
        for index, theme in enumerate(self.taxonomy.themes[:room]):
            mark = CHOSEN if theme in chosen else ""
            short = self.taxonomy.short(t, theme)
            buttons.append(Button(mark + t(theme), turn.codec.encode(Press.THEME, me, str(index)),
                                  short=(mark + short) if short else ""))
        rows = [buttons[index:index + 2] for index in range(0, len(buttons), 2)]
        rows.append([turn.button(t("Done"), Press.THEMES_DONE, me, style=Style.PRIMARY)])
        return rows

    async def _confirm(self, turn: Turn, data: dict) -> None:
        t, me = turn.t, turn.member.id
        practice = _practice(data)
        parts: list[Part] = [t("Here is your good practice:"), "\n\n", bold(practice.title), "\n"]
        parts += [f"{label}: {value}\n" for label, value in self.practices.fields(t, practice)]
        parts += ["\n", practice.summary, "\n\n",
                  t("Shall I send it to the facilitators? Once they approve it, members find it with /practices "
                    "and /search.")]
        await turn.say(*parts, buttons=[[turn.button(t("Submit"), Press.SUBMIT, me, style=Style.PRIMARY),
                                         turn.button(t("Cancel"), Press.CANCEL, me)]])

    # --- answers --------------------------------------------------------------------------

    async def answer(self, at: Step, turn: Turn, text: str, data: dict) -> None:
        """The member's text while the form waits for `at`."""
        data = {key: value for key, value in data.items() if key != "form"}
        value: object
        if at is Step.TITLE:
            value = clean_title(text)
        elif at is Step.SUMMARY:
            value = clean_summary(text)
        elif at is Step.COUNTRIES:
            value = parse_countries(text, self.countries.lookup)
        elif at is Step.STATUS:
            status = parse_status(text, self.statuses)
            value = status.value if status else Refusal("Please choose one of the buttons.")
        elif at is Step.THEMES:
            value = parse_themes(text, self.taxonomy.themes, self.taxonomy.names)
        elif at is Step.SDGS:
            value = parse_sdgs(text)
        elif at is Step.ENTITIES:
            value = clean_text(text, MAX_ENTITIES)
        elif at is Step.ORGANIZATION:
            value = clean_text(text, MAX_ORGANIZATION)
        elif at is Step.LINK:
            value = clean_link(text)
        else:
            value = Refusal("Please choose one of the buttons.")
        if isinstance(value, Refusal):
            log.info("member %s: answer to %s refused (%s)", turn.member.id, at.value, value.reason[:40])
            await turn.refuse(value)
            return
        data[at.key] = list(value) if isinstance(value, tuple) else value
        await self._next(turn, at, data)

    async def _next(self, turn: Turn, done: Step, data: dict) -> None:
        await self.ask_step(turn, ORDER[ORDER.index(done) + 1], data)

    async def _at(self, turn: Turn, wanted: Step | None = None) -> tuple[Step, dict] | None:
        """Where the form stands, when it is at `wanted` (or anywhere in it); else the person is told."""
        conversation = await turn.waiting()
        steps = {each.value for each in Step}
        if conversation is None or conversation.step not in steps or (wanted and conversation.step != wanted):
            await turn.refuse(ALREADY_DONE if conversation is None or conversation.step not in steps
                              else Refusal("That question was already answered."))
            return None
        return Step(conversation.step), {k: v for k, v in conversation.data.items() if k != "form"}

    async def press_status(self, turn: Turn, arg: str) -> None:
        at = await self._at(turn, Step.STATUS)
        if at is None or arg not in {status.value for status in Status}:
            return
        _, data = at
        data["status"] = arg
        turn.notice = turn.t(STATUS_WORDS[Status(arg)])
        await turn.take_buttons_off_pressed()
        await self._next(turn, Step.STATUS, data)

    async def press_theme(self, turn: Turn, arg: str) -> None:
        at = await self._at(turn, Step.THEMES)
        if at is None or not arg.isdigit() or int(arg) >= len(self.taxonomy.themes):
            return
        _, data = at
        theme = self.taxonomy.themes[int(arg)]
        chosen = list(data.get("themes", []))
        if theme in chosen:
            chosen.remove(theme)
        else:
            chosen.append(theme)
        data["themes"] = chosen
        await turn.wait_for(Step.THEMES, **data)
        turn.notice = (CHOSEN if theme in chosen else "") + turn.t(theme)
        await self.cards.show_to_presser(turn, compose(*self._themes_question(turn.t, data),
                                                       buttons=self._theme_buttons(turn, data)))

    async def press_themes_done(self, turn: Turn, arg: str) -> None:
        at = await self._at(turn, Step.THEMES)
        if at is None:
            return
        _, data = at
        if not data.get("themes"):
            await turn.refuse(Refusal("Choose at least one theme."))
            return
        await turn.take_buttons_off_pressed()
        await self._next(turn, Step.THEMES, data)

    async def press_skip(self, turn: Turn, arg: str) -> None:
        at = await self._at(turn)
        if at is None:
            return
        current, data = at
        if current.key != arg or current not in OPTIONAL:
            await turn.refuse(Refusal("That question was already answered."))
            return
        data.pop(current.key, None)
        await self._next(turn, current, data)

    async def press_submit(self, turn: Turn, arg: str) -> None:
        at = await self._at(turn, Step.CONFIRM)
        if at is None:
            await turn.take_buttons_off_pressed()
            return
        _, data = at
        waiting = [p for p in await self.store.submitted_by(turn.member.id) if p.state is State.SUBMITTED]
        if len(waiting) >= WAITING_PRACTICES:
            await turn.refuse(Refusal("{count} of your good practices are waiting for the facilitators already: "
                                      "this one can be submitted once they have looked at them.",
                                      {"count": len(waiting)}))
            return
        practice = _practice(data)
        draft = check_draft(PracticeDraft(
            title=practice.title, summary=practice.summary, countries=practice.countries, status=practice.status,
            themes=practice.themes, implementing_entities=practice.implementing_entities,
            primary_sdg=practice.primary_sdg, secondary_sdgs=practice.secondary_sdgs,
            source_organization=practice.source_organization, source_link=practice.source_link,
            language=self.detector.detect(f"{practice.title}\n{practice.summary}", self.languages,
                                          turn.member.language or self.default_language)))
        if isinstance(draft, Refusal):  # each answer was checked as it came: a bug if this happens
            log.error("a checked good practice of member %s was refused: %s", turn.member.id, draft)
            await turn.refuse(draft)
            return
        created = await self.store.create(draft, turn.member.id, State.SUBMITTED, turn.now)
        await turn.stop_waiting()
        await turn.take_buttons_off_pressed()
        t = turn.t
        turn.notice = t("Sent to the facilitators")
        await turn.say(t("Thank you! Your good practice #{number} is with the facilitators. I will tell you when "
                         "it is approved.", number=created.id))
        await self.practices.submitted(created, turn.member)

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


def _practice(data: dict) -> Practice:
    """The answers so far, as a practice without a number (to show and to submit)."""
    goals = [int(goal) for goal in data.get("sdgs", [])]
    return Practice(
        id=0, title=data.get("title", ""), summary=data.get("summary", ""),
        countries=tuple(data.get("countries", [])), implementing_entities=data.get("entities", ""),
        status=Status(data.get("status", Status.ONGOING.value)), primary_sdg=goals[0] if goals else None,
        secondary_sdgs=tuple(goals[1:]), themes=tuple(data.get("themes", [])),
        source_organization=data.get("organization", ""), source_link=data.get("link", ""),
    )
