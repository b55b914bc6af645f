"""Events of the network (webinars, meetings): announced to every member with a Register
button; registration in one tap, confirmed with a calendar file (.ics); a waiting list once
the places are taken, which moves when someone cancels; reminders a day and an hour before,
each member reading the time in their own zone; and afterwards the attendance question, the
recording and the event's survey.

Reminders and the follow-up are found by a job every few seconds (and at start). Each is
marked sent in the transaction that queues its messages, so a restart neither loses nor
repeats one. Facilitators create events with /event (bot/services/event_form.py).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Callable, Protocol, Sequence

import icalendar

from bot.clock import Clock
from bot.domain.events import Event, Registration, Reminder, parse_link, parse_number
from bot.domain.members import Member
from bot.domain.refusal import Refusal
from bot.ports import Button, Document, Message, Purpose, Span, Style, TemplateHint
from bot.services.audit import Action, Audit
from bot.services.buttons import ButtonCodec
from bot.services.conversation import UnitOfWork
from bot.services.members import MemberStore, Recipient
from bot.services.messaging import Messenger, Part, bold, compose
from bot.services.outbox import Waker
from bot.services.routes import Arguments, Audience, Route, command, personal_button, step
from bot.services.rules import IN_PRIVATE, IS_FACILITATOR, NOT_LEFT
from bot.services.turn import Turn
from bot.texts.catalog import Translator

log = logging.getLogger(__name__)

LISTED = 10  # events shown by /events
DIGEST_EVENTS = 5  # coming events a digest reminds its reader of
FACILITATORS_ONLY = (NOT_LEFT, IS_FACILITATOR)
# A message whose times are said in one time zone; what a closed service window gets instead.
ComposeInZone = Callable[[Translator, str], Message]
ComposeHint = Callable[[Translator], TemplateHint]
NO_SUCH_EVENT = Refusal("There is no event with that number. Send /events to see what is coming.")


class EventStore(Protocol):
    async def create(self, event: Event) -> Event: ...

    async def get(self, event_id: int) -> Event | None: ...

    async def coming(self, now: float) -> list[Event]:
        """Events that have not ended, soonest first."""
        ...

    async def due(self, now: float) -> list[Event]: ...

    async def mark_reminded(self, event_id: int, reminder: Reminder, now: float) -> bool: ...

    async def mark_followed_up(self, event_id: int, now: float) -> bool: ...

    async def set_recording(self, event_id: int, link: str) -> None: ...

    async def registration(self, event_id: int, member_id: int) -> Registration | None: ...

    async def registrations_of(self, member_id: int, event_ids: Sequence[int]) -> dict[int, Registration]: ...

    async def set_registration(self, event_id: int, member_id: int, state: Registration, now: float) -> None: ...

    async def counts(self, event_id: int) -> tuple[int, int]:
        """(registered, waiting)."""
        ...

    async def place_in_line(self, event_id: int, member_id: int) -> int: ...

    async def first_waiting(self, event_id: int) -> int | None: ...

    async def registrants(self, event_id: int) -> list[tuple[int, str]]:
        """(member id, time zone) of each registered member."""
        ...

    async def time_zones(self, member_ids: Sequence[int]) -> dict[int, str]: ...

    async def set_attended(self, event_id: int, member_id: int, attended: bool) -> None: ...

    async def attendance(self, event_id: int) -> tuple[int, int]: ...


class EventSurveys(Protocol):
    """The surveys feature, as events see it: the survey of an event goes to its registrants
    when it ends, and a facilitator may start writing one from the event's card."""

    async def send_for_event(self, event_id: int, member_ids: Sequence[int]) -> int: ...

    async def start_for_event(self, turn: Turn, event_id: int) -> None: ...

    async def survey_number(self, event_id: int) -> int | None: ...


class Press(StrEnum):
    REGISTER = "er"
    CANCEL = "ec"
    SHOW = "es"  # a template's button: the event itself, once the member wrote
    ATTENDED = "ea"
    ADD_RECORDING = "erc"
    ADD_SURVEY = "esv"


class Step(StrEnum):
    RECORDING = "event.recording"


class Command(StrEnum):
    EVENTS = "events"
    RECORDING = "recording"


