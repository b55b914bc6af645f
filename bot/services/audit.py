"""The audit log: every facilitator's action (who, what, when, on which discussion or member,
from which platform), kept for the network's accountability and read with /audit."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, Sequence

from bot.services.messaging import Part, bold
from bot.services.routes import Arguments, Audience, Route, command
from bot.services.rules import IN_PRIVATE, IS_FACILITATOR, NOT_LEFT
from bot.services.turn import Turn
from bot.texts.catalog import N_

SHOWN = 20
MOST_SHOWN = 200


class Action(StrEnum):
    APPROVE = "approve"
    CLARIFY = "clarify"
    EDIT = "edit"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    CLOSE = "close"
    EXTEND = "extend"
    PUBLISH = "publish"
    DISCARD = "discard"
    RESHARE = "reshare"
    REOPEN = "reopen"
    TRANSLATE = "translate"
    MUTE = "mute"
    UNMUTE = "unmute"
    REMOVE = "remove"
    FORGET = "forget"
    DATA = "data"
    FACILITATOR_ADDED = "facilitator-added"
    FACILITATOR_REMOVED = "facilitator-removed"
    PRACTICE_APPROVE = "practice-approve"
    PRACTICE_REJECT = "practice-reject"
    TAG = "tag"
    EVENT = "event"
    RECORDING = "recording"
    SURVEY = "survey"
    SURVEY_CLOSED = "survey-closed"
    NEWS_APPROVE = "news-approve"
    NEWS_EDIT = "news-edit"
    NEWS_REJECT = "news-reject"
    BRIEF = "brief"
    ALERT = "alert"
    NEWSLETTER = "newsletter"
    FEATURE = "feature"


DONE = {
    Action.APPROVE: N_("approved"), Action.CLARIFY: N_("asked to clarify"), Action.EDIT: N_("edited"),
    Action.REJECT: N_("rejected"), Action.WITHDRAW: N_("withdrew"), Action.CLOSE: N_("closed"),
    Action.EXTEND: N_("extended"), Action.PUBLISH: N_("published"), Action.DISCARD: N_("closed without publishing"),
    Action.RESHARE: N_("shared again"), Action.REOPEN: N_("reopened"), Action.TRANSLATE: N_("translated"),
    Action.MUTE: N_("muted"), Action.UNMUTE: N_("unmuted"), Action.REMOVE: N_("removed"),
    Action.FORGET: N_("forgot at their request"),
    Action.DATA: N_("sent their data, at their request"), Action.FACILITATOR_ADDED: N_("made a facilitator"),
    Action.FACILITATOR_REMOVED: N_("removed as a facilitator"),
    Action.PRACTICE_APPROVE: N_("approved a good practice"), Action.PRACTICE_REJECT: N_("rejected a good practice"),
    Action.TAG: N_("tagged the consolidated reply"),
    Action.EVENT: N_("published an event"), Action.RECORDING: N_("added an event's recording"),
    Action.SURVEY: N_("sent a survey"), Action.SURVEY_CLOSED: N_("closed a survey"),
    Action.NEWS_APPROVE: N_("approved news"), Action.NEWS_EDIT: N_("edited news"),
    Action.NEWS_REJECT: N_("rejected news"), Action.BRIEF: N_("sent a brief"), Action.ALERT: N_("sent an alert"),
    Action.NEWSLETTER: N_("sent the monthly newsletter"), Action.FEATURE: N_("published a member's feature"),
}


@dataclass(frozen=True)
class AuditEntry:
    at: float
    actor_id: int | None
    actor_name: str
    platform: str
    action: Action
    discussion_id: int | None = None
    member_id: int | None = None
    detail: str = ""


class AuditLog(Protocol):
    async def add(self, entry: AuditEntry) -> None: ...

    async def recent(self, limit: int) -> list[AuditEntry]:
        """The latest entries, newest first."""
        ...


class Command(StrEnum):
    AUDIT = "audit"


@dataclass(eq=False)
class Audit:
    log: AuditLog

    def routes(self) -> Sequence[Route]:
        return (command(Command.AUDIT, self.show, "What the facilitators did lately: /audit 50",
                        rules=(IN_PRIVATE, NOT_LEFT, IS_FACILITATOR), arguments=Arguments.NUMBER,
                        audience=Audience.FACILITATORS),)

    async def record(self, turn: Turn | None, action: Action, discussion_id: int | None = None,
                     member_id: int | None = None, detail: str = "", at: float | None = None) -> None:
        """What a person did; `turn` None for what the bot did on its own (a deadline)."""
        actor = turn.member if turn is not None else None
        await self.log.add(AuditEntry(
            at=turn.now if turn is not None else (at or 0.0), actor_id=actor.id if actor else None,
            actor_name=(actor.name or f"#{actor.id}") if actor else "", platform=turn.origin.platform if turn else "",
            action=action, discussion_id=discussion_id, member_id=member_id, detail=detail[:300],
        ))

    async def show(self, turn: Turn, args: str) -> None:
        number = args.strip().lstrip("#")
        limit = min(int(number), MOST_SHOWN) if number.isdigit() and int(number) > 0 else SHOWN
        t = turn.t
        entries = await self.log.recent(limit)
        if not entries:
            await turn.say(t("Nothing has been done yet."))
            return
        parts: list[Part] = [bold(t("What the facilitators did lately"))]
        for entry in entries:
            who = entry.actor_name or t("the bot")
            what = t(DONE[entry.action])
            about = []
            if entry.discussion_id is not None:
                about.append(t("question #{number}", number=entry.discussion_id))
            if entry.member_id is not None:
                about.append(t("member #{number}", number=entry.member_id))
            line = f"{t.moment(entry.at)} · {who} ({entry.platform or '—'}): {what}"
            if about:
                line += " " + ", ".join(about)
            if entry.detail:
                line += f" — {entry.detail}"
            parts += ["\n", line]
        await turn.say(*parts)
