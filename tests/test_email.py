"""Email end to end: people write to the adapter's own SMTP listener with aiosmtplib, the bot
sends through a real aiosmtpd relay (tests/fakes/mail.py), links are opened over HTTP, the
database is a real SQLite file; Telegram runs beside it on the fake Bot API."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import aioimaplib
import aiosmtplib
import pytest
from itsdangerous import TimestampSigner

from adapters.email import PLUGIN, EmailAdapter
from adapters.email.outbound import check_relay
from bot.ports import (
    Address, Button, ButtonPress, Card, DeliveryReport, Document, Envelope, Field, IncomingCommand, IncomingText, Message,
    Purpose, RetryLater, Sent, Span, Style, TranscriptEntry,
)
from bot.settings_reader import ConfigError, Section
from tests.email_network import (
    FATOU, NETWORK, email_adapter, email_settings, free_port, join_by_email, network_settings, person,
    start_app,
)
from tests.fakes.mail import MailPerson, MailSink, ReceivedMail, delivery_report, send_raw_to_bot, send_to_bot
from tests.fakes.telegram_api import FakeTelegram
from tests.inbox_recorder import RecordingInbox
from tests.telegram_network import join as join_on_telegram
from tests.storage_backend import rows as backend_rows, storage_toml

ROOT = Path(__file__).resolve().parent.parent
DOVECOT = Path("/usr/sbin/dovecot")


def rows(settings: Any, sql: str, *parameters: Any) -> list[tuple]:
    return backend_rows(settings.storage_path, sql, parameters)


async def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    async with asyncio.timeout(timeout):
        while not (result := check()):
            await asyncio.sleep(0.05)
    return result


def reachable(settings: Any, address: str) -> list[tuple]:
    return rows(settings, "SELECT reachable FROM identity WHERE platform = 'email' AND user_id = ?", address)


@pytest.fixture
async def sink() -> AsyncIterator[MailSink]:
    async with MailSink() as running:
        yield running


# --- the whole story -------------------------------------------------------------------------------


async def test_members_on_email_and_telegram_take_part_and_a_facilitator_moderates_from_the_inbox(sink, tmp_path):
    async with FakeTelegram() as telegram:
        settings = network_settings(tmp_path, sink, telegram)
        app = await start_app(settings)
        try:
            amina = person(sink, settings, "Amina@NGO.test", "Amina Bello")
            chidi = person(sink, settings, "chidi@ministry.test", "Chidi")
            fatou = person(sink, settings, FATOU, "Fatou")
            bola = telegram.user(502, "Bola")
            await asyncio.gather(
                join_by_email(amina, "How do we measure multidimensional child poverty?",
                              "We are building an index <with> weights & need advice.\n\n-- \nAmina\nSave the Children",
                              organization="Save the Children"),
                join_by_email(chidi, "start", organization="Ministry of Social Development"),
                join_on_telegram(bola, "Bola"),
            )

            # Amina's first mail was her question: it comes back as a draft, submitted by replying.
            draft = await amina.receives("Here is your question")
            assert "multidimensional child poverty" in draft.text and "<with> weights & need advice." in draft.text
            assert "&lt;with&gt; weights &amp; need advice." in draft.html and "<with>" not in draft.html
            question_part = draft.text.split("Here is your question:", 1)[1].split("Shall I send it")[0]
            assert "-- " not in question_part and "Save the Children" not in question_part  # signature cut
            await amina.replies(draft, "Submit")
            await amina.receives("is with the facilitators")

            # The facilitator approves by replying APPROVE to the card.
            card = await fatou.receives("Question #1 is waiting for approval")
            assert card.subject == "[Test Network] #1 Question #1 is waiting for approval"
            assert {"Approve", "Ask to clarify", "Edit", "Reject"} <= set(card.labels())
            assert "Amina Bello (Save the Children)" in card.text
            await fatou.replies(card, "APPROVE")
            approved = await fatou.receives("Question #1 was approved by")
            assert approved.labels()[:2] == ["Close now", "Extend by a week"]

            # Members on email and on Telegram receive it.
            question = await chidi.receives("Question #1 from Amina")
            assert question.subject == "[Test Network] #1 How do we measure multidimensional child poverty?"
            assert "multidimensional child poverty" in question.text
            assert question.header("Reply-To") == NETWORK and question.header("Precedence") == "list"
            on_telegram = await bola.receives("Question #1 from Amina")
            await amina.receives("was approved and shared with 2 members")  # not Fatou, who approved it

            # Chidi replies by replying; Amina gets it, attributed, without the quoted mail.
            await chidi.replies(question, "Cash plus care worked in Ghana.\n\nBest regards,\nChidi")
            forwarded = await amina.receives("Reply to your question #1")
            assert "Chidi (Ministry of Social Development)" in forwarded.text
            assert "Cash plus care worked in Ghana." in forwarded.text and "wrote:" not in forwarded.text
            await bola.reply_to(on_telegram, "Parenting sessions with the transfers.")
            await amina.receives("Parenting sessions")

            # Another question is approved by its link: opening it does nothing, confirming does.
            await chidi.writes("Which registries help find children out of school?", "We have a school census.")
            await chidi.replies(await chidi.receives("Here is your question"), "Submit")
            second = await fatou.receives("Question #2 is waiting for approval")
            approve = second.links["Approve"]
            status, page = await fatou.opens(approve)
            assert status == 200 and '<form method="post">' in page
            await asyncio.sleep(0.3)
            assert rows(settings, "SELECT state FROM discussion WHERE id = 2") == [("submitted",)]
            status, page = await fatou.confirms(approve)
            assert status == 200 and "Done" in page
            await bola.receives("Question #2 from Chidi")
            assert (await amina.receives("Question #2 from Chidi")).subject == ("[Test Network] #2 Which registries help "
                                                                               "find children out of school?")

            # The facilitator closes question #1 and publishes its consolidated reply by email.
            await fatou.replies(approved, "Close now")
            confirm = await fatou.receives("Close question #1 now?")
            await fatou.replies(confirm, "Yes, close it")
            draft_card = await fatou.receives("Draft consolidated reply to question #1")
            await fatou.replies(draft_card, "PUBLISH")
            consolidated = await amina.receives("Consolidated reply")
            assert "Cash plus care worked in Ghana." in consolidated.text
            await chidi.receives("Consolidated reply")
            await bola.receives("Consolidated reply")
            assert rows(settings, "SELECT state FROM discussion WHERE id = 1") == [("published",)]
            assert telegram.refused == [] and sink.refused == []
        finally:
            await app.stop()


async def test_a_facilitator_asks_to_clarify_then_rejects_with_a_reason_by_replying(sink, tmp_path):
    settings = network_settings(tmp_path, sink)
    app = await start_app(settings)
    try:
        amina, fatou = person(sink, settings, "amina@ngo.test", "Amina"), person(sink, settings, FATOU, "Fatou")
        await join_by_email(amina, "start")
        await amina.writes("Cash transfers", "How do cash transfers reach remote areas?")
        await amina.replies(await amina.receives("Here is your question"), "Submit")

        card = await fatou.receives("Question #1 is waiting for approval")
        await fatou.replies(card, "CLARIFY Which country do you work in?")
        asked = await amina.receives("Which country do you work in?")
        await amina.replies(asked, "Northern Nigeria, in rural areas.")
        updated = await fatou.receives("Question #1 is waiting for approval")
        assert "Northern Nigeria" in updated.text

        await fatou.replies(updated, "REJECT This is already answered in the archive.\nSee question 4.")
        told = await amina.receives("will not be shared")
        assert "This is already answered in the archive.\nSee question 4." in told.text
        assert rows(settings, "SELECT state, reason FROM discussion") == [
            ("rejected", "This is already answered in the archive.\nSee question 4.")]
    finally:
        await app.stop()


# --- what is never answered -----------------------------------------------------------------------


AUTOMATIC = {
    "out-of-office": {"Auto-Submitted": "auto-replied"},
    "bulk": {"Precedence": "bulk"},
    "list": {"Precedence": "list"},
    "x-autoreply": {"X-Autoreply": "yes"},
    "x-autorespond": {"X-Autorespond": "Away until Monday"},
}


async def test_out_of_office_answers_and_loops_are_kept_out_and_never_answered(sink, tmp_path):
    settings = network_settings(tmp_path, sink)
    app = await start_app(settings)
    try:
        adapter = email_adapter(app)
        robots = {}
        for name, headers in AUTOMATIC.items():
            robot = robots[name] = person(sink, settings, f"{name}@away.test", "Away")
            await robot.writes("Out of office: I am away until Monday", "I will read your mail when I am back.",
                               headers=headers)
        null_sender = robots["null-sender"] = person(sink, settings, "daemon@away.test")
        await null_sender.send(null_sender.compose("Vacation", "Away."), mail_from="")
        own_id = person(sink, settings, "forwarder@away.test")
        message = own_id.compose("Fwd", "Back to you.")
        message.replace_header("Message-ID", adapter.identity.new_message_id(3))
        await own_id.send(message)
        robots["own-id"] = own_id
        itself = person(sink, settings, NETWORK)
        await itself.writes("Loop", "The network writing to itself.")
        robots["itself"] = itself

        control = person(sink, settings, "newcomer@ngo.test", "Newcomer")
        await control.writes("Hello", "I would like to join.")
        await control.receives("What is your name")
        await asyncio.sleep(0.3)
        assert {name: len(robot.mails) for name, robot in robots.items() if robot.mails} == {}
        assert rows(settings, "SELECT user_id FROM inbound") == [("newcomer@ngo.test",)]
        assert rows(settings, "SELECT count(*) FROM member") == [(2,)]  # the newcomer and the facilitator
    finally:
        await app.stop()


# --- delivery failures -----------------------------------------------------------------------------


async def test_a_5xx_at_sending_marks_the_address_unreachable_and_a_4xx_is_tried_again(sink, tmp_path):
    settings = network_settings(tmp_path, sink)
    app = await start_app(settings)
    try:
        sink.refuse("ghost@ngo.test", "550 5.1.1 <ghost@ngo.test>: Recipient address rejected: User unknown")
        sink.refuse("greylisted@ngo.test", "451 4.7.1 Greylisted, try again later", times=1)
        ghost = person(sink, settings, "ghost@ngo.test", "Ghost")
        greylisted = person(sink, settings, "greylisted@ngo.test", "Grey")
        await ghost.writes("Hello", "Is this the network?")
        await greylisted.writes("Hello", "Is this the network?")

        await greylisted.receives("What is your name", timeout=15)
        assert ("greylisted@ngo.test", "451 4.7.1 Greylisted, try again later") in sink.refused
        assert reachable(settings, "greylisted@ngo.test") == [(1,)]
        await eventually(lambda: reachable(settings, "ghost@ngo.test") == [(0,)])
        assert rows(settings, "SELECT state FROM outbox WHERE user_id = 'ghost@ngo.test'")[0] == ("failed",)
        assert ghost.mails == []
    finally:
        await app.stop()


async def test_a_hard_bounce_marks_the_address_unreachable_and_a_soft_one_does_not(sink, tmp_path):
    settings = network_settings(tmp_path, sink, hard_bounces_before_unreachable=2)
    app = await start_app(settings)
    try:
        port = settings.platform("email").smtp_listen_port
        gone, full, blocked = (person(sink, settings, f"{name}@ngo.test", name.title())
                               for name in ("gone", "full", "blocked"))
        for someone in (gone, full, blocked):
            await someone.writes("Hello", "Is this the network?")
        welcome_gone, welcome_full = await gone.receives("What is your name"), await full.receives("What is your name")
        await blocked.receives("What is your name")
        await blocked.writes("help")
        answers = [await blocked.receives("What I can do")]

        # The relay accepted the mails, then bounced them (with the null sender, as relays do).
        await send_raw_to_bot(delivery_report(welcome_gone, "5.1.1", "550 5.1.1 User unknown"), port, "", NETWORK)
        await send_raw_to_bot(delivery_report(welcome_full, "4.2.2", "452 4.2.2 Mailbox full"), port, "", NETWORK)
        await eventually(lambda: reachable(settings, "gone@ngo.test") == [(0,)])
        await asyncio.sleep(0.3)
        assert reachable(settings, "full@ngo.test") == [(1,)]
        assert rows(settings, "SELECT state FROM outbox WHERE message_id IS NULL AND user_id = 'full@ngo.test'") == [
            ("queued",)]  # to be tried again

        # Other hard bounces count only when they repeat.
        first = blocked.mails[0]
        await send_raw_to_bot(delivery_report(first, "5.7.1", "550 5.7.1 Message refused by policy"), port, "",
                              NETWORK)
        await asyncio.sleep(0.3)
        assert reachable(settings, "blocked@ngo.test") == [(1,)]
        await send_raw_to_bot(delivery_report(answers[0], "5.7.1", "550 5.7.1 Message refused by policy"), port, "",
                              NETWORK)
        await eventually(lambda: reachable(settings, "blocked@ngo.test") == [(0,)])
        assert rows(settings, "SELECT count(*) FROM inbound") == [(4,)]  # the people's mails, no bounce
    finally:
        await app.stop()


# --- links --------------------------------------------------------------------------------------------


async def submitted_question(sink: MailSink, settings: Any) -> tuple[MailPerson, ReceivedMail]:
    """Amina has joined and asked; the facilitator's card, with its links."""
    amina, fatou = person(sink, settings, "amina@ngo.test", "Amina"), person(sink, settings, FATOU, "Fatou")
    await join_by_email(amina, "start")
    await amina.writes("Registries", "Which registries help find children out of school?")
    await amina.replies(await amina.receives("Here is your question"), "Submit")
    return fatou, await fatou.receives("Question #1 is waiting for approval")


