"""/event: a facilitator creates an event in a short guided conversation (title, description,
speakers, start with its time zone, duration, joining link or place, capacity, language),
sees it as members will, and publishes it or cancels. What was answered so far is kept in
the conversation state, so a restart in the middle loses nothing. `/event 3` shows the card
of event #3 instead."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Sequence

from bot.domain.events import (
    MAX_DESCRIPTION, MAX_SPEAKERS, MAX_TITLE, Event, clean_text, parse_capacity, parse_duration, parse_number,
    parse_start, parse_where,
)
from bot.domain.refusal import Refusal
from bot.ports import Button, Style
from bot.services.events import Events
from bot.services.messaging import Part
from bot.services.routes import Arguments, Audience, Route, command, personal_button, step
from bot.services.rules import IN_PRIVATE, IS_FACILITATOR, IS_OWNER, NOT_LEFT
from bot.services.turn import Turn
from bot.texts.catalog import language_from_text, native_name

FIELDS = ("title", "description", "speakers", "start", "duration", "where", "capacity", "language")
SKIPPABLE = ("description", "speakers", "capacity")


class Step(StrEnum):
    TITLE = "event.title"
    DESCRIPTION = "event.description"
    SPEAKERS = "event.speakers"
    START = "event.start"
    DURATION = "event.duration"
    WHERE = "event.where"
    CAPACITY = "event.capacity"
    LANGUAGE = "event.language"
    PREVIEW = "event.preview"

    @property
    def field(self) -> str:
        return self.value.split(".", 1)[1]


class Press(StrEnum):
    SKIP = "evs"
    LANGUAGE = "evl"
    PUBLISH = "evp"
    CANCEL = "evc"


class Command(StrEnum):
    EVENT = "event"


OWN_BUTTON = (NOT_LEFT, IS_FACILITATOR, IS_OWNER)
GONE = Refusal("That question was already answered.")


@dataclass(eq=False)
class EventForm:
    events: Events
    languages: tuple[str, ...]
    default_language: str

    def routes(self) -> Sequence[Route]:
        return (
            command(Command.EVENT, self.event_command, "Create an event (webinar or meeting), or see one: /event 3",
                    rules=(IN_PRIVATE, NOT_LEFT, IS_FACILITATOR), arguments=Arguments.NUMBER,
                    audience=Audience.FACILITATORS),
            personal_button(Press.SKIP, self.press_skip, rules=OWN_BUTTON),
            personal_button(Press.LANGUAGE, self.press_language, rules=OWN_BUTTON),
            personal_button(Press.PUBLISH, self.press_publish, rules=OWN_BUTTON),
            personal_button(Press.CANCEL, self.press_cancel, rules=OWN_BUTTON),
            *(step(each, partial(self.answer, each), rules=(NOT_LEFT, IS_FACILITATOR)) for each in Step),
        )

    async def event_command(self, turn: Turn, args: str) -> None:
        if args.strip():
            await self.events.event_card(turn, args)
            return
        t = turn.t
        await turn.say(t("A new event. I will ask for its title, description, speakers, start, duration, joining "
                         "link or place, number of places and language, then show it to you before it is sent. "
                         "Send /cancel to stop at any time."))
        await self.ask(turn, Step.TITLE, {})

    async def ask(self, turn: Turn, at: Step, data: dict) -> None:
        t, member = turn.t, turn.member
        skip = [[turn.button(t("Skip"), Press.SKIP, member.id, at.field)]] if at.field in SKIPPABLE else []
        if at is Step.LANGUAGE:
            await turn.wait_for(at, **data)
            rows = [[turn.button(native_name(code), Press.LANGUAGE, member.id, code)] for code in self.languages]
            await turn.say(t("In which language is the event?"), buttons=rows)
            return
        if at is Step.PREVIEW:
            await self.preview(turn, data)
            return
        questions = {
            "title": (t("What is the event's title?"), t("Title")),
            "description": (t("Describe the event in a few sentences."), t("Description")),
            "speakers": (t("Who are the speakers? For example: Dr Amina Diallo (UNICEF), Carlos Ruiz."), t("Speakers")),
            "start": (t("When does it start? Write the date, the time and the time zone, for example: "
                        "2026-12-15 14:00 Africa/Nairobi"), t("Start")),
            "duration": (t("How long does it last? For example: 90m, 2h or 1h30m."), t("Duration")),
            "where": (t("Where do people join? Send the joining link (https://…) or, for a meeting, the place."),
                      t("Link or place")),
            "capacity": (t("How many places are there? Send a number, or press Skip for no limit."), t("Places")),
        }
        question, label = questions[at.field]
        await turn.ask(at, [question], label=label, buttons=skip, **data)

    async def answer(self, at: Step, turn: Turn, text: str, data: dict) -> None:
        """The facilitator's text for the step the form is at."""
        value: object
        if at is Step.TITLE:
            value = clean_text(text, MAX_TITLE)
        elif at is Step.DESCRIPTION:
            value = clean_text(text, MAX_DESCRIPTION)
        elif at is Step.SPEAKERS:
            value = clean_text(text, MAX_SPEAKERS)
        elif at is Step.START:
            value = parse_start(text)
            if not isinstance(value, Refusal) and value[0] <= turn.now:
                value = Refusal("That moment has passed: please give a start in the future.")
        elif at is Step.DURATION:
            value = parse_duration(text)
        elif at is Step.WHERE:
            value = parse_where(text)
        elif at is Step.CAPACITY:
            value = parse_capacity(text)
        elif at is Step.LANGUAGE:
            value = language_from_text(text, self.languages, turn.t) or Refusal("Please choose one of the buttons.")
        else:
            await turn.refuse(Refusal("Please choose one of the buttons, or send /cancel."))
            return
        if isinstance(value, Refusal):
            await turn.refuse(value)  # the same step waits for a better answer
            return
        await self._store(turn, at, value, data)

    async def _store(self, turn: Turn, at: Step, value: object, data: dict) -> None:
        data = {key: item for key, item in data.items() if key != "form"}
        if at is Step.START:
            data["starts_at"], data["time_zone"] = value  # type: ignore[misc]
        elif at is Step.WHERE:
            data["link"], data["place"] = value  # type: ignore[misc]
        else:
            data[at.field] = value
        following = Step(f"event.{FIELDS[FIELDS.index(at.field) + 1]}") if at is not Step.LANGUAGE else Step.PREVIEW
        await self.ask(turn, following, data)

    async def _waiting_at(self, turn: Turn, field: str | None = None) -> tuple[Step, dict] | None:
        conversation = await turn.waiting()
        if conversation is None or not conversation.step.startswith("event.") \
                or conversation.step not in {each.value for each in Step}:
            await turn.refuse(GONE)
            return None
        at = Step(conversation.step)
        if field is not None and at.field != field:
            await turn.refuse(GONE)
            return None
        return at, conversation.data

    async def press_skip(self, turn: Turn, field: str) -> None:
        waiting = await self._waiting_at(turn, field)
        if waiting is not None and field in SKIPPABLE:
            at, data = waiting
            await self._store(turn, at, None if field == "capacity" else "", data)

    async def press_language(self, turn: Turn, code: str) -> None:
        waiting = await self._waiting_at(turn, "language")
        if waiting is None:
            return
        if code not in self.languages:
            await turn.refuse(Refusal("That language is not offered in this network."))
            return
        await self._store(turn, Step.LANGUAGE, code, waiting[1])

    def _event(self, turn: Turn, data: dict) -> Event:
        return Event(
            id=0, title=data["title"], description=data.get("description") or "", speakers=data.get("speakers") or "",
            starts_at=float(data["starts_at"]), time_zone=data["time_zone"], duration=float(data["duration"]),
            link=data.get("link") or "", place=data.get("place") or "", capacity=data.get("capacity"),
            language=data.get("language") or self.default_language, created_by=turn.member.id, created_at=turn.now,
        )

    async def preview(self, turn: Turn, data: dict) -> None:
        await turn.wait_for(Step.PREVIEW, **data)
        t, member = turn.t, turn.member
        event = self._event(turn, data)
        announcement = self.events.announcement(t, event, member.timezone)
        heading: list[Part] = [t("Here is the event as members will see it (each with the time in their own time "
                                 "zone). Publish it?"), "\n\n"]
        await turn.say(*heading, *announcement.spans, buttons=[
            [Button(t("Publish"), turn.codec.encode(Press.PUBLISH, member.id), Style.PRIMARY),
             Button(t("Cancel"), turn.codec.encode(Press.CANCEL, member.id))]])

    async def press_publish(self, turn: Turn, arg: str) -> None:
        waiting = await self._waiting_at(turn, "preview")
        if waiting is None:
            await turn.take_buttons_off_pressed()
            return
        event = self._event(turn, waiting[1])
        if event.starts_at <= turn.now:
            await turn.refuse(Refusal("That moment has passed: please give a start in the future."))
            await self.ask(turn, Step.START, waiting[1])
            return
        await turn.stop_waiting()
        await turn.take_buttons_off_pressed()
        await self.events.publish(turn, event)

    async def press_cancel(self, turn: Turn, arg: str) -> None:
        if await self._waiting_at(turn, "preview") is None:
            await turn.take_buttons_off_pressed()
            return
        await turn.stop_waiting()
        await turn.take_buttons_off_pressed()
        turn.notice = turn.t("Cancelled")
        await turn.say(turn.t("Cancelled: nothing was sent."))
