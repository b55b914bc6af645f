"""The facilitators' own tools over people: adding and removing facilitators at run time
(/facilitators), muting a member (/mute, /unmute) or removing one from the network (/remove,
after a confirmation). Every one of them is in the audit log, with its reason."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Sequence

from bot.domain.members import Identity, Member, Role, Status
from bot.domain.refusal import Refusal
from bot.ports import Purpose, Style
from bot.services.audit import Action, Audit
from bot.services.members import MemberStore
from bot.services.messaging import Messenger, Part, bold, compose
from bot.services.roster import Roster
from bot.services.routes import Arguments, Audience, Route, command, personal_button, step
from bot.services.rules import IN_PRIVATE, IS_FACILITATOR, IS_OWNER, NOT_LEFT
from bot.services.turn import Turn

FACILITATORS_ONLY = (IN_PRIVATE, NOT_LEFT, IS_FACILITATOR)
MEMBER = re.compile(r"^#?(\d{1,9})\b\s*(.*)$", re.DOTALL)
REASON_CHARS = 300


class Command(StrEnum):
    FACILITATORS = "facilitators"
    MUTE = "mute"
    UNMUTE = "unmute"
    REMOVE = "remove"


class Press(StrEnum):
    CONFIRM_REMOVE = "rmy"


class Step(StrEnum):
    REMOVE = "team.remove"  # waiting for the facilitator to confirm a removal


@dataclass(eq=False)
class Team:
    members: MemberStore
    roster: Roster
    messenger: Messenger
    audit: Audit
    platforms: tuple[str, ...]

    def routes(self) -> Sequence[Route]:
        only = dict(rules=FACILITATORS_ONLY, arguments=Arguments.TEXT, audience=Audience.FACILITATORS)
        return (
            command(Command.FACILITATORS, self.facilitators,
                    "Who the facilitators are; /facilitators add telegram 123 or add #12, remove", **only),
            command(Command.MUTE, self.mute, "Stop a member's questions and replies: /mute #12 reason", **only),
            command(Command.UNMUTE, self.unmute, "Let a muted member ask and reply again: /unmute #12", **only),
            command(Command.REMOVE, self.remove, "Remove a member from the network: /remove #12 reason", **only),
            # The confirmation is the facilitator's own: made for them, about what they asked.
            personal_button(Press.CONFIRM_REMOVE, self.confirm_remove, rules=(NOT_LEFT, IS_FACILITATOR, IS_OWNER)),
            step(Step.REMOVE, self.waiting_for_confirmation, rules=(NOT_LEFT, IS_FACILITATOR)),
        )

    # --- facilitators ---------------------------------------------------------------------

    async def facilitators(self, turn: Turn, args: str) -> None:
        words = args.split()
        if words and words[0].casefold() in ("add", "remove"):
            target = await self._identity(turn, words[1:])
            if target is None:
                return
            platform, user_id = target
            if words[0].casefold() == "add":
                await self._add(turn, platform, user_id)
            else:
                await self._take_off(turn, platform, user_id)
            return
        t = turn.t
        lines: list[Part] = [bold(t("The facilitators"))]
        for member in await self.members.facilitators():
            where = ", ".join(f"{i.platform} {i.user_id}" for i in member.identities)
            lines += ["\n", f"#{member.id} {member.name or '—'} ({where})"]
        lines += ["\n\n", t("Add one with /facilitators add and their platform and id (telegram 123456789), or a "
                            "member's number (#12); take one off with /facilitators remove.")]
        await turn.say(*lines)

    async def _identity(self, turn: Turn, words: list[str]) -> tuple[str, str] | None:
        """A platform identity from "telegram 123456789" or a member's "#12"."""
        if len(words) == 1 and MEMBER.match(words[0]):
            member = await self.members.get(int(MEMBER.match(words[0]).group(1)))  # type: ignore[union-attr]
            identity = member.best_identity() if member else None
            if identity is not None:
                return identity.platform, identity.user_id
        elif len(words) == 2 and words[0].casefold() in self.platforms:
            return words[0].casefold(), words[1]
        await turn.refuse(Refusal("Name them by platform and id (telegram 123456789) or by member number (#12)."))
        return None

    async def _add(self, turn: Turn, platform: str, user_id: str) -> None:
        await self.roster.add(platform, user_id, turn.member.id, turn.now)
        member = await self.members.find_by_identity(platform, user_id)
        if member is None:
            # Known from now on, so that cards reach them before they first write.
            await self.members.create(Identity(platform, user_id, user_id), "", Role.FACILITATOR, turn.now)
        elif not member.is_facilitator:
            await self.members.save(replace(member, role=Role.FACILITATOR))
        await self.audit.record(turn, Action.FACILITATOR_ADDED, member_id=member.id if member else None,
                                detail=f"{platform} {user_id}")
        await turn.say(turn.t("{who} is a facilitator now.", who=_who(member, platform, user_id)))

    async def _take_off(self, turn: Turn, platform: str, user_id: str) -> None:
        if self.roster.in_configuration(platform, user_id):
            await turn.refuse(Refusal("They are listed in the configuration file: take them off there."))
            return
        if not await self.roster.remove(platform, user_id):
            await turn.refuse(Refusal("They are not a facilitator added here."))
            return
        member = await self.members.find_by_identity(platform, user_id)
        if member is not None and not any(self.roster.lists(i.platform, i.user_id) for i in member.identities):
            await self.members.save(replace(member, role=Role.MEMBER))
        await self.audit.record(turn, Action.FACILITATOR_REMOVED, member_id=member.id if member else None,
                                detail=f"{platform} {user_id}")
        await turn.say(turn.t("{who} is no longer a facilitator.", who=_who(member, platform, user_id)))

    # --- members ------------------------------------------------------------------------------

    async def _member_and_reason(self, turn: Turn, args: str, reason_needed: bool) -> tuple[Member, str] | None:
        found = MEMBER.match(args.strip())
        member = await self.members.get(int(found.group(1))) if found else None
        if member is None:
            await turn.refuse(Refusal("Name the member by their number, as the cards show it: #12."))
            return None
        reason = " ".join(found.group(2).split())[:REASON_CHARS] if found else ""
        if reason_needed and not reason:
            await turn.refuse(Refusal("Say why, after the number: the member is told."))
            return None
        if member.is_facilitator:
            await turn.refuse(Refusal("That is a facilitator: take them off the facilitators first."))
            return None
        return member, reason

    async def mute(self, turn: Turn, args: str) -> None:
        found = await self._member_and_reason(turn, args, reason_needed=True)
        if found is None:
            return
        member, reason = found
        await self.members.save(replace(member, muted_reason=reason))
        await self.audit.record(turn, Action.MUTE, member_id=member.id, detail=reason)
        await self._tell(member, lambda t: compose(
            t("The facilitators have paused your questions and replies: {reason}", reason=reason), " ",
            t("You still receive the network's questions.")))
        await turn.say(turn.t("Member #{number} is muted: they are told why.", number=member.id))

    async def unmute(self, turn: Turn, args: str) -> None:
        found = await self._member_and_reason(turn, args, reason_needed=False)
        if found is None:
            return
        member, _ = found
        await self.members.save(replace(member, muted_reason=None))
        await self.audit.record(turn, Action.UNMUTE, member_id=member.id)
        await self._tell(member, lambda t: compose(t("You can ask and reply in the network again.")))
        await turn.say(turn.t("Member #{number} can ask and reply again.", number=member.id))

    async def remove(self, turn: Turn, args: str) -> None:
        found = await self._member_and_reason(turn, args, reason_needed=True)
        if found is None:
            return
        member, reason = found
        t = turn.t
        await turn.say(
            t("Remove {who} from the network? They will receive nothing more and cannot join again, and "
              "they are told: {reason}", who=member.attribution(), reason=reason),
            buttons=[[turn.button(t("Yes, remove"), Press.CONFIRM_REMOVE, turn.member.id, style=Style.DANGER)]],
        )
        await turn.wait_for(Step.REMOVE, member=member.id, reason=reason)

    async def waiting_for_confirmation(self, turn: Turn, text: str, data: dict) -> None:
        await turn.refuse(Refusal("Please choose one of the buttons, or send /cancel."))

    async def confirm_remove(self, turn: Turn, arg: str) -> None:
        conversation = await turn.waiting()
        if conversation is None or conversation.step != Step.REMOVE:
            await turn.refuse(Refusal("That was already done or cancelled."))
            return
        member = await self.members.get(int(conversation.data["member"]))
        reason = str(conversation.data.get("reason", ""))
        await turn.stop_waiting()
        if member is None:
            await turn.refuse(Refusal("That member no longer exists."))
            return
        await self.members.save(replace(member, status=Status.LEFT, removed_reason=reason))
        await self.audit.record(turn, Action.REMOVE, member_id=member.id, detail=reason)
        await self._tell(member, lambda t: compose(
            t("The facilitators removed you from the network: {reason}", reason=reason)))
        turn.notice = turn.t("Removed")
        await turn.say(turn.t("Member #{number} is removed from the network.", number=member.id))

    async def _tell(self, member: Member, message) -> None:  # type: ignore[no-untyped-def]
        recipients = await self.members.recipients(member_ids=[member.id])
        await self.messenger.send(recipients, message, Purpose.ANSWER)


def _who(member: Member | None, platform: str, user_id: str) -> str:
    return member.attribution() if member else f"{platform} {user_id}"