async def test_a_reused_or_expired_link_is_refused_with_a_clear_page(sink, tmp_path, monkeypatch):
    settings = network_settings(tmp_path, sink)
    app = await start_app(settings)
    try:
        fatou, card = await submitted_question(sink, settings)
        adapter = email_adapter(app)
        reject = card_token(card, adapter, "Reject")
        with monkeypatch.context() as past:
            past.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 15 * 86400)
            expired = adapter.signer.press_url(FATOU, reject, "Reject", card.message_id)
        for method in (fatou.opens, fatou.confirms):
            status, page = await method(expired)
            assert status == 410 and "This link has expired" in page

        approve = card.links["Approve"]
        assert (await fatou.confirms(approve))[0] == 200
        await fatou.receives("Question #1 was approved by")
        status, page = await fatou.confirms(approve)
        assert status == 409 and "This link was already used" in page
        status, _ = await fatou.opens(approve)
        assert status == 200  # looking at it again is harmless
        assert rows(settings, "SELECT state FROM discussion") == [("approved",)]
        assert rows(settings, "SELECT count(*) FROM inbound WHERE kind = 'button' AND user_id = ?", FATOU) == [(1,)]
    finally:
        await app.stop()


def card_token(card: ReceivedMail, adapter: EmailAdapter, label: str) -> str:
    link = adapter.signer.read_press(card.links[label].rsplit("/", 1)[1])
    assert not hasattr(link, "status"), link
    return link.token  # type: ignore[union-attr]