YES, NO = "y", "n"


@dataclass(eq=False)
class Events:
    events: EventStore
    members: MemberStore
    messenger: Messenger
    codec: ButtonCodec
    database: UnitOfWork
    waker: Waker
    clock: Clock
    audit: Audit
    community_name: str
    surveys: EventSurveys | None = None

    def routes(self) -> Sequence[Route]:
        return (
            command(Command.EVENTS, self.list_events, "Coming events: register or cancel"),
            command(Command.RECORDING, self.recording_command, "Add an event's recording: /recording 3 https://…",
                    rules=(IN_PRIVATE, *FACILITATORS_ONLY), arguments=Arguments.TEXT,
                    audience=Audience.FACILITATORS),
            # The same announcement goes to everyone: these buttons name the event, and act
            # for whoever presses them.
            personal_button(Press.REGISTER, self.press_register, rules=(NOT_LEFT,)),
            personal_button(Press.CANCEL, self.press_cancel, rules=(NOT_LEFT,)),
            personal_button(Press.SHOW, self.press_show, rules=(NOT_LEFT,)),
            personal_button(Press.ATTENDED, self.press_attended, rules=(NOT_LEFT,)),
            personal_button(Press.ADD_RECORDING, self.press_add_recording, rules=FACILITATORS_ONLY),
            personal_button(Press.ADD_SURVEY, self.press_add_survey, rules=FACILITATORS_ONLY),
            step(Step.RECORDING, self.recording_given, rules=FACILITATORS_ONLY),
        )

    def button(self, label: str, action: Press, event_id: int, arg: str = "", style: Style = Style.DEFAULT,
               short: str = "") -> Button:
        return Button(label, self.codec.encode(action, 0, f"{event_id}{arg}"), style, short)

    # --- announcing -------------------------------------------------------------------------

    async def publish(self, turn: Turn, event: Event) -> Event:
        """Store the event and announce it to every active member (but its author, who gets
        its card): inside the author's turn, so it is all sent or none of it."""
        created = await self.events.create(event)
        count = await self.announce(created, exclude=turn.member.id)
        await self.audit.record(turn, Action.EVENT, detail=f"#{created.id} {created.title}")
        log.info("event %s published and announced to %s members", created.id, count)
        t = turn.t
        turn.notice = t("Published")
        await turn.say(t.plural("Event #{number} is published and was sent to {count} member.",
                                "Event #{number} is published and was sent to {count} members.", count,
                                number=created.id))
        await self.show_card(turn, created)
        return created

    async def announce(self, event: Event, exclude: int | None = None) -> int:
        """The announcement, with Register, to every active member (digest readers too: an
        event has a date); returns how many."""
        recipients = await self.members.recipients(exclude=exclude, instant_only=False)
        return await self._send_by_zone(recipients, lambda t, zone: self.announcement(t, event, zone),
                                        Purpose.BROADCAST, template=lambda t: self._template(t, event))

    def announcement(self, t: Translator, event: Event, zone: str) -> Message:
        parts: list[Part] = [bold(event.title), "\n\n"]
        if event.description:
            parts += [event.description, "\n\n"]
        parts += self._details(t, event, zone)
        parts += ["\n", t("Language: {language}", language=t.language_name(event.language))]
        if event.capacity is not None:
            parts += ["\n", t.plural("{count} place", "{count} places", event.capacity)]
        return compose(*parts, buttons=[[self.button(t("Register"), Press.REGISTER, event.id, style=Style.PRIMARY)]],
                       title=event.title)

    def _details(self, t: Translator, event: Event, zone: str) -> list[Part]:
        parts: list[Part] = []
        if event.speakers:
            parts += [t("Speakers: {speakers}", speakers=event.speakers), "\n"]
        parts += [t("Starts: {when}", when=when(t, event.starts_at, zone)), "\n",
                  t("Duration: {duration}", duration=duration(t, event.duration))]
        if event.link:
            parts += ["\n", t("Join here: {link}", link=event.link)]
        if event.place:
            parts += ["\n", t("Place: {place}", place=event.place)]
        return parts

    # --- in a digest --------------------------------------------------------------------------

    async def gather(self, member: Member, since: float, now: float) -> Sequence[object]:
        """The coming events announced since the reader's last digest, with their time zone:
        once each, not every day until they start."""
        coming = [event for event in await self.events.coming(now)
                  if event.starts_at > now and event.created_at >= since][:DIGEST_EVENTS]
        return [(event, member.timezone) for event in coming]

    def parts(self, t: Translator, items: Sequence[object]) -> list[Part]:
        parts: list[Part] = [bold(t("Coming events"))]
        for event, zone in items:  # type: ignore[misc]
            parts += ["\n", f"• {event.title}: {when(t, event.starts_at, zone)}"]
        parts += ["\n", t("Send /events to register.")]
        return parts

    def _template(self, t: Translator, event: Event) -> TemplateHint:
        return TemplateHint(event.title[:60], self.button(t("See the event"), Press.SHOW, event.id))

    async def _send_by_zone(self, recipients: Sequence[Recipient], compose_in: ComposeInZone, purpose: Purpose,
                            template: ComposeHint | None = None) -> int:
        """One message to each recipient, the times in it said in their own time zone."""
        ids = [recipient.member_id for recipient in recipients if recipient.member_id is not None]
        zones = await self.events.time_zones(ids)
        by_zone: dict[str, list[Recipient]] = defaultdict(list)
        for recipient in recipients:
            by_zone[zones.get(recipient.member_id or 0, "UTC")].append(recipient)
        for zone, group in by_zone.items():
            await self.messenger.send(group, lambda t, zone=zone: compose_in(t, zone), purpose,  # type: ignore[misc]
                                      template=template)
        return len(recipients)

    # --- registering ------------------------------------------------------------------------

    async def _event_of(self, turn: Turn, arg: str) -> Event | None:
        number = parse_number(re.sub(r"[yn]$", "", arg))
        event = await self.events.get(number) if number is not None else None
        if event is None:
            await turn.refuse(NO_SUCH_EVENT)
        return event

    async def press_register(self, turn: Turn, arg: str) -> None:
        event = await self._event_of(turn, arg)
        if event is not None:
            await self.register(turn, event)

    async def register(self, turn: Turn, event: Event) -> None:
        t, member = turn.t, turn.member
        current = await self.events.registration(event.id, member.id)
        if current is Registration.REGISTERED:
            turn.notice = t("Already registered")
            await turn.say(t("You are already registered for “{title}”.", title=event.title))
            return
        if current is Registration.WAITING:
            place = await self.events.place_in_line(event.id, member.id)
            turn.notice = t("Already on the waiting list")
            await turn.say(t("You are already on the waiting list for “{title}”: number {place}.",
                             title=event.title, place=place))
            return
        closed = event.accepts_registrations(turn.now)
        if closed is not None:
            await turn.refuse(closed)
            return
        registered, _ = await self.events.counts(event.id)
        if event.is_full(registered):
            await self.events.set_registration(event.id, member.id, Registration.WAITING, turn.now)
            place = await self.events.place_in_line(event.id, member.id)
            turn.notice = t("On the waiting list")
            await turn.say(t("“{title}” is full: you are number {place} on the waiting list. I will tell you as soon "
                             "as a place opens.", title=event.title, place=place),
                           buttons=[[self.button(t("Leave the waiting list"), Press.CANCEL, event.id,
                                                 short=t("Leave the list"))]])
            return
        await self.events.set_registration(event.id, member.id, Registration.REGISTERED, turn.now)
        turn.notice = t("Registered")
        await turn.show(self.confirmation(t, event, member.timezone))
        log.info("member %s registered for event %s", member.id, event.id)

    def confirmation(self, t: Translator, event: Event, zone: str) -> Message:
        parts: list[Part] = [t("You are registered for “{title}”.", title=event.title), "\n\n"]
        parts += self._details(t, event, zone)
        parts += ["\n\n", t("The calendar file adds it to your calendar. I will remind you a day and an hour before.")]
        message = compose(*parts, buttons=[[self._cancel_button(t, event)]], title=event.title)
        return Message(message.spans, message.buttons, title=message.title,
                       document=calendar_file(event, self.community_name))

    def _cancel_button(self, t: Translator, event: Event) -> Button:
        return self.button(t("Cancel registration"), Press.CANCEL, event.id, short=t("Cancel"))

    async def press_cancel(self, turn: Turn, arg: str) -> None:
        event = await self._event_of(turn, arg)
        if event is None:
            return
        t, member = turn.t, turn.member
        current = await self.events.registration(event.id, member.id)
        if current not in (Registration.REGISTERED, Registration.WAITING):
            await turn.refuse(Refusal("You are not registered for this event."))
            return
        if event.has_ended(turn.now):
            await turn.refuse(Refusal("This event is over."))
            return
        await self.events.set_registration(event.id, member.id, Registration.CANCELLED, turn.now)
        turn.notice = t("Cancelled")
        if current is Registration.WAITING:
            await turn.say(t("You left the waiting list for “{title}”.", title=event.title))
            return
        await turn.say(t("Your registration for “{title}” is cancelled. Send /events to register again.",
                         title=event.title))
        if event.accepts_registrations(turn.now) is None:  # a place opens only before the start
            await self._move_waiting_list(event, turn.now)

    async def _move_waiting_list(self, event: Event, now: float) -> None:
        """A place opened: the first who waits has it, and is told, with the calendar file."""
        first = await self.events.first_waiting(event.id)
        registered, _ = await self.events.counts(event.id)
        if first is None or event.is_full(registered):
            return
        await self.events.set_registration(event.id, first, Registration.REGISTERED, now)
        recipients = await self.members.recipients(member_ids=[first])
        await self._send_by_zone(recipients, lambda t, zone: self._promoted(t, event, zone), Purpose.ANSWER,
                                 template=lambda t: self._template(t, event))
        log.info("a place opened for event %s: member %s leaves the waiting list", event.id, first)

    def _promoted(self, t: Translator, event: Event, zone: str) -> Message:
        confirmation = self.confirmation(t, event, zone)
        return Message((Span(t("Good news: a place opened for “{title}”.", title=event.title) + " "),
                        *confirmation.spans), confirmation.buttons, title=confirmation.title,
                       document=confirmation.document)

    async def press_show(self, turn: Turn, arg: str) -> None:
        event = await self._event_of(turn, arg)
        if event is not None:
            await turn.show(self.announcement(turn.t, event, turn.member.timezone))

    # --- /events ----------------------------------------------------------------------------

    async def list_events(self, turn: Turn, args: str) -> None:
        t, member = turn.t, turn.member
        coming = (await self.events.coming(turn.now))[:LISTED]
        if not coming:
            await turn.say(t("No events are planned at the moment."))
            return
        mine = await self.events.registrations_of(member.id, [event.id for event in coming])
        parts: list[Part] = [bold(t("Coming events"))]
        rows: list[list[Button]] = []
        for event in coming:
            registered, _ = await self.events.counts(event.id)
            state = mine.get(event.id)
            parts += ["\n\n", bold(f"#{event.id} {event.title}"), "\n", when(t, event.starts_at, member.timezone)]
            left = event.places_left(registered)
            if left is not None:
                parts += [" · ", t.plural("{count} place left", "{count} places left", left) if left
                          else t("no places left")]
            if state is Registration.REGISTERED:
                parts += ["\n", t("You are registered.")]
            elif state is Registration.WAITING:
                parts += ["\n", t("You are on the waiting list: number {place}.",
                                  place=await self.events.place_in_line(event.id, member.id))]
            if event.accepts_registrations(turn.now) is not None:
                continue
            if state in (Registration.REGISTERED, Registration.WAITING):
                rows.append([self.button(t("Cancel #{number}", number=event.id), Press.CANCEL, event.id)])
            else:
                rows.append([self.button(t("Register #{number}", number=event.id), Press.REGISTER, event.id)])
        await turn.say(*parts, buttons=rows)

    # --- the facilitators' card -------------------------------------------------------------

    async def show_card(self, turn: Turn, event: Event) -> None:
        t = turn.t
        registered, waiting = await self.events.counts(event.id)
        yes, no = await self.events.attendance(event.id)
        survey = await self.surveys.survey_number(event.id) if self.surveys else None
        parts: list[Part] = [bold(t("Event #{number}: {title}", number=event.id, title=event.title)), "\n",
                             when(t, event.starts_at, turn.member.timezone), "\n",
                             t("Registered: {count}", count=registered)]
        if event.capacity is not None:
            parts += [" / ", str(event.capacity)]
        parts += ["\n", t("Waiting list: {count}", count=waiting)]
        if event.followed_up_at is not None:
            parts += ["\n", t("Attended: {yes} yes, {no} no", yes=yes, no=no)]
        parts += ["\n", t("Recording: {link}", link=event.recording or t("(not given)"))]
        if survey is not None:
            parts += ["\n", t("Survey: #{number} (/results {number})", number=survey)]
        rows = [[self.button(t("Add the recording"), Press.ADD_RECORDING, event.id, short=t("Recording"))]]
        if survey is None:
            rows[0].append(self.button(t("Add a survey"), Press.ADD_SURVEY, event.id))
        await turn.say(*parts, buttons=rows)

    async def event_card(self, turn: Turn, args: str) -> None:
        """/event 3, for a facilitator: the event's card."""
        number = parse_number(args)
        event = await self.events.get(number) if number is not None else None
        if event is None:
            await turn.refuse(NO_SUCH_EVENT)
            return
        await self.show_card(turn, event)

    async def press_add_survey(self, turn: Turn, arg: str) -> None:
        event = await self._event_of(turn, arg)
        if event is not None and self.surveys is not None:
            await self.surveys.start_for_event(turn, event.id)

    # --- the recording --------------------------------------------------------------------

    async def press_add_recording(self, turn: Turn, arg: str) -> None:
        event = await self._event_of(turn, arg)
        if event is None:
            return
        t = turn.t
        await turn.ask(Step.RECORDING, [t("Send the link to the recording of “{title}”.", title=event.title)],
                       label=t("Recording"), prefill=event.recording, event=event.id)

    async def recording_given(self, turn: Turn, text: str, data: dict) -> None:
        event = await self.events.get(int(data.get("event", 0)))
        if event is None:
            await turn.stop_waiting()
            await turn.refuse(NO_SUCH_EVENT)
            return
        if await self.add_recording(turn, event, text):
            await turn.stop_waiting()

    async def recording_command(self, turn: Turn, args: str) -> None:
        words = args.split()
        number = parse_number(words[0]) if words else None
        event = await self.events.get(number) if number is not None else None
        if event is None or len(words) != 2:
            await turn.refuse(Refusal("Send /recording, the event's number and the link: /recording 3 https://…"))
            return
        await self.add_recording(turn, event, words[1])

    async def add_recording(self, turn: Turn, event: Event, text: str) -> bool:
        link = parse_link(text)
        if isinstance(link, Refusal):
            await turn.refuse(link)
            return False
        await self.events.set_recording(event.id, link)
        await self.audit.record(turn, Action.RECORDING, detail=f"#{event.id} {link}")
        t = turn.t
        turn.notice = t("Saved.")
        if event.followed_up_at is None:
            await turn.say(t("Saved: the registrants get the recording when the event ends."))
            return True
        ids = [member_id for member_id, _ in await self.events.registrants(event.id)]
        recipients = await self.members.recipients(member_ids=ids)
        await self.messenger.send(recipients, lambda t: compose(
            t("The recording of “{title}” is here: {link}", title=event.title, link=link), title=event.title),
            Purpose.BROADCAST, template=lambda t: self._template(t, event))
        await turn.say(t.plural("Saved, and sent to {count} registrant.", "Saved, and sent to {count} registrants.",
                                len(recipients)))
        return True

    # --- reminders and the follow-up ----------------------------------------------------------

    async def send_due(self) -> int:
        """Send every reminder and follow-up that is due, each once; returns how many."""
        now = self.clock.now()
        sent = 0
        try:
            for candidate in await self.events.due(now):
                try:
                    async with self.database.transaction():
                        # Read again inside the transaction: another pass may have just sent it.
                        event = await self.events.get(candidate.id)
                        if event is None:
                            continue
                        reminder = event.reminder_due(now)
                        if reminder is not None and await self.events.mark_reminded(event.id, reminder, now):
                            await self._remind(event, reminder)
                            sent += 1
                        elif event.follow_up_due(now) and await self.events.mark_followed_up(event.id, now):
                            await self._follow_up(event)
                            sent += 1
                except Exception:
                    log.exception("the reminders of event %s failed; they are tried again next time", candidate.id)
        finally:
            self.waker.wake()
        return sent

    async def _remind(self, event: Event, reminder: Reminder) -> None:
        registrants = await self.events.registrants(event.id)
        recipients = await self.members.recipients(member_ids=[member_id for member_id, _ in registrants])

        def reminding(t: Translator, zone: str) -> Message:
            moment = when(t, event.starts_at, zone)
            opening = (t("Reminder: “{title}” is tomorrow, {when}.", title=event.title, when=moment)
                       if reminder is Reminder.DAY else
                       t("“{title}” starts in one hour, {when}.", title=event.title, when=moment))
            where = (t("Join here: {link}", link=event.link) if event.link
                     else t("Place: {place}", place=event.place))
            return compose(opening, "\n", where, buttons=[[self._cancel_button(t, event)]], title=event.title)

        await self._send_by_zone(recipients, reminding, Purpose.REMINDER, template=lambda t: self._template(t, event))
        log.info("%s reminder of event %s sent to %s members", reminder.value, event.id, len(recipients))

    async def _follow_up(self, event: Event) -> None:
        ids = [member_id for member_id, _ in await self.events.registrants(event.id)]
        recipients = await self.members.recipients(member_ids=ids)

        def asking(t: Translator) -> Message:
            parts: list[Part] = [t("Thank you for registering for “{title}”. Did you attend?", title=event.title)]
            if event.recording:
                parts += ["\n\n", t("The recording of “{title}” is here: {link}", title=event.title,
                                    link=event.recording)]
            return compose(*parts, buttons=[[self.button(t("Yes"), Press.ATTENDED, event.id, YES),
                                             self.button(t("No"), Press.ATTENDED, event.id, NO)]], title=event.title)

        await self.messenger.send(recipients, asking, Purpose.REMINDER, template=lambda t: self._template(t, event))
        if self.surveys is not None:
            await self.surveys.send_for_event(event.id, ids)
        log.info("event %s is over: %s registrants asked whether they attended", event.id, len(recipients))

    async def press_attended(self, turn: Turn, arg: str) -> None:
        event = await self._event_of(turn, arg)
        if event is None:
            return
        if await self.events.registration(event.id, turn.member.id) is not Registration.REGISTERED:
            await turn.refuse(Refusal("You were not registered for this event."))
            return
        attended = arg.endswith(YES)
        await self.events.set_attended(event.id, turn.member.id, attended)
        t = turn.t
        turn.notice = t("Thank you!")
        if not turn.capabilities.can_toast:
            await turn.say(t("Noted: you attended.") if attended else t("Noted: you could not attend."))


