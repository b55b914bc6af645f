"""The core's entry point: every event from every platform comes through `Community.handle`.

Each event is first kept verbatim in the inbound log (nothing a member sent is ever lost),
then handled in one transaction: find or create the member, then route it to a use case.
A button press passes a chain of small checks, each answering one question, the first
refusal being what the person is told.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Awaitable, Callable, Literal

from bot.domain.discussions import Discussion, State
from bot.domain.members import Identity, Member, Role, Status
from bot.domain.refusal import Refusal
from bot.ports import (
    Acknowledgement, Address, ButtonPress, Incoming, IncomingCommand, IncomingText, PersonCard, Sender,
    TranscriptEntry,
)
from bot.services import asking, consolidation, digests, joining, membership, moderation, replying, searching
from bot.services.buttons import ButtonAction
from bot.services.conversation import Conversation
from bot.services.outbox import Envelope, Priority
from bot.services.turn import Services, Turn, compose

log = logging.getLogger(__name__)

Handler = Callable[[Turn, Discussion | None, str], Awaitable[None]]


@dataclass(frozen=True)
class ButtonRule:
    handler: Handler
    # facilitator: only facilitators; owner: only the member the button was made for;
    # member: anyone in the network.
    who: Literal["facilitator", "owner", "member"]
    about_discussion: bool


def _on_discussion(press: Callable[[Turn, Discussion], Awaitable[None]]) -> Handler:
    async def handler(turn: Turn, discussion: Discussion | None, arg: str) -> None:
        assert discussion is not None
        await press(turn, discussion)

    return handler


BUTTONS: dict[str, ButtonRule] = {
    moderation.APPROVE: ButtonRule(_on_discussion(moderation.press_approve), "facilitator", True),
    moderation.CLARIFY: ButtonRule(_on_discussion(moderation.press_clarify), "facilitator", True),
    moderation.EDIT: ButtonRule(_on_discussion(moderation.press_edit), "facilitator", True),
    moderation.REJECT: ButtonRule(_on_discussion(moderation.press_reject), "facilitator", True),
    moderation.REJECT_WITHOUT_REASON: ButtonRule(
        _on_discussion(moderation.press_reject_without_reason), "facilitator", True),
    moderation.REPLY: ButtonRule(lambda turn, d, arg: replying.press_reply(turn, d, arg), "member", True),  # type: ignore[arg-type]
    asking.SUBMIT: ButtonRule(lambda turn, d, arg: asking.press_submit(turn, arg), "owner", False),
    asking.CANCEL: ButtonRule(lambda turn, d, arg: asking.press_cancel(turn), "owner", False),
    joining.SKIP: ButtonRule(lambda turn, d, arg: joining.press_skip(turn, arg), "owner", False),
    joining.LANGUAGE: ButtonRule(lambda turn, d, arg: joining.press_language(turn, arg), "owner", False),
    joining.EDIT_FIELD: ButtonRule(lambda turn, d, arg: joining.press_edit_field(turn, arg), "owner", False),
    joining.TOGGLE_FEATURE: ButtonRule(lambda turn, d, arg: joining.press_toggle_feature(turn), "owner", False),
    membership.LEAVE: ButtonRule(lambda turn, d, arg: membership.press_leave(turn), "owner", False),
    digests.CHOOSE: ButtonRule(lambda turn, d, arg: digests.press_choice(turn, arg), "owner", False),
    asking.ASK_ANYWAY: ButtonRule(lambda turn, d, arg: asking.press_ask_anyway(turn), "owner", False),
    searching.READ: ButtonRule(lambda turn, d, arg: searching.show(turn, d.id), "member", True),  # type: ignore[union-attr]
    moderation.CLOSE_NOW: ButtonRule(_on_discussion(consolidation.press_close_now), "facilitator", True),
    moderation.EXTEND: ButtonRule(_on_discussion(consolidation.press_extend), "facilitator", True),
    consolidation.PUBLISH: ButtonRule(_on_discussion(consolidation.press_publish), "facilitator", True),
    consolidation.EDIT_DRAFT: ButtonRule(_on_discussion(consolidation.press_edit_draft), "facilitator", True),
    consolidation.WHOLE_TEXT: ButtonRule(_on_discussion(consolidation.press_whole_text), "facilitator", True),
    consolidation.DISCARD: ButtonRule(_on_discussion(consolidation.press_discard), "facilitator", True),
    consolidation.CLOSE_QUIETLY: ButtonRule(_on_discussion(consolidation.press_discard), "facilitator", True),
    consolidation.RESHARE: ButtonRule(_on_discussion(consolidation.press_reshare), "facilitator", True),
}

COMMANDS: dict[str, Callable[[Turn, str], Awaitable[None]]] = {
    "start": lambda turn, args: joining.start(turn),
    "help": lambda turn, args: membership.show_help(turn),
    "profile": lambda turn, args: joining.show_profile(turn),
    "pause": lambda turn, args: membership.pause(turn),
    "resume": lambda turn, args: membership.resume(turn),
    "leave": lambda turn, args: membership.leave(turn),
    "whoami": lambda turn, args: membership.whoami(turn),
    "cancel": lambda turn, args: membership.cancel(turn),
    "ask": lambda turn, args: _ask_command(turn, args),
    "search": lambda turn, args: searching.search(turn, args),
    "read": lambda turn, args: searching.read(turn, args),
    "digest": lambda turn, args: digests.show_choice(turn, args),
    "timezone": lambda turn, args: digests.set_timezone(turn, args),
}

# Commands that make sense in a group chat; others get "write to me privately".
GROUP_COMMANDS = {"whoami", "help", "search", "read"}


class Community:
    """Implements `bot.ports.Inbox` for every adapter."""

    def __init__(self, services: Services) -> None:
        self.services = services

    # --- Inbox ----------------------------------------------------------------------------

    async def handle(self, event: Incoming) -> Acknowledgement:
        services = self.services
        sender = event.sender
        kind, body = _describe(event)
        await services.inbound.record(
            sender.address.platform, sender.address.user_id, sender.address.chat_id, kind, body, services.clock.now()
        )
        if sender.in_group and await self._stranger(sender):
            return await self._answer_stranger_in_group(event)
        try:
            async with services.database.transaction():
                turn, is_new = await self._turn_for(sender)
                await self._route(turn, event, is_new)
        except Exception:
            log.exception("could not handle %s from %s:%s", kind, sender.address.platform, sender.address.user_id)
            notice = await self._apologise(sender)
            return Acknowledgement(notice=notice, refused=True)
        finally:
            services.waker.wake()
        return Acknowledgement(notice=turn.notice, refused=turn.refused)

    async def people_on(self, platform: str) -> list[PersonCard]:
        people = []
        for member in await self.services.members.on_platform(platform):
            if member.status is Status.LEFT:
                continue
            identity = next(i for i in member.identities if i.platform == platform)
            role = "facilitator" if member.is_facilitator else "member"
            where = ", ".join(part for part in (member.organization, member.country) if part)
            people.append(PersonCard(
                address=Address(platform, identity.user_id, identity.chat_id),
                name=member.name or identity.user_id,
                description=f"{role}, {where}" if where else role,
                is_facilitator=member.is_facilitator,
            ))
        return people

    async def command_list(self, language: str) -> list[tuple[str, str]]:
        t = self.services.translator(language)
        return [(command, t(description)) for command, description in membership.COMMANDS]

    async def transcript(self, address: Address, limit: int = 200) -> list[TranscriptEntry]:
        return await self.services.outbox.transcript(address, limit)

    async def wake(self, address: Address) -> None:
        await self.services.waker.wake_person(address)

    # --- deadlines --------------------------------------------------------------------------

    async def deadline_reached(self, discussion_id: int) -> None:
        """A deadline job fired: close the discussion if its deadline has really passed (an
        extension may have moved it), else plan it again."""
        services = self.services
        try:
            async with services.database.transaction():
                discussion = await services.discussions.get(discussion_id)
                if discussion is None or not discussion.is_open or discussion.deadline_at is None:
                    return
                if discussion.deadline_at > services.clock.now():
                    services.deadlines.schedule(discussion)
                    return
                await consolidation.close(services, discussion, by=None)
        finally:
            services.waker.wake()

    async def send_digests(self) -> None:
        await digests.send_due(self.services)

    async def reminder_due(self, discussion_id: int) -> None:
        services = self.services
        try:
            async with services.database.transaction():
                discussion = await services.discussions.get(discussion_id)
                if discussion is None or not discussion.is_open or discussion.deadline_at is None:
                    return
                if discussion.deadline_at - services.community.reminder_before > services.clock.now():
                    services.deadlines.schedule(discussion)
                    return
                await consolidation.remind(services, discussion)
        finally:
            services.waker.wake()

    # --- start-up -------------------------------------------------------------------------

    async def prepare(self) -> None:
        """Make sure every facilitator named in the configuration is known, so that cards
        reach them even before they have written to the bot; plan every open discussion's
        deadline again (one that passed while the bot was down closes now)."""
        services = self.services
        for discussion in await services.discussions.in_state(State.APPROVED):
            services.deadlines.schedule(discussion)
        now = services.clock.now()
        for platform, user_ids in services.facilitators.by_platform.items():
            for user_id in sorted(user_ids):
                async with services.database.transaction():
                    member = await services.members.find_by_identity(platform, user_id)
                    if member is None:
                        await services.members.create(Identity(platform, user_id, user_id), "", Role.FACILITATOR, now)
                    elif not member.is_facilitator:
                        await services.members.save(replace(member, role=Role.FACILITATOR))

    # --- routing --------------------------------------------------------------------------

    async def _turn_for(self, sender: Sender) -> tuple[Turn, bool]:
        services = self.services
        address = sender.address
        now = services.clock.now()
        private_chat = None if sender.in_group else (address.chat_id or address.user_id)
        member = await services.members.find_by_identity(address.platform, address.user_id)
        is_new = member is None
        if member is None:
            role = Role.FACILITATOR if services.facilitators.lists(address.platform, address.user_id) else Role.MEMBER
            identity = Identity(address.platform, address.user_id, private_chat or "", last_seen_at=now)
            member = await services.members.create(identity, sender.name.strip()[:80], role, now)
        else:
            await services.members.touch(address.platform, address.user_id, private_chat, now)
            member = await self._with_role(member)
        origin = address if sender.in_group or not private_chat else Address(address.platform, address.user_id, private_chat)
        return Turn(services, member, origin, services.translator(member.language), is_new=is_new), is_new

    async def _stranger(self, sender: Sender) -> bool:
        """Someone in a group who never wrote to the bot and is no listed facilitator: talking
        in a group does not make a person a member."""
        address = sender.address
        if self.services.facilitators.lists(address.platform, address.user_id):
            return False
        return await self.services.members.find_by_identity(address.platform, address.user_id) is None

    async def _answer_stranger_in_group(self, event: Incoming) -> Acknowledgement:
        if isinstance(event, ButtonPress):
            t = self.services.translator("")
            return Acknowledgement(notice=t("Only facilitators can do that."), refused=True)
        return Acknowledgement()

    async def _with_role(self, member: Member) -> Member:
        """Facilitators are who the configuration says, on the platforms it lists."""
        facilitators = self.services.facilitators
        listed = [facilitators.lists(i.platform, i.user_id) for i in member.identities if facilitators.has_list_for(i.platform)]
        if not listed:
            return member
        role = Role.FACILITATOR if any(listed) else Role.MEMBER
        if role is not member.role:
            member = replace(member, role=role)
            await self.services.members.save(member)
        return member

    async def _route(self, turn: Turn, event: Incoming, is_new: bool) -> None:
        if isinstance(event, ButtonPress):
            await self._press(turn, event.token)
        elif isinstance(event, IncomingCommand):
            await self._command(turn, event)
        elif isinstance(event, IncomingText):
            await self._text(turn, event, is_new)

    async def _command(self, turn: Turn, event: IncomingCommand) -> None:
        command = event.command.casefold()
        if event.sender.in_group and command not in GROUP_COMMANDS:
            if command in COMMANDS:
                await turn.say(turn.t("Please write to me in a private chat for that."))
            return
        if turn.member.status is Status.LEFT and command not in ("start", "help", "whoami"):
            await turn.refuse(Refusal("You have left the network. Send /start to join again."))
            return
        handler = COMMANDS.get(command)
        if handler is None:
            await turn.say(turn.t("I do not know /{command}. Send /help to see what I can do.", command=event.command[:32]))
            return
        await handler(turn, event.args)

    async def _text(self, turn: Turn, event: IncomingText, is_new: bool) -> None:
        services = self.services
        in_group = event.sender.in_group
        if turn.member.status is Status.LEFT:
            await turn.refuse(Refusal("You have left the network. Send /start to join again."))
            return
        if is_new and not in_group:
            await joining.start(turn, pending_question=event.text.strip())
            return
        if event.reply_to and not in_group:
            sent = await services.outbox.find_sent(event.sender.address, event.reply_to)
            if sent is not None and sent.purpose == "broadcast" and sent.discussion_id is not None:
                discussion = await services.discussions.get(sent.discussion_id)
                if discussion is not None:
                    await replying.receive(turn, discussion, event.text, anonymous=False)
                    return
        conversation = await services.conversations.get(turn.member.id)
        if conversation is not None:
            await self._answer(turn, conversation, event.text)
            return
        if in_group:
            return  # facilitators talking among themselves
        await asking.draft(turn, event.text)

    async def _answer(self, turn: Turn, conversation: Conversation, text: str) -> None:
        """The person's text is what the bot was waiting for."""
        step = conversation.step
        if step.startswith(("join.", "profile.")):
            await joining.answer(turn, step, text, conversation.data)
            return
        if step == "ask.draft":
            await asking.draft(turn, text)
            return
        discussion = await self.services.discussions.get(int(conversation.data.get("discussion", 0)))
        if discussion is None:
            await turn.stop_waiting()
            await turn.refuse(Refusal("This question no longer exists."))
            return
        if step.startswith(("moderate.", "consolidate.")) and not turn.member.is_facilitator:
            await turn.stop_waiting()
            await turn.refuse(Refusal("Only facilitators can do that."))
            return
        if step == "moderate.clarify":
            await moderation.clarification_request(turn, discussion, text)
        elif step == "moderate.edit":
            await moderation.new_text(turn, discussion, text)
        elif step == "moderate.reject":
            await moderation.reject(turn, discussion, text)
        elif step == "clarify.answer":
            await moderation.clarification_answer(turn, discussion, text)
        elif step == "reply":
            await replying.receive(turn, discussion, text, bool(conversation.data.get("anonymous")))
        elif step in ("consolidate.summary", "consolidate.full"):
            await consolidation.new_draft_text(turn, discussion, text, whole=step == "consolidate.full")
        else:
            log.warning("member %s was in an unknown step %r; starting afresh", turn.member.id, step)
            await turn.stop_waiting()
            await asking.draft(turn, text)

    async def _press(self, turn: Turn, token: str) -> None:
        decoded = self.services.codec.decode(token)
        if isinstance(decoded, Refusal):
            log.warning("refused a button token that is not ours from %s:%s: %r",
                        turn.origin.platform, turn.origin.user_id, token[:80])
            await turn.refuse(decoded)
            return
        rule = BUTTONS.get(decoded.action)
        if rule is None:
            log.warning("refused a signed button with an unknown action %r", decoded.action)
            await turn.refuse(Refusal("This button is not valid. Send /help to see what you can do."))
            return
        refusal = self._check_presser(turn.member, rule, decoded)
        if refusal is not None:
            log.info("refused %s's press of %s: %s", turn.member.id, decoded.action, refusal.reason)
            await turn.refuse(refusal)
            return
        discussion = None
        if rule.about_discussion:
            discussion = await self.services.discussions.get(decoded.subject)
            if discussion is None:
                log.info("button %s for discussion %s, which does not exist", decoded.action, decoded.subject)
                await turn.refuse(Refusal("This question no longer exists."))
                return
        await rule.handler(turn, discussion, decoded.arg)

    @staticmethod
    def _check_presser(member: Member, rule: ButtonRule, action: ButtonAction) -> Refusal | None:
        if member.status is Status.LEFT and action.action != joining.LANGUAGE:
            return Refusal("You have left the network. Send /start to join again.")
        if rule.who == "facilitator" and not member.is_facilitator:
            return Refusal("Only facilitators can do that.")
        if rule.who == "owner" and action.subject != member.id:
            return Refusal("This button was meant for someone else.")
        return None

    async def _apologise(self, sender: Sender) -> str:
        t = self.services.translator("")
        text = t("Sorry, something went wrong on our side. Your message is kept; please try again in a moment.")
        try:
            async with self.services.database.transaction():
                await self.services.outbox.enqueue([Envelope(sender.address, compose(text), Priority.ANSWER)])
        except Exception:
            log.exception("could not even apologise to %s:%s", sender.address.platform, sender.address.user_id)
        return text


async def _ask_command(turn: Turn, args: str) -> None:
    if args.strip():
        await asking.draft(turn, args)
    else:
        await turn.say(turn.t("Write your question in your next message: just the question, as you would ask a colleague."))


def _describe(event: Incoming) -> tuple[str, str]:
    if isinstance(event, IncomingText):
        return "text", event.text
    if isinstance(event, IncomingCommand):
        return "command", f"/{event.command} {event.args}".rstrip()
    return "button", event.token
