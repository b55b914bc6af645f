"""Routing one event to its use case, inside the transaction that handles it: find (or
enrol) the person, resolve the command, button, form or awaited text through the routes
table, check the route's rules in order, and call the feature that owns it."""

from __future__ import annotations

import logging

from bot.clock import Clock
from bot.domain.refusal import Refusal
from bot.ports import (
    Address, ButtonPress, FormSubmitted, HomeOpened, Incoming, IncomingCommand, IncomingText, Notice, Purpose, Sender,
)
from bot.services.asking import Asking
from bot.services.buttons import ButtonCodec
from bot.services.conversation import Conversation, ConversationStore
from bot.services.discussions import DiscussionStore
from bot.services.home import Home
from bot.services.joining import Joining
from bot.services.messaging import Messenger
from bot.services.outbox import Outbox
from bot.services.people import People
from bot.services.replying import Replying
from bot.services.routes import About, Routes
from bot.services.rules import (
    NOT_A_STRANGER_IN_A_GROUP, NOT_LEFT, NOT_MUTED, NOT_REMOVED, Attempt, Rule, first_refusal,
)
from bot.services.turn import Form, Turn

log = logging.getLogger(__name__)

NO_LONGER_EXISTS = Refusal("This question no longer exists.")
INVALID_BUTTON = Refusal("This button is not valid. Send /help to see what you can do.")