def when(t: Translator, moment: float, zone: str) -> str:
    """"15 Dec 2026, 14:00 (Africa/Nairobi)": in the reader's language and time zone."""
    return f"{t.moment(moment, zone)} ({zone})"


def duration(t: Translator, seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes % 60 == 0:
        return t.plural("{count} hour", "{count} hours", minutes // 60)
    return t.plural("{count} minute", "{count} minutes", minutes)


def calendar_file(event: Event, community: str) -> Document:
    """The event as an iCalendar file (RFC 5545), its times in UTC."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//facilitator-bot//events//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    entry = icalendar.Event()
    slug = re.sub(r"[^a-z0-9]+", "-", community.casefold()).strip("-") or "network"
    entry.add("uid", f"event-{event.id}@{slug}")
    entry.add("dtstamp", datetime.fromtimestamp(event.created_at, timezone.utc))
    start = datetime.fromtimestamp(event.starts_at, timezone.utc)
    entry.add("dtstart", start)
    entry.add("dtend", start + timedelta(seconds=event.duration))
    entry.add("summary", event.title)
    description = "\n\n".join(part for part in (event.description, event.speakers, event.link) if part)
    if description:
        entry.add("description", description)
    if event.link:
        entry.add("url", event.link)
    entry.add("location", event.place or event.link)
    calendar.add_component(entry)
    return Document(f"event-{event.id}.ics", "text/calendar", calendar.to_ical())

