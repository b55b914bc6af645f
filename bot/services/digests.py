"""Delivery preferences and digests: a member chooses every question as it comes (instant,
the default), a daily digest or a weekly one, at their hour in their time zone. A digest
lists the new questions, each with a Reply button, and the consolidated replies published
since the last one. Digests are sent by a job every few minutes; one that was missed while
the bot was down is sent once at the next start."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.members import DeliveryPreference, Member
from bot.domain.refusal import Refusal
from bot.ports import Button
from bot.services import moderation
from bot.services.consolidation import title_of
from bot.services.outbox import Priority
from bot.services.turn import Services, Turn, bold, compose
from bot.texts.catalog import Translator

CHOOSE = "dg"
PERIOD = {DeliveryPreference.DAILY: timedelta(days=1), DeliveryPreference.WEEKLY: timedelta(days=7)}
MONDAY = 0


def last_due(member: Member, now: float) -> float:
    """The latest time at or before `now` when the member's digest was due."""
    zone = _zone(member.timezone)
    local = datetime.fromtimestamp(now, zone)
    due = local.replace(hour=member.digest_hour, minute=0, second=0, microsecond=0)
    if member.delivery is DeliveryPreference.WEEKLY:
        due -= timedelta(days=(due.weekday() - MONDAY) % 7)
    while due > local:
        due -= PERIOD[member.delivery]
    return due.timestamp()


async def send_due(services: Services) -> int:
    """Send every digest that is due; returns how many members were handled."""
    now = services.clock.now()
    handled = 0
    for member in await services.members.digest_readers():
        due = last_due(member, now)
        if member.digest_sent_at is not None and member.digest_sent_at >= due:
            continue
        period = PERIOD[member.delivery].total_seconds()
        since = member.digest_sent_at if member.digest_sent_at is not None else due - period
        async with services.database.transaction():
            questions = [d for d in await services.discussions.approved_between(since, now) if d.asker_id != member.id]
            published = await services.discussions.published_between(since, now)
            if questions or published:
                recipients = await services.members.recipients(member_ids=[member.id])
                await services.send(recipients, lambda t: digest(services, t, member, questions, published),
                                    Priority.BROADCAST, "digest")
            await services.members.save(replace(member, digest_sent_at=now))
        handled += 1
    services.waker.wake()
    return handled


def digest(services: Services, t: Translator, member: Member, questions, published):  # type: ignore[no-untyped-def]
    parts: list[object] = [bold(t("Your daily digest") if member.delivery is DeliveryPreference.DAILY
                                else t("Your weekly digest"))]
    buttons: list[list[Button]] = []
    if questions:
        parts += ["\n\n", bold(t("New questions"))]
        for discussion in questions:
            parts += ["\n", f"#{discussion.id} ", discussion.text]
            if discussion.deadline_at:
                parts += [" ", t("(replies until {day})", day=moderation.day_of(discussion.deadline_at))]
            buttons.append([Button(t("Reply to #{number}", number=discussion.id),
                                   services.codec.encode(moderation.REPLY, discussion.id))])
    if published:
        parts += ["\n\n", bold(t("New consolidated replies"))]
        for discussion in published:
            parts += ["\n", title_of(discussion.text), f" — /read {discussion.id}"]
    return compose(*parts, buttons=buttons)  # type: ignore[arg-type]


# --- choosing -------------------------------------------------------------------------------


async def show_choice(turn: Turn, args: str) -> None:
    """/digest shows the choice; /digest daily 18 or /digest weekly 9 sets it in one go."""
    words = args.split()
    if words:
        await _set_from_words(turn, words)
        return
    t, member = turn.t, turn.member
    await turn.say(
        t("How would you like to receive the network's questions? Now: {choice}.", choice=_describe(t, member)),
        "\n", t("Send /digest daily 18 to choose the hour too, and /timezone Africa/Nairobi to set your time zone."),
        buttons=[[turn.button(t("Each question as it comes"), CHOOSE, member.id, "instant")],
                 [turn.button(t("A daily digest"), CHOOSE, member.id, "daily")],
                 [turn.button(t("A weekly digest"), CHOOSE, member.id, "weekly")]],
    )


async def press_choice(turn: Turn, choice: str) -> None:
    try:
        preference = DeliveryPreference(choice)
    except ValueError:
        await turn.refuse(Refusal("This button is not valid. Send /help to see what you can do."))
        return
    await _save(turn, replace(turn.member, delivery=preference))


async def set_timezone(turn: Turn, args: str) -> None:
    name = args.strip()
    if not name:
        await turn.say(turn.t("Your time zone is {zone}. Send /timezone and a name like Africa/Nairobi or "
                              "America/Lima to change it.", zone=turn.member.timezone))
        return
    if _zone_or_none(name) is None:
        await turn.refuse(Refusal("I do not know the time zone {zone}: use a name like Africa/Nairobi or "
                                  "America/Lima.", {"zone": name[:40]}))
        return
    await _save(turn, replace(turn.member, timezone=name))


async def _set_from_words(turn: Turn, words: list[str]) -> None:
    try:
        preference = DeliveryPreference(words[0].casefold())
    except ValueError:
        await turn.refuse(Refusal("Send /digest instant, /digest daily or /digest weekly, and an hour if you like."))
        return
    member = replace(turn.member, delivery=preference)
    if len(words) > 1:
        if not words[1].isdigit() or not 0 <= int(words[1]) <= 23:
            await turn.refuse(Refusal("The hour is a number from 0 to 23."))
            return
        member = replace(member, digest_hour=int(words[1]))
    await _save(turn, member)


async def _save(turn: Turn, member: Member) -> None:
    if member.delivery is not DeliveryPreference.INSTANT and member.digest_sent_at is None:
        # The first digest covers what comes after the choice, not the whole history.
        member = replace(member, digest_sent_at=turn.now)
    turn.member = member
    await turn.services.members.save(member)
    turn.notice = turn.t("Saved.")
    await turn.say(turn.t("Saved: {choice}.", choice=_describe(turn.t, member)))


def _describe(t: Translator, member: Member) -> str:
    if member.delivery is DeliveryPreference.INSTANT:
        return t("each question as it comes")
    when = f"{member.digest_hour:02d}:00 ({member.timezone})"
    if member.delivery is DeliveryPreference.DAILY:
        return t("a daily digest at {when}", when=when)
    return t("a weekly digest on Mondays at {when}", when=when)


def _zone(name: str) -> ZoneInfo:
    return _zone_or_none(name) or ZoneInfo("UTC")


def _zone_or_none(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