async def test_a_forged_link_is_refused_and_does_nothing(sink, tmp_path):
    settings = network_settings(tmp_path, sink)
    app = await start_app(settings)
    try:
        fatou, card = await submitted_question(sink, settings)
        approve = card.links["Approve"]
        base, signed = approve.rsplit("/", 1)
        payload, stamp, signature = signed.rsplit(".", 2)
        tampered = f"{base}/{payload}.{stamp}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
        from adapters.email.links import LinkSigner

        other_secret = LinkSigner("another-secret-of-someone-else", base.rsplit("/email", 1)[0], 86400)
        made_elsewhere = other_secret.press_url(FATOU, card_token(card, email_adapter(app), "Approve"), "Approve",
                                                card.message_id)
        for link in (tampered, made_elsewhere, base + "/not-a-link-at-all"):
            for method in (fatou.opens, fatou.confirms):
                status, page = await method(link)
                assert status == 400 and "This link is not valid" in page
        await asyncio.sleep(0.3)
        assert rows(settings, "SELECT state FROM discussion") == [("submitted",)]
        assert rows(settings, "SELECT count(*) FROM inbound WHERE user_id = ?", FATOU) == [(0,)]
    finally:
        await app.stop()


async def test_list_unsubscribe_one_click_pauses_the_member(sink, tmp_path):
    settings = network_settings(tmp_path, sink)
    app = await start_app(settings)
    try:
        amina = person(sink, settings, "amina@ngo.test", "Amina")
        welcome = await join_by_email(amina, "start")
        assert welcome.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
        one_click = welcome.header("List-Unsubscribe").split(",")[0].strip().strip("<>")
        assert one_click.startswith("http://127.0.0.1:") and "mailto:network@cpn.test?subject=pause" in \
            welcome.header("List-Unsubscribe")
        status, page = await amina.opens(one_click)  # a scanner fetching it changes nothing
        assert status == 200
        assert rows(settings, "SELECT status FROM member WHERE name = 'Amina'") == [("active",)]
        status, _ = await amina.confirms(one_click, {"List-Unsubscribe": "One-Click"})
        assert status == 200
        await eventually(lambda: rows(settings, "SELECT status FROM member WHERE name = 'Amina'") == [("paused",)])
    finally:
        await app.stop()


