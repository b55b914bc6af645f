"""Email: a person's mail becomes the core's events, and the core's messages become mails.
It decides nothing about members or discussions.

In: a new mail is a text (its subject and body; only the subject or only the body when that
starts with a command word); a reply to one of the bot's mails is a text that replies to that
mail (found by In-Reply-To/References, or by "#12" in the subject), and the core decides what
a reply to it means; an action word on the first line of a reply (APPROVE, REJECT reason...)
or a button's label is a press of that button of the mail replied to, followed by the text it
carries. A link from a mail is a press too. Automatic mail is kept out; a bounce is reported.

Out: every message is one mail with a plain and an HTML part; buttons are links (see
links.py). Sending is paced by the delivery engine at `messages_per_second`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass

from adapters.email.composing import ACTION_WORDS, WORDS_WITH_TEXT, Identity, compose_mail
from adapters.email.inbound import ImapReader, SmtpListener
from adapters.email.links import LinkServer, LinkSigner, PressLink, UnsubscribeLink
from adapters.email.outbound import Relay
from adapters.email.reading import Bounce, PersonMail, Unanswerable, read_mail
from adapters.email.settings import EmailSettings
from adapters.received import well_formed_all
from bot.ports import (
    Address, Button, ButtonPress, Capabilities, DeliveryReport, DeliveryResult, DeliveryStatus, Envelope, Inbox,
    Incoming, IncomingCommand, IncomingText, Notice, PlatformContext, RetryLater, Sender, Sent, TranscriptEntry,
)

log = logging.getLogger(__name__)

PLATFORM = "email"
TRANSCRIPT_LOOKBACK = 200  # the bot's recent mails to a person, where a reply's original is looked for
# A reply can arrive before its mail is recorded as sent (the relay took the mail; the record
# follows a moment later, perhaps written by another worker): looked for again this often.
RECORDING_LOOKS = 20
RECORDING_PAUSE = 0.05  # seconds: a second in all, for a reply to a mail older than the lookback
SUBJECT_NUMBER = re.compile(r"(?<![\w#])#(\d{1,9})\b")
COMMAND = re.compile(r"^/([A-Za-z][A-Za-z0-9_]{0,31})(?:\s+(.*))?$", re.DOTALL)


@dataclass(frozen=True)
class Replied:
    """The bot's mail a person answered, and whether they named it by its Message-ID (proof
    that they received it) or only by the "#12" of its subject."""

    entry: TranscriptEntry
    by_message_id: bool


class EmailAdapter:
    platform = PLATFORM

    def __init__(self, settings: EmailSettings, context: PlatformContext = PlatformContext()) -> None:
        self.settings = settings
        self.languages = tuple(context.languages) or ("en",)
        self.identity = Identity(settings.address, settings.display_name or context.community_name)
        self.capabilities = Capabilities(
            max_text=100_000, max_buttons=20, max_button_label=64, can_edit=False, can_reply_to=True,
            can_toast=False, can_open_forms=False, messages_per_second=settings.messages_per_second,
            per_chat_interval=0.0, group_interval=0.0,
            # What most mail servers take in one message, with room for the encoding.
            can_send_documents=True, max_document_bytes=10_000_000,
        )
        self.signer = LinkSigner(settings.link_secret, settings.links_base, settings.link_max_age)
        self.links = LinkServer(self.signer, settings.link_host, settings.link_port, settings.display_name,
                                self._link_pressed, self._unsubscribed)
        self.relay = Relay(settings)
        self.receiver: SmtpListener | ImapReader = (
            ImapReader(settings, self.receive) if settings.inbound == "imap" else SmtpListener(settings, self.receive)
        )
        self._inbox: Inbox | None = None
        self._command_words: set[str] = set()
        self._hard_bounces: dict[str, int] = {}

    # --- life --------------------------------------------------------------------------------

    async def start(self, inbox: Inbox) -> None:
        self._inbox = inbox
        for language in self.languages:
            self._command_words |= {command.casefold() for command, _ in await inbox.command_list(language)}
        await self.links.start()
        await self.receiver.start()
        log.info("email: mail for %s taken in by %s; links served at %s", self.settings.address,
                 self.settings.inbound, self.settings.links_base)

    async def stop(self) -> None:
        await self.receiver.stop()
        await self.links.stop()
        await self.relay.close()

    @property
    def smtp_port(self) -> int:
        """The listener's real port (when 0 was configured, for tests)."""
        return self.receiver.port if isinstance(self.receiver, SmtpListener) else 0

    # --- sending -------------------------------------------------------------------------------

    async def send(self, envelope: Envelope) -> DeliveryResult:
        if isinstance(envelope.message, Notice) and not envelope.message.text:
            return Sent("")  # an empty toast stops a button's spinner; a mail has none
        recipient = envelope.to.destination
        message_id = self.identity.new_message_id(envelope.discussion_id, envelope.row, self.settings.link_secret)
        mail = compose_mail(
            envelope, self.identity, message_id,
            link_for=lambda button: self.signer.press_url(recipient, button.token, button.label, message_id),
            unsubscribe_url=self.signer.unsubscribe_url(recipient),
        )
        return await self.relay.deliver(mail, recipient, message_id)

    async def edit(self, envelope: Envelope, message_id: str) -> DeliveryResult:
        """A mail cannot change once sent (can_edit is False): the new version is a new mail."""
        return await self.send(envelope)

    # --- receiving -----------------------------------------------------------------------------

    async def receive(self, raw: bytes, envelope_sender: str | None) -> None:
        """One mail, from the SMTP listener or the mailbox."""
        read = well_formed_all(read_mail(raw, self.identity, self.languages, envelope_sender))
        if isinstance(read, Unanswerable):
            log.info("email: a mail from %s (%r) is kept out of the conversation and not answered: %s",
                     read.sender or "?", read.subject[:80], read.reason)
            return
        if isinstance(read, Bounce):
            await self._bounced(read)
            return
        for event in await self.events(read):
            await self._handle(event)

    async def events(self, mail: PersonMail) -> list[Incoming]:
        sender = Sender(Address(PLATFORM, mail.address, mail.address), mail.name)
        replied = await self._replied(sender.address, mail)
        if replied is not None and replied.by_message_id:
            pressed = self._pressed(sender, mail, replied.entry)
            if pressed:
                return pressed
        if replied is not None:
            return [_text_event(sender, mail.text or mail.subject, mail.message_id, replied.entry.message_id)]
        return [_text_event(sender, self._new_mail_text(mail), mail.message_id)]

    def _pressed(self, sender: Sender, mail: PersonMail, entry: TranscriptEntry) -> list[Incoming]:
        """An action word or a button's label on the first line of a reply: that button of the
        mail replied to, then the text the word carries (a reason, a question, a new text)."""
        buttons = [button for row in entry.message.buttons for button in row]
        action = read_action(mail.text, buttons)
        if action is None:
            return []
        button, text = action
        events: list[Incoming] = [ButtonPress(sender, button.token, entry.message_id, event_id=mail.message_id)]
        if text:
            events.append(IncomingText(sender, text, event_id=f"{mail.message_id}/text"))
        return events

    def _new_mail_text(self, mail: PersonMail) -> str:
        """A new mail's subject is its title and the body its text; a command word at the start
        of the subject or the body is sent as the command alone, without the rest."""
        if _first_word(mail.subject) in self._command_words and not mail.subject.endswith("?"):
            return mail.subject
        if _first_word(mail.text) in self._command_words:
            return mail.text
        if not mail.subject or mail.text.startswith(mail.subject):
            return mail.text or mail.subject
        return f"{mail.subject}\n\n{mail.text}" if mail.text else mail.subject

    async def _replied(self, address: Address, mail: PersonMail) -> Replied | None:
        """The bot's mail this one answers: by its Message-ID, else by "#12" in the subject
        (or the discussion a thread's root names), the latest mail about it with buttons."""
        if not mail.is_reply and not SUBJECT_NUMBER.search(mail.subject):
            return None
        sent = await self._sent(address)
        answered = mail.replied_ids[0] if mail.replied_ids else ""
        for _ in range(RECORDING_LOOKS):
            if not self._being_recorded(answered, sent):
                break
            await asyncio.sleep(RECORDING_PAUSE)
            sent = await self._sent(address)
        by_id = {entry.message_id: entry for entry in sent}
        for message_id in mail.replied_ids:
            if message_id in by_id:
                return Replied(by_id[message_id], by_message_id=True)
        number = self._discussion_named(mail)
        if number is None:
            return None
        about = [entry for entry in sent if _discussion_of(self.identity, entry.message_id) == number]
        with_buttons = [entry for entry in about if entry.message.buttons]
        chosen = (with_buttons or about)[-1:]
        return Replied(chosen[0], by_message_id=False) if chosen else None

    async def _sent(self, address: Address) -> list[TranscriptEntry]:
        return [entry for entry in await self._transcript(address) if entry.from_bot and entry.message_id]

    def _being_recorded(self, message_id: str, sent: list[TranscriptEntry]) -> bool:
        """One of the bot's own mails (not a thread's root, which no mail has), not yet among
        those recorded as sent."""
        if not self.identity.own_message_id(message_id) or message_id.startswith("<" + "0" * 24):
            return False
        return all(entry.message_id != message_id for entry in sent)

    def _discussion_named(self, mail: PersonMail) -> int | None:
        for message_id in mail.replied_ids:
            number = _discussion_of(self.identity, message_id)
            if number is not None:
                return number
        found = SUBJECT_NUMBER.search(mail.subject)
        return int(found.group(1)) if found else None

    async def _transcript(self, address: Address) -> list[TranscriptEntry]:
        assert self._inbox is not None
        return await self._inbox.transcript(address, TRANSCRIPT_LOOKBACK)

    async def _handle(self, event: Incoming) -> None:
        assert self._inbox is not None, "the email adapter is not started"
        acknowledgement = await self._inbox.handle(event)
        if not acknowledgement.accepted:
            log.info("email: the core refused an event from %s: %s", event.sender.address.user_id,
                     acknowledgement.refusal)

    # --- bounces ---------------------------------------------------------------------------------

    async def _bounced(self, bounce: Bounce) -> None:
        """A hard bounce for a mailbox that does not exist makes the address unreachable at once;
        other hard bounces after `hard_bounces_before_unreachable` of them; the rest is a failed
        attempt, which the core tries again."""
        assert self._inbox is not None
        for failure in bounce.failures:
            status = DeliveryStatus.FAILED
            if failure.hard:
                key = failure.recipient or bounce.original_message_id
                self._hard_bounces[key] = self._hard_bounces.get(key, 0) + 1
                if failure.no_such_mailbox or self._hard_bounces[key] >= self.settings.hard_bounces_before_unreachable:
                    status = DeliveryStatus.UNDELIVERABLE
            log.info("email: %s bounced for %s (%s %s): reported as %s", bounce.original_message_id,
                     failure.recipient, failure.status, failure.reason, status.value)
            await self._inbox.report(DeliveryReport(PLATFORM, bounce.original_message_id, status,
                                                    f"bounced: {failure.status} {failure.reason}"[:300]))

    # --- links -------------------------------------------------------------------------------------

    async def _link_pressed(self, link: PressLink) -> None:
        sender = Sender(Address(PLATFORM, link.address, link.address))
        await self._handle(ButtonPress(sender, link.token, link.message_id, event_id=f"link:{link.nonce}"))

    async def _unsubscribed(self, link: UnsubscribeLink) -> None:
        sender = Sender(Address(PLATFORM, link.address, link.address))
        await self._handle(IncomingText(sender, "pause", event_id=f"unsubscribe:{link.nonce}"))


