"""A member's data is theirs: /mydata sends them everything the network holds about them as
a file, /forget deletes their profile and identities and takes their name off everything
(after a confirmation), and what people send is kept word for word only for a while.
A facilitator can do either for a member who asked them (/mydata #12, /forget #12)."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any, Mapping, Protocol, Sequence

from bot.clock import Clock
from bot.domain.refusal import Refusal
from bot.ports import Document, Message, Span, Style
from bot.services.audit import Action, Audit
from bot.services.messaging import Messenger, compose
from bot.services.routes import Arguments, Route, command, personal_button, step
from bot.services.rules import IN_PRIVATE, IS_OWNER
from bot.services.turn import Turn
from bot.texts.catalog import N_

log = logging.getLogger(__name__)

MEMBER_NUMBER = re.compile(r"^#?(\d{1,9})$")
# Where a forgotten member's name was.
A_MEMBER = N_("a member")


class PersonalData(Protocol):
    async def gather(self, member_id: int) -> dict[str, Any] | None: ...

    async def forget(self, member_id: int, instead: Mapping[str, str], default: str) -> bool: ...

    async def drop_old_texts(self, before: float) -> int: ...

    async def settle(self) -> None:
        """Make what was deleted gone from the files too."""
        ...

    async def drop_orphan_messages(self) -> int:
        """Messages already sent to people the bot no longer knows (a forgotten member's
        last confirmation)."""
        ...


class Command(StrEnum):
    MYDATA = "mydata"
    FORGET = "forget"


class Press(StrEnum):
    CONFIRM_FORGET = "fgy"


class Step(StrEnum):
    FORGET = "privacy.forget"  # waiting for the confirmation of a /forget


@dataclass(eq=False)
class Privacy:
    data: PersonalData
    messenger: Messenger
    audit: Audit
    clock: Clock
    community_name: str
    languages: tuple[str, ...]
    default_language: str
    inbound_retention: float

    def routes(self) -> Sequence[Route]:
        # Open to those who left or were removed too: their data is still theirs.
        return (
            command(Command.MYDATA, self.mydata, "Get everything the network holds about you, as a file",
                    rules=(IN_PRIVATE,), arguments=Arguments.TEXT),
            command(Command.FORGET, self.forget, "Delete your profile and take your name off everything",
                    rules=(IN_PRIVATE,), arguments=Arguments.TEXT),
            personal_button(Press.CONFIRM_FORGET, self.confirm_forget, rules=(IS_OWNER,)),
            step(Step.FORGET, self.waiting_for_confirmation, rules=()),
        )

    async def _whose(self, turn: Turn, args: str) -> int | None:
        """The member the command is about: oneself, or for a facilitator a member's number."""
        if not args.strip():
            return turn.member.id
        found = MEMBER_NUMBER.match(args.strip())
        if not turn.member.is_facilitator:
            await turn.refuse(Refusal("Only facilitators can do that for another member."))
            return None
        if found is None:
            await turn.refuse(Refusal("Name the member by their number, as the cards show it: #12."))
            return None
        return int(found.group(1))

    # --- /mydata --------------------------------------------------------------------------

    async def mydata(self, turn: Turn, args: str) -> None:
        member_id = await self._whose(turn, args)
        if member_id is None:
            return
        gathered = await self.data.gather(member_id)
        if gathered is None:
            await turn.refuse(Refusal("That member no longer exists."))
            return
        t = turn.t
        document = Document(
            filename=f"{_slug(self.community_name)}-member-{member_id}-{_day(turn.now)}.json",
            content_type="application/json",
            data=json.dumps(self._document(gathered, turn.now), ensure_ascii=False, indent=2).encode("utf-8"),
        )
        if member_id == turn.member.id:
            text = t("Here is everything the network holds about you, as a JSON file: your profile, your "
                     "platform accounts, your questions and replies, your delivery choices and consents.")
        else:
            text = t("Here is everything the network holds about member #{number}, as a JSON file, for you to "
                     "pass on to them.", number=member_id)
            await self.audit.record(turn, Action.DATA, member_id=member_id)
        await turn.show(Message(spans=(Span(text),), document=document))
        log.info("personal data of member %s sent (%d bytes)", member_id, len(document.data))

    def _document(self, gathered: dict[str, Any], now: float) -> dict[str, Any]:
        member = gathered["member"]
        return {
            "community": self.community_name,
            "made_at": _iso(now),
            "member_number": member["id"],
            "profile": {
                "name": member["name"], "organization": member["organization"], "country": member["country"],
                "topics": [topic for topic in member["topics"].split(";") if topic],
                "language": member["language"], "role": member["role"], "status": member["status"],
                "joined_at": _iso(member["joined_at"]),
                "muted_because": member["muted_reason"], "removed_because": member["removed_reason"],
                "offers": member["offers"], "looks_for": member["seeks"],
            },
            "delivery": {"mode": member["delivery"], "digest_hour": member["digest_hour"],
                         "time_zone": member["timezone"], "last_digest_at": _iso(member["digest_sent_at"])},
            "consents": {"featured_in_member_stories": bool(member["featured_consent"]),
                         "found_in_member_directory": bool(member["in_directory"])},
            "accounts": [_times(row) for row in gathered["identities"]],
            "questions": [_times(row) for row in gathered["questions"]],
            "replies": [_times(row) for row in gathered["replies"]],
            "messages_kept_word_for_word": [_times(row) for row in gathered["messages"]],
            "facilitators_actions_about_you": [_times(row) for row in gathered["facilitators_actions"]],
            "good_practices_shared": [_times(row) for row in gathered.get("practices", [])],
            "introductions": [_times(row) for row in gathered.get("introductions", [])],
            "event_registrations": [_times(row) for row in gathered.get("event_registrations", [])],
            "survey_answers": [_times(row) for row in gathered.get("survey_answers", [])],
            "news_shared": [_times(row) for row in gathered.get("news", [])],
            "community_features": [_times(row) for row in gathered.get("community_features", [])],
            "kept_word_for_word_for_days": round(self.inbound_retention / 86400),
        }

    # --- /forget --------------------------------------------------------------------------

    async def forget(self, turn: Turn, args: str) -> None:
        member_id = await self._whose(turn, args)
        if member_id is None:
            return
        t = turn.t
        if member_id == turn.member.id and turn.member.is_facilitator:
            await turn.refuse(Refusal("You are a facilitator: ask another facilitator to take you off first."))
            return
        if member_id == turn.member.id:
            question = t("Forget you? This deletes your profile and your accounts with the network, and takes your "
                         "name off everything: your questions and replies stay, as from “a member”. It cannot be "
                         "undone. To keep a copy first, send /mydata.")
            label = t("Yes, forget me")
        else:
            question = t("Forget member #{number}, at their request? Their profile and accounts are deleted and "
                         "their name is taken off everything. It cannot be undone.", number=member_id)
            label = t("Yes, forget them")
        await turn.say(question, buttons=[[turn.button(label, Press.CONFIRM_FORGET, turn.member.id,
                                                       style=Style.DANGER)]])
        await turn.wait_for(Step.FORGET, member=member_id)

    async def waiting_for_confirmation(self, turn: Turn, text: str, data: dict) -> None:
        await turn.refuse(Refusal("Please choose one of the buttons, or send /cancel."))

    async def confirm_forget(self, turn: Turn, arg: str) -> None:
        conversation = await turn.waiting()
        if conversation is None or conversation.step != Step.FORGET:
            await turn.refuse(Refusal("That was already done or cancelled."))
            return
        member_id = int(conversation.data["member"])
        await turn.stop_waiting()
        on_request = member_id != turn.member.id
        instead = {language: self.messenger.translator(language)(A_MEMBER) for language in self.languages}
        if not await self.data.forget(member_id, instead, instead.get(self.default_language, A_MEMBER)):
            await turn.refuse(Refusal("That member no longer exists."))
            return
        # Recorded without what was deleted; a member's own request names no one.
        await self.audit.record(turn if on_request else None, Action.FORGET, member_id=member_id, at=turn.now)
        log.info("member %s forgotten%s", member_id, " at a facilitator's hands" if on_request else "")
        turn.notice = turn.t("Done")
        if on_request:
            await turn.say(turn.t("Member #{number} is forgotten.", number=member_id))
        else:
            await turn.say(turn.t("You are forgotten: nothing the network keeps has your name or accounts any "
                                  "more. Thank you for everything you shared."))

    # --- retention ----------------------------------------------------------------------

    async def tidy(self) -> None:
        """What members sent loses its words after the retention period; messages already sent
        to forgotten people go; and what was deleted leaves the write-ahead log."""
        dropped = await self.data.drop_old_texts(self.clock.now() - self.inbound_retention)
        orphans = await self.data.drop_orphan_messages()
        await self.data.settle()
        if dropped or orphans:
            log.info("kept no longer: %d received texts, %d messages to people no longer known", dropped, orphans)


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, timezone.utc).isoformat(timespec="seconds")


def _day(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%d")


def _times(row: dict[str, Any]) -> dict[str, Any]:
    """Moments as dates a person can read; flags as true or false."""
    readable: dict[str, Any] = {}
    for key, value in row.items():
        if key.endswith("_at") and isinstance(value, (int, float)):
            readable[key] = _iso(value)
        elif key in ("anonymous", "reachable"):
            readable[key] = bool(value)
        else:
            readable[key] = value
    return readable


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-") or "network"