class Dispatcher:
    def __init__(self, routes: Routes, people: People, conversations: ConversationStore,
                 discussions: DiscussionStore, outbox: Outbox, codec: ButtonCodec, messenger: Messenger,
                 clock: Clock, joining: Joining, asking: Asking, replying: Replying, home: Home) -> None:
        self.routes = routes
        self.people = people
        self.conversations = conversations
        self.discussions = discussions
        self.outbox = outbox
        self.codec = codec
        self.messenger = messenger
        self.clock = clock
        self.joining = joining
        self.asking = asking
        self.replying = replying
        self.home = home

    async def dispatch(self, event: Incoming) -> None:
        sender = event.sender
        known = await self.people.find(sender)
        stranger = NOT_A_STRANGER_IN_A_GROUP.check(Attempt(sender, known, self.people.listed(sender)))
        if stranger is not None:
            await self._turn_away(event, stranger)
            return
        first_time = self.people.first_time(sender, known)
        member = await self.people.greet(sender, known)
        address = sender.address
        origin = address if sender.in_group else Address(address.platform, address.user_id,
                                                         address.chat_id or address.user_id)
        turn = Turn(
            member=member, origin=origin, t=self.messenger.translator(member.language),
            capabilities=self.messenger.capabilities(address.platform), messenger=self.messenger,
            conversations=self.conversations, codec=self.codec, clock=self.clock,
            interaction=getattr(event, "interaction", None), is_new=first_time,
            pressed_message=event.message_id if isinstance(event, ButtonPress) else None,
            is_press=isinstance(event, ButtonPress),
        )
        if isinstance(event, ButtonPress):
            await self._press(turn, event)
        elif isinstance(event, FormSubmitted):
            await self._form(turn, event)
        elif isinstance(event, IncomingCommand):
            await self._command(turn, sender, event.command, event.args)
        elif isinstance(event, HomeOpened):
            await self.home.opened(turn)
        else:
            await self._text(turn, event)
        await turn.finish()

    async def _turn_away(self, event: Incoming, refusal: Refusal) -> None:
        """Someone in a group who never wrote to the bot: a button press is told no, the rest
        is kept in the inbound log and left alone."""
        sender = event.sender
        log.info("%s:%s is not a member: their %s in a group is ignored", sender.address.platform,
                 sender.address.user_id, type(event).__name__)
        interaction = getattr(event, "interaction", None)
        if isinstance(event, ButtonPress) and interaction is not None:
            t = self.messenger.translator("")
            await self.messenger.say(sender.address, None, Notice(t(refusal.reason), interaction, refused=True),
                                     Purpose.NOTICE)

    async def _allowed(self, turn: Turn, rules: tuple[Rule, ...], attempt: Attempt, what: str) -> bool:
        refused = first_refusal(rules, attempt)
        if refused is None:
            return True
        rule, refusal = refused
        log.info("refused %s to member %s (%s)", what, turn.member.id, rule.name)
        await turn.refuse(refusal)
        return False

    # --- commands ----------------------------------------------------------------------------

    async def _command(self, turn: Turn, sender: Sender, name: str, args: str) -> None:
        route = self.routes.command(name)
        if route is None:
            if not sender.in_group:  # in a group, a command may be for another bot
                await turn.say(turn.t("I do not know /{command}. Send /help to see what I can do.", command=name[:32]))
            return
        if await self._allowed(turn, route.rules, Attempt(sender, turn.member), f"/{route.command.value}"):
            await route.handler(turn, args)

    # --- text --------------------------------------------------------------------------------

    async def _text(self, turn: Turn, event: IncomingText) -> None:
        sender, text = event.sender, event.text
        conversation = await turn.waiting()
        if not sender.in_group:
            plain = self.routes.plain_command(text, waiting=conversation is not None,
                                              facilitator=turn.member.is_facilitator)
            if plain is not None:
                route, args = plain
                await self._command(turn, sender, route.command.value, args)
                return
        attempt = Attempt(sender, turn.member)
        if not await self._allowed(turn, (NOT_REMOVED, NOT_LEFT), attempt, "a message"):
            return
        if turn.is_new and not sender.in_group:
            await self.joining.start(turn, pending_question=text.strip())
            return
        replied_to = None
        if event.reply_to and not sender.in_group:
            replied_to = await self.outbox.find_sent(sender.address, event.reply_to)
            if replied_to is not None and self.replying.replies_to(replied_to.message):
                if await self._allowed(turn, (NOT_MUTED,), attempt, "a reply"):
                    await self.replying.reply_to_message(turn, replied_to.message, text)
                return
        if conversation is not None:
            await self._answer(turn, sender, conversation, text)
            return
        if sender.in_group:
            return  # facilitators talking among themselves
        if await self._allowed(turn, (NOT_MUTED,), attempt, "a question"):
            if replied_to is not None:  # a reply to a message that asks for none: what is meant?
                await self.asking.unclear_reply(turn, text)
            else:
                await self.asking.draft(turn, text)

    async def _answer(self, turn: Turn, sender: Sender, conversation: Conversation, text: str) -> None:
        """The person's text is what the bot was waiting for."""
        route = self.routes.steps.get(conversation.step)
        if route is None:
            log.warning("member %s was in an unknown step %r; starting afresh", turn.member.id, conversation.step)
            await turn.stop_waiting()
            await self.asking.draft(turn, text)
            return
        if route.about is About.MEMBER:
            if await self._allowed(turn, route.rules, Attempt(sender, turn.member), conversation.step):
                await route.handler(turn, text, conversation.data)
            return
        discussion = await self.discussions.get(int(conversation.data.get("discussion", 0)))
        if discussion is None:
            await turn.stop_waiting()
            await turn.refuse(NO_LONGER_EXISTS)
            return
        if not await self._allowed(turn, route.rules, Attempt(sender, turn.member, discussion=discussion),
                                   conversation.step):
            await turn.stop_waiting()
            return
        await route.handler(turn, discussion, text, conversation.data)

    # --- buttons and forms -------------------------------------------------------------------

    async def _press(self, turn: Turn, event: ButtonPress) -> None:
        decoded = self.codec.decode(event.token)
        if isinstance(decoded, Refusal):
            log.warning("refused a button token that is not ours from %s:%s: %r",
                        turn.origin.platform, turn.origin.user_id, event.token[:80])
            await turn.refuse(decoded)
            return
        route = self.routes.buttons.get(decoded.action)
        if route is None:
            log.warning("refused a signed button with an unknown action %r", decoded.action)
            await turn.refuse(INVALID_BUTTON)
            return
        discussion = None
        if route.about is About.DISCUSSION:
            discussion = await self.discussions.get(decoded.subject)
            if discussion is None:
                log.info("button %s for discussion %s, which does not exist", decoded.action, decoded.subject)
                await turn.refuse(NO_LONGER_EXISTS)
                return
        attempt = Attempt(event.sender, turn.member, subject=decoded.subject, discussion=discussion)
        if not await self._allowed(turn, route.rules, attempt, f"the {decoded.action} button"):
            return
        if discussion is not None:
            await route.handler(turn, discussion, decoded.arg)
        else:
            await route.handler(turn, decoded.arg)

    async def _form(self, turn: Turn, event: FormSubmitted) -> None:
        """A form answers the step that opened it, as the person's next message would."""
        decoded = self.codec.decode(event.token)
        if isinstance(decoded, Refusal) or decoded.action != Form.ANSWER or decoded.subject != turn.member.id:
            log.warning("refused a form token that is not this person's: %r", event.token[:80])
            await turn.refuse(INVALID_BUTTON)
            return
        conversation = await turn.waiting()
        if conversation is None or conversation.data.get("form") != decoded.arg:
            await turn.refuse(Refusal("This form is no longer current: what it answered has moved on."))
            return
        await self._answer(turn, event.sender, conversation, event.text)