def read_action(text: str, buttons: list[Button]) -> tuple[Button, str] | None:
    """The button a reply's first line stands for, and the text that goes with it.

    "APPROVE", "REJECT off topic", "CLARIFY which country?", "EDIT" and the new text (on the
    same line or below), "PUBLISH"; or the whole first line being a button's label ("Close
    now", "Skip", "English")."""
    first_line, _, rest = text.strip().partition("\n")
    first_line = first_line.strip()
    head, _, tail = first_line.partition(" ")
    word = head.strip(":,.!").casefold()
    if word in ACTION_WORDS:
        labels = ACTION_WORDS[word]
        button = next((b for b in buttons if b.label.casefold() in labels or b.short.casefold() in labels), None)
        if button is not None:
            carried = "\n".join(part for part in (tail.strip(), rest.strip()) if part)
            return button, carried if word in WORDS_WITH_TEXT else ""
    wanted = first_line.rstrip(".!").casefold()
    for button in buttons:
        if wanted and wanted in (button.label.casefold(), button.short.casefold()):
            return button, ""
    return None


def _text_event(sender: Sender, text: str, event_id: str, reply_to: str | None = None) -> Incoming:
    """A text, or a command when it starts with "/" as in a chat ("/search cash")."""
    command = COMMAND.match(text.strip())
    if command:
        return IncomingCommand(sender, command.group(1), (command.group(2) or "").strip(), event_id=event_id)
    return IncomingText(sender, text, reply_to=reply_to, event_id=event_id)


def _first_word(text: str) -> str:
    match = re.match(r"^\s*/?([A-Za-z]+)\b", text)
    return match.group(1).casefold() if match else ""


def _discussion_of(identity: Identity, message_id: str) -> int | None:
    match = identity.own_message_id(message_id)
    return int(match.group(1)) if match and match.group(1) else None