async def test_a_mail_delivered_twice_is_handled_once(sink, tmp_path):
    settings = network_settings(tmp_path, sink)
    app = await start_app(settings)
    try:
        amina = person(sink, settings, "amina@ngo.test", "Amina")
        message = amina.compose("Hello", "I would like to join.")
        await amina.send(message)
        await amina.send(message)  # the organization's server delivers it again
        await amina.writes("help")
        await amina.receives("What I can do")
        assert [m for m in amina.mails if "What is your name" in m.text][1:] == []
        assert rows(settings, "SELECT count(*) FROM inbound") == [(2,)]
    finally:
        await app.stop()


# --- the adapter on its own -----------------------------------------------------------------------------


class ScriptedInbox(RecordingInbox):
    """Records events and reports; the transcript is the bot's mails the test says were sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[TranscriptEntry] = []
        self.reports: list[DeliveryReport] = []

    async def transcript(self, address: Address, limit: int = 200) -> list[TranscriptEntry]:
        return self.sent[-limit:]

    async def report(self, report: DeliveryReport) -> None:
        self.reports.append(report)

    async def command_list(self, language: str) -> list[tuple[str, str]]:
        return [("help", "What I can do"), ("search", "Search"), ("pause", "Pause")]


@pytest.fixture
async def alone(sink) -> AsyncIterator[tuple[EmailAdapter, ScriptedInbox, MailPerson]]:
    adapter = EmailAdapter(email_settings(sink))
    inbox = ScriptedInbox()
    await adapter.start(inbox)
    someone = MailPerson(sink, "pat@ngo.test", "Pat Doe", NETWORK, adapter.smtp_port)
    try:
        yield adapter, inbox, someone
    finally:
        await adapter.stop()


async def sent_to(adapter: EmailAdapter, inbox: ScriptedInbox, someone: MailPerson, message: Any,
                  discussion_id: int | None = None, purpose: Purpose = Purpose.ANSWER) -> ReceivedMail:
    envelope = Envelope(Address("email", someone.address, someone.address), message, purpose,
                        discussion_id=discussion_id)
    result = await adapter.send(envelope)
    assert isinstance(result, Sent), result
    inbox.sent.append(TranscriptEntry(True, result.message_id, message, time.time()))
    return await someone.sink.wait_until(lambda: next((m for m in someone.mails if m.message_id == result.message_id),
                                                      None))


CARD = Card("Question #12 is waiting for approval", fields=(Field("From", "Amina"),),
            body=(Span("How do we measure <child> poverty & deprivation?", italic=True),),
            buttons=((Button("Approve", "ap.c..sig", Style.PRIMARY), Button("Ask to clarify", "cq.c..sig")),
                     (Button("Edit", "ed.c..sig"), Button("Reject", "rj.c..sig", Style.DANGER))))


async def test_a_mail_has_a_plain_and_an_html_part_list_headers_and_member_text_escaped(alone):
    adapter, inbox, pat = alone
    mail = await sent_to(adapter, inbox, pat, Message((Span("Question #12 from "), Span("Amina", bold=True),
                                                       Span("\n\n"), Span("Is <b>5 < 6</b> & \"safe\"?")),
                                                      ((Button("Reply", "rp.c..sig"),),)),
                         discussion_id=12, purpose=Purpose.BROADCAST)
    assert mail.subject == "[Test Network] #12 Question #12 from Amina"
    assert mail.message.get_content_type() == "multipart/alternative"
    assert 'Is <b>5 < 6</b> & "safe"?' in mail.text
    assert "Is &lt;b&gt;5 &lt; 6&lt;/b&gt; &amp; &quot;safe&quot;?" in mail.html and "<b>5" not in mail.html
    assert mail.links["Reply"].startswith(adapter.settings.links_base + "/email/press/")
    assert mail.header("From") == "Test Network <network@cpn.test>" and mail.header("Reply-To") == NETWORK
    assert mail.header("List-Id") == "Test Network <test-network.cpn.test>"
    assert mail.header("Auto-Submitted") == "auto-generated" and mail.header("Precedence") == "list"
    assert mail.message_id.endswith(".d12@cpn.test>") and "<000000000000000000000000.d12@cpn.test>" in \
        mail.header("References")
    answer = await sent_to(adapter, inbox, pat, Message.plain("Thank you! Your reply was sent."))
    assert answer.header("Auto-Submitted") == "auto-replied" and answer.subject == "[Test Network] Thank you! " \
                                                                                    "Your reply was sent."
    assert answer.message_id != mail.message_id


async def test_a_mail_the_relay_may_have_taken_is_sent_again_with_the_same_message_id(alone):
    adapter, inbox, pat = alone
    pat.sink.fail_after_data(pat.address)
    envelope = Envelope(Address("email", pat.address, pat.address), Message.plain("Welcome to the network"), row=41)
    assert isinstance(await adapter.send(envelope), RetryLater)
    again = await adapter.send(envelope)  # the same outbox row, tried again (even after a restart)
    assert isinstance(again, Sent)
    assert [m.message_id for m in pat.mails] == [again.message_id, again.message_id]
    another = await adapter.send(replace(envelope, row=42))  # the same words in another row: a new mail
    assert isinstance(another, Sent) and another.message_id != again.message_id


async def test_a_new_mail_is_its_subject_and_body_without_quotes_or_signature_with_attachments_named(alone):
    adapter, inbox, pat = alone
    await pat.writes("Cash transfers in remote areas",
                     "How do cash transfers reach remote areas?\n\nOn Monday, Bob <bob@x.test> wrote:\n> old text\n\n"
                     "--\nPat Doe\nUNICEF", attachments={"report.pdf": b"%PDF-1.4 evil", "run.exe": b"MZ..."})
    [event] = await inbox.wait_for(1)
    assert isinstance(event, IncomingText) and event.reply_to is None
    assert event.text == ("Cash transfers in remote areas\n\nHow do cash transfers reach remote areas?\n\n"
                          "[attachment: report.pdf]\n[attachment: run.exe]")
    assert event.sender.address == Address("email", "pat@ngo.test", "pat@ngo.test") and event.sender.name == "Pat Doe"
    assert event.event_id == pat.written[0]


async def test_a_command_word_at_the_start_of_the_subject_or_body_is_sent_alone(alone):
    adapter, inbox, pat = alone
    await pat.writes("search child benefits", "Thanks,\nPat")
    await pat.writes("Hello", "help")
    await pat.writes("/whoami", "")
    await pat.writes("Search strategies that worked for girls?", "In West Africa.")
    events = await inbox.wait_for(4)
    assert [getattr(e, "text", None) for e in events[:2]] == ["search child benefits", "help"]
    assert isinstance(events[2], IncomingCommand) and events[2].command == "whoami"
    assert events[3].text == "Search strategies that worked for girls?\n\nIn West Africa."  # type: ignore[union-attr]


async def test_action_words_press_the_button_of_the_mail_replied_to_and_carry_their_text(alone):
    adapter, inbox, pat = alone
    card = await sent_to(adapter, inbox, pat, CARD, discussion_id=12, purpose=Purpose.CARD)
    card_id = inbox.sent[-1].message_id
    await pat.replies(card, "approve")
    await pat.replies(card, "REJECT Off topic for this network.")
    await pat.replies(card, "CLARIFY: Which country?")
    await pat.replies(card, "EDIT\nHow do we measure child poverty?")
    await pat.replies(card, "Edit.")
    events = await inbox.wait_for(8)
    pressed = [(e.token, e.message_id) for e in events if isinstance(e, ButtonPress)]
    texts = [e.text for e in events if isinstance(e, IncomingText)]
    assert pressed == [("ap.c..sig", card_id), ("rj.c..sig", card_id), ("cq.c..sig", card_id),
                       ("ed.c..sig", card_id), ("ed.c..sig", card_id)]
    assert texts == ["Off topic for this network.", "Which country?", "How do we measure child poverty?"]
    assert [type(e).__name__ for e in events[1:3]] == ["ButtonPress", "IncomingText"]
    assert len({e.event_id for e in events}) == 8


async def test_a_reply_names_the_mail_it_answers_and_a_subject_number_never_presses_a_button(alone):
    adapter, inbox, pat = alone
    question = await sent_to(adapter, inbox, pat, Message.plain("Question #7 from Amina\n\nWhich registries?",
                                                                [[Button("Reply", "rp.7..sig")]]),
                             discussion_id=7, purpose=Purpose.BROADCAST)
    question_id = inbox.sent[-1].message_id
    await sent_to(adapter, inbox, pat, Message.plain("Thank you!"), discussion_id=7)
    await sent_to(adapter, inbox, pat, CARD, discussion_id=12, purpose=Purpose.CARD)
    card_id = inbox.sent[-1].message_id

    await pat.replies(question, "The school census.")
    await pat.writes("Re: [Test Network] #7 Question #7 from Amina", "Birth registration too.")
    await pat.writes("Re: [Test Network] #12 Question #12", "APPROVE")
    await pat.replies(question, "A reply whose client kept only References.", headers={"In-Reply-To": ""})
    events = await inbox.wait_for(4)
    assert all(isinstance(e, IncomingText) for e in events)
    assert [(e.text, e.reply_to) for e in events] == [  # type: ignore[union-attr]
        ("The school census.", question_id), ("Birth registration too.", question_id), ("APPROVE", card_id),
        ("A reply whose client kept only References.", question_id)]


async def test_mail_for_another_address_is_refused_with_550(alone):
    adapter, inbox, pat = alone
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await send_to_bot(pat.compose("Hi", "x"), adapter.smtp_port, pat.address, "someone-else@cpn.test")
    assert refused.value.recipients[0].code == 550
    assert inbox.events == []


async def test_bounces_are_reported_against_the_mail_that_bounced(alone):
    adapter, inbox, pat = alone
    mail = await sent_to(adapter, inbox, pat, Message.plain("Welcome"))
    await send_raw_to_bot(delivery_report(mail, "5.1.1", "550 5.1.1 User unknown"), adapter.smtp_port, "", NETWORK)
    await send_raw_to_bot(delivery_report(mail, "4.4.7", "Delivery time expired", action="delayed"),
                          adapter.smtp_port, "", NETWORK)
    await eventually(lambda: inbox.reports)
    await asyncio.sleep(0.2)
    assert [(r.message_id, r.status.value) for r in inbox.reports] == [(mail.message_id, "undeliverable")]
    assert inbox.events == []


# --- configuration and the command line ------------------------------------------------------------------


def test_the_email_section_is_read_with_one_line_errors():
    environ = {"LINK_SECRET": "0123456789abcdef-secret", "RELAY_PASSWORD": "pw"}
    section = Section("email", {"address": "Network@CPN.test", "outbound_host": "smtp.cpn.test",
                                "outbound_user": "bot", "outbound_password": "env:RELAY_PASSWORD",
                                "link_secret": "env:LINK_SECRET", "messages_per_second": 0.5,
                                "public_url": "https://bot.cpn.test"}, environ)
    settings = PLUGIN.read_settings(section)
    section.finish()
    assert (settings.address, settings.outbound_port, settings.messages_per_second) == ("network@cpn.test", 587, 0.5)
    assert settings.links_base == "https://bot.cpn.test" and settings.outbound_password == "pw"
    assert PLUGIN.normalise_user_id(" Fatou@CPN.Test ") == "fatou@cpn.test" and PLUGIN.facilitators_room(settings) is None
    for raw, key in (({"address": "not an address"}, "email.address"),
                     ({"inbound": "imap"}, "email.imap_host"),
                     ({"messages_per_second": "fast"}, "email.messages_per_second"),
                     ({"link_secret": "short"}, "email.link_secret")):
        values = {"address": "n@cpn.test", "outbound_host": "h", "link_secret": "x" * 16, **raw}
        with pytest.raises(ConfigError) as error:
            PLUGIN.read_settings(Section("email", values, environ))
        assert error.value.key == key and "\n" not in str(error.value)


async def test_check_online_logs_in_to_the_relay_and_says_what_is_wrong():
    async with MailSink(login=("bot", "right")) as relay:
        good = email_settings(relay, outbound_user="bot", outbound_password="right")
        assert await check_relay(good) is None
        assert relay.logins == ["bot"]
        wrong = await check_relay(replace(good, outbound_password="wrong"))
        assert wrong and "refused the login of 'bot'" in wrong
        unreachable = await PLUGIN.check_online(replace(good, outbound_port=free_port()))
        assert unreachable and unreachable.startswith("cannot reach the relay")


def config_file(tmp_path: Path, sink: MailSink, smtp_port: int) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f"""
[community]
name = "CLI Network"
{storage_toml(tmp_path / 'cli.db')}[facilitators]
email = ["Fatou@CPN.test"]
[email]
enabled = true
address = "network@cpn.test"
display_name = "CLI Network"
inbound = "smtp"
smtp_listen_host = "127.0.0.1"
smtp_listen_port = {smtp_port}
outbound_host = "127.0.0.1"
outbound_port = {sink.port}
outbound_tls = "none"
messages_per_second = 50
link_host = "127.0.0.1"
link_port = {free_port()}
link_secret = "env:EMAIL_LINK_SECRET"
""", encoding="utf-8")
    return path


async def test_the_bot_runs_from_the_command_line_with_an_email_section(sink, tmp_path):
    smtp_port = free_port()
    bot = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", "--config", str(config_file(tmp_path, sink, smtp_port)), cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "EMAIL_LINK_SECRET": "a-secret-of-sixteen-characters"})
    try:
        fatou = MailPerson(sink, "fatou@cpn.test", "Fatou", NETWORK, smtp_port)
        deadline = time.monotonic() + 20
        while True:
            try:
                await fatou.writes("help")
                break
            except (aiosmtplib.SMTPConnectError, OSError):
                assert time.monotonic() < deadline and bot.returncode is None, "the bot did not start"
                await asyncio.sleep(0.2)
        answer = await fatou.receives("What I can do", timeout=20)
        assert "For facilitators" in answer.text  # listed as "Fatou@CPN.test", recognised as written
        assert answer.header("Auto-Submitted") == "auto-replied"
    finally:
        bot.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.wait(), timeout=15)
    stderr = (await bot.stderr.read()).decode() if bot.stderr else ""
    assert bot.returncode == 0, stderr[-2000:]
    assert "Traceback" not in stderr


def test_check_config_names_a_missing_link_secret_in_one_line(sink, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check-config", "--config", str(config_file(tmp_path, sink, free_port()))],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
        env={k: v for k, v in os.environ.items() if k != "EMAIL_LINK_SECRET"})
    assert result.returncode == 2
    assert result.stderr.strip() == ("facilitator: configuration error: email.link_secret: environment variable "
                                     "EMAIL_LINK_SECRET is not set")


# --- the mailbox (IMAP) --------------------------------------------------------------------------------


@pytest.fixture
def dovecot() -> Any:
    """Debian's dovecot serving one mailbox from a temporary directory, on a free port."""
    if not DOVECOT.exists():
        pytest.skip("dovecot is not installed (apt-get install -y dovecot-imapd): the IMAP mailbox mode is untested")
    directory = Path(tempfile.mkdtemp(prefix="dovecot-"))
    os.chmod(directory, 0o755)
    port = free_port()
    root = os.geteuid() == 0
    internal = pwd.getpwnam("dovecot") if root else pwd.getpwuid(os.geteuid())
    login = pwd.getpwnam("dovenull") if root else internal
    (directory / "mail").mkdir()
    os.chown(directory / "mail", internal.pw_uid, internal.pw_gid)
    (directory / "passwd").write_text("bot@cpn.test:{PLAIN}mailbox-password\n", encoding="utf-8")
    (directory / "dovecot.conf").write_text(f"""
base_dir = {directory}/run
state_dir = {directory}/run
log_path = {directory}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal.pw_name}
default_internal_group = {internal.pw_name if root else os.getgid()}
default_login_user = {login.pw_name}
mail_location = maildir:{directory}/mail/%u
first_valid_uid = 0
first_valid_gid = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {directory}/passwd
}}
userdb {{
  driver = static
  args = uid={internal.pw_uid} gid={internal.pw_gid} home={directory}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
""", encoding="utf-8")
    server = subprocess.Popen([str(DOVECOT), "-F", "-c", str(directory / "dovecot.conf")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                log = (directory / "dovecot.log").read_text() if (directory / "dovecot.log").exists() else ""
                server.kill()
                pytest.fail(f"dovecot did not start: {log[-1000:]}")
            time.sleep(0.05)
    yield port
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.kill()
    shutil.rmtree(directory, ignore_errors=True)


async def imap_client(port: int) -> aioimaplib.IMAP4:
    client = aioimaplib.IMAP4(host="127.0.0.1", port=port, timeout=10)
    await client.wait_hello_from_server()
    await client.login("bot@cpn.test", "mailbox-password")
    await client.select("INBOX")
    return client


async def test_the_bot_reads_a_mailbox_over_imap_and_marks_what_it_read_seen(sink, tmp_path, dovecot):
    settings = network_settings(tmp_path, sink, inbound="imap", imap_host="127.0.0.1", imap_port=dovecot,
                                imap_user="bot@cpn.test", imap_password="mailbox-password", imap_tls="none",
                                imap_poll_seconds=30.0)
    assert await PLUGIN.check_online(settings.platform("email")) is None
    wrong = await PLUGIN.check_online(replace(settings.platform("email"), imap_password="wrong"))
    assert wrong and "login of 'bot@cpn.test' was refused" in wrong
    mailbox = await imap_client(dovecot)
    amina = person(sink, settings, "amina@ngo.test", "Amina")
    await mailbox.append(amina.compose("Hello", "I would like to join.").as_bytes(), mailbox="INBOX")
    app = await start_app(settings)
    try:
        await amina.receives("What is your name")  # mail waiting before the start is read
        await mailbox.append(amina.compose("Re: What is your name?", "Amina Bello").as_bytes(), mailbox="INBOX")
        await amina.receives("Which organization")  # and mail arriving while it waits: IDLE, not the 30 s look
        async def unseen() -> list[bytes]:
            found = await mailbox.uid_search("UNSEEN")
            assert found.result == "OK"
            return found.lines[0].split()

        async with asyncio.timeout(5):
            while await unseen():
                await asyncio.sleep(0.05)
        assert rows(settings, "SELECT count(*) FROM inbound") == [(2,)]
    finally:
        await app.stop()
        await mailbox.logout()


async def test_a_document_is_attached_to_the_mail_beside_its_text(alone):
    adapter, inbox, pat = alone
    data = '{"profile": {"name": "Pat Lévesque"}}'.encode()
    mail = await sent_to(adapter, inbox, pat, Message(spans=(Span("Everything the network holds about you."),),
                                                      document=Document("my-data.json", "application/json", data)))
    assert mail.message.get_content_type() == "multipart/mixed"
    assert "Everything the network holds about you." in mail.text
    [attachment] = list(mail.message.iter_attachments())
    assert attachment.get_filename() == "my-data.json" and attachment.get_content_type() == "application/json"
    assert attachment.get_content() == data
