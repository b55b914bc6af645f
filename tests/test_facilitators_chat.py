"""The facilitators' workspace in the chat: /pending lists what waits for each of them, their
chat holds cards and drafts rather than copies of what they approved, buttons that can do
nothing more go, destructive actions ask first, editing starts from the text as it stands,
search results open with a button, and key points credit their authors once."""

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from bot.app import load_settings
from bot.ports import Prompt, Style
from bot.texts.catalog import Texts
from tests.clock import ManualClock
from tests.memory_platform import CAPABILITIES, MemoryPlatform, without
from tests.network import Network, close_now, settings_for
from tests.test_flow import ask
from tests.storage_backend import rows as backend_rows

DAY = 86400.0
CASH = "How do cash transfers reach children in remote areas?"


def rows(network: Network, sql: str) -> list[tuple]:
    return backend_rows(network.settings.storage_path, sql)


@pytest.fixture
async def network(tmp_path):
    network = await Network(settings_for(tmp_path, reply_window=21 * DAY), clock=ManualClock()).start()
    yield network
    await network.stop()


async def people(network: Network):
    fatou = await network.member("f1", "Fatou", "Network team", "Senegal")
    guy = await network.member("f2", "Guy", "Network team", "France")
    amina = await network.member("a1", "Amina", "Save the Children", "Nigeria")
    kwame = await network.member("k1", "Kwame Mensah", "Ministry of Gender", "Ghana")
    return fatou, guy, amina, kwame


async def shared(network: Network, fatou, asker, question: str = CASH):
    await ask(network, asker, question)
    await fatou.presses("Approve", on=await fatou.sees(lambda m: question in m.text and "Approve" in m.labels()))


async def reply(person, text: str):
    question = await person.sees(lambda m: "Reply" in m.labels())
    await person.presses("Reply", on=question)
    await person.says(text)
    await person.receives("Thank you! Your reply was sent")
    return question


def plain(text: str) -> str:
    """Babel puts a narrow no-break space before AM and PM."""
    return text.replace("\u202f", " ")


def button(message, label: str):
    return next(b for row in message.message.buttons for b in row if b.label == label)


# --- 1. /pending ------------------------------------------------------------------------------


async def test_pending_lists_what_waits_for_this_facilitator_each_with_a_button_to_its_card(network):
    fatou, guy, amina, kwame = await people(network)
    await guy.says("/languages fr")
    await guy.receives("Saved")
    await shared(network, fatou, amina)
    await reply(kwame, "Mobile money agents worked well in each district.")
    await close_now(fatou)
    await fatou.receives("Draft consolidated reply")
    await ask(network, amina, "Comment les autres pays indexent-ils les allocations familiales sur l'inflation ?")
    await ask(network, amina, "Which registries help find children out of school?")

    await fatou.says("/pending")
    listing = await fatou.receives("What waits for you")
    # The French question is Guy's language, not hers; the draft waits for every facilitator.
    assert "1 question waiting for approval" in listing.text and "#3 Which registries" in listing.text
    assert "allocations" not in listing.text and f"#1 {CASH}" in listing.text
    assert listing.labels() == ["Open #3", "Open #1"]
    await guy.says("/pending")
    assert (await guy.receives("What waits for you")).labels() == ["Open #2", "Open #3", "Open #1"]

    # One press brings the card back; it acts like any copy, and every copy follows.
    await fatou.presses("Open #3", on=listing)
    card = await fatou.receives("Question #3 is waiting for approval")
    await fatou.presses("Approve", on=card)
    await guy.sees(lambda m: "Question #3 was approved by Fatou" in m.text)
    await fatou.presses("Open #1", on=listing)
    draft = await fatou.receives("Draft consolidated reply to question #1")
    await guy.presses("Publish", on=await guy.sees(lambda m: "Publish" in m.labels()))
    await fatou.sees(lambda m: m is draft and "was published by Guy" in m.text and not m.labels())

    await fatou.says("/pending")
    await fatou.receives("Nothing waits for you")
    late = await fatou.press_token(button(listing, "Open #3").token, listing.message_id)
    assert late.refused and "already been approved" in (late.notice or "")
    await amina.says("/pending")
    await amina.receives("Only facilitators can do that")


# --- 2. the approver's chat -------------------------------------------------------------------


async def test_the_facilitator_who_approves_gets_the_card_not_a_broadcast_copy(network):
    fatou, guy, amina, kwame = await people(network)
    await shared(network, fatou, amina)
    await kwame.receives("Question #1 from Amina")
    await guy.receives("Question #1 from Amina")
    assert not any("Question #1 from Amina" in text for text in fatou.texts())


async def test_broadcast_to_approver_shares_it_with_them_too(tmp_path):
    settings = settings_for(tmp_path)
    settings = replace(settings, facilitators=replace(settings.facilitators, broadcast_to_approver=True))
    network = await Network(settings).start()
    try:
        fatou, guy, amina, kwame = await people(network)
        await shared(network, fatou, amina)
        await fatou.receives("Question #1 from Amina")
    finally:
        await network.stop()


def test_broadcast_to_approver_is_read_from_the_facilitators_section(tmp_path):
    base = ('[community]\nname = "N"\n[storage]\npath = "x.db"\n[facilitators]\ntelegram = [1]\n{extra}\n'
            '[telegram]\ntoken = "1:x"\n')
    path = tmp_path / "config.toml"
    path.write_text(base.format(extra=""), encoding="utf-8")
    assert load_settings(path, environ={}).facilitators.broadcast_to_approver is False
    path.write_text(base.format(extra="broadcast_to_approver = true"), encoding="utf-8")
    assert load_settings(path, environ={}).facilitators.broadcast_to_approver is True


# --- 3. buttons that can do nothing more go ---------------------------------------------------


async def test_when_a_discussion_closes_the_reply_buttons_on_its_copies_go(network):
    fatou, guy, amina, kwame = await people(network)
    await shared(network, fatou, amina)
    question = await kwame.receives("Question #1 from Amina")
    reply_token = button(question, "Reply").token
    await close_now(fatou)
    await kwame.sees(lambda m: m is question and not m.labels())
    await guy.sees(lambda m: "Question #1 from Amina" in m.text and not m.labels())
    # Only the buttons changed: the text is as it was, and nothing new was sent to Kwame.
    assert CASH in question.text and question.envelope is not None
    assert rows(network, "SELECT count(*) FROM outbox WHERE user_id = 'k1' AND purpose = 'broadcast'"
                         " AND edit_of IS NULL") == [(1,)]
    # An edit of the buttons alone, in the broadcast's own place in the queue (paced as it was).
    assert rows(network, "SELECT purpose, priority, body LIKE '%\"keeps_text\":true%' FROM outbox"
                         " WHERE user_id = 'k1' AND edit_of IS NOT NULL") == [("broadcast", 2, 1)]
    # A press that still comes from an old copy gets one short answer, and no message.
    before = len(kwame.messages)
    late = await kwame.press_token(reply_token, question.message_id)
    assert late.refused and late.notice == "This discussion is closed: replies are no longer collected."
    assert len(kwame.messages) == before


async def test_a_platform_that_cannot_edit_gets_no_new_messages_when_a_discussion_closes(tmp_path):
    platform = MemoryPlatform(capabilities=without(CAPABILITIES, can_edit=False))
    network = await Network(settings_for(tmp_path), platform=platform).start()
    try:
        fatou, guy, amina, kwame = await people(network)
        await shared(network, fatou, amina)
        question = await kwame.receives("Question #1 from Amina")
        before = len(kwame.messages)
        await close_now(fatou)
        await fatou.receives("closed with no replies")
        await amina.receives("is now closed")
        assert len(kwame.messages) == before and question.labels() == ["Reply", "Reply without my name"]
        assert not [e for e in platform.envelopes if e.keeps_text]
    finally:
        await network.stop()


async def test_the_askers_draft_loses_submit_and_cancel_once_used(network):
    fatou, guy, amina, kwame = await people(network)
    await amina.says(CASH)
    draft = await amina.receives("Here is your question")
    submit = button(draft, "Submit").token
    await amina.presses("Submit", on=draft)
    await amina.sees(lambda m: m is draft and not m.labels())
    assert CASH in draft.text
    late = await amina.press_token(submit, draft.message_id)
    assert late.refused and late.notice == "This draft was already sent or cancelled."

    await amina.says("Which registries help find children out of school?")
    second = await amina.receives("Here is your question")
    await amina.presses("Cancel", on=second)
    await amina.sees(lambda m: m is second and not m.labels())


async def test_every_copy_of_a_draft_loses_publish_once_published(network):
    fatou, guy, amina, kwame = await people(network)
    await shared(network, fatou, amina)
    await reply(kwame, "Mobile money agents worked well in each district.")
    await close_now(fatou)
    draft = await fatou.receives("Draft consolidated reply")
    await fatou.says("/question 1")
    whole = await fatou.sees(lambda m: "Draft consolidated reply" in m.text and m is not draft)
    await fatou.presses("Edit", on=draft)
    await fatou.receives("as they stand")
    await fatou.says("Use the mobile money agents already in each district.")
    updated = await fatou.receives("Draft consolidated reply")
    assert "Publish" in whole.labels() and "Publish" in updated.labels()
    await guy.presses("Publish", on=await guy.sees(lambda m: "Publish" in m.labels()))
    for copy in (draft, whole, updated):
        await fatou.sees(lambda m, copy=copy: m is copy and not m.labels())


async def test_a_late_press_on_a_stale_card_gets_one_short_answer(network):
    fatou, guy, amina, kwame = await people(network)
    await ask(network, amina, CASH)
    guy_card = await guy.receives("waiting for approval")
    approve = button(guy_card, "Approve").token
    await fatou.presses("Approve", on=await fatou.receives("waiting for approval"))
    await guy.sees(lambda m: m is guy_card and "approved by Fatou" in m.text)
    await guy.receives("Question #1 from Amina")  # the broadcast, which comes in its own time
    before = len(guy.messages)
    late = await guy.press_token(approve, guy_card.message_id)
    assert late.refused and late.notice == "Fatou already approved this question."
    assert len(guy.messages) == before  # the toast alone: no message repeating it


# --- 4. destructive actions ask first and look it ---------------------------------------------


async def test_reject_without_a_reason_asks_first_on_the_same_message(network):
    fatou, guy, amina, kwame = await people(network)
    await ask(network, amina, CASH)
    card = await fatou.receives("waiting for approval")
    assert button(card, "Reject").style is Style.DANGER
    await fatou.presses("Reject", on=card)
    prompt = await fatou.receives("Why is question #1 not to be shared?")
    assert button(prompt, "Reject without a reason").style is Style.DANGER
    answer = await fatou.presses("Reject without a reason", on=prompt)
    assert answer.notice == "Reject it without a reason?"
    await fatou.sees(lambda m: m is prompt and m.labels() == ["Yes, reject it", "Write a reason"])
    assert button(prompt, "Yes, reject it").style is Style.DANGER
    assert rows(network, "SELECT state FROM discussion") == [("submitted",)]
    await fatou.presses("Yes, reject it", on=prompt)
    await amina.receives("will not be shared with the network")
    await fatou.sees(lambda m: m is prompt and not m.labels())
    assert rows(network, "SELECT state FROM discussion") == [("rejected",)]


async def test_close_now_and_discard_are_drawn_as_dangerous(network):
    fatou, guy, amina, kwame = await people(network)
    await shared(network, fatou, amina)
    card = await fatou.sees(lambda m: "Close now" in m.labels())
    assert button(card, "Close now").style is Style.DANGER
    await reply(kwame, "Mobile money agents worked well in each district.")
    await close_now(fatou)
    draft = await fatou.receives("Draft consolidated reply")
    assert button(draft, "Discard").style is Style.DANGER


# --- 5. editing a draft starts from its text as it stands ------------------------------------


async def test_editing_a_draft_starts_from_its_current_text_even_a_whole_text(network):
    fatou, guy, amina, kwame = await people(network)
    await shared(network, fatou, amina)
    await reply(kwame, "Mobile money agents worked well in each district.")
    await close_now(fatou)
    draft = await fatou.receives("Draft consolidated reply")
    await fatou.presses("Edit", on=draft)
    prompt = await fatou.receives("as they stand")
    assert isinstance(prompt.message, Prompt)
    assert prompt.message.prefill == "Mobile money agents worked well in each district (Kwame Mensah, Ministry of " \
                                     "Gender, Ghana)."
    await fatou.presses("Replace the whole text", on=prompt)
    await fatou.receives("Send the whole consolidated reply")
    await fatou.says("Agents in every district: that is what worked.")
    updated = await fatou.receives("Draft consolidated reply")
    await fatou.presses("Edit", on=updated)
    again = await fatou.receives("Send the whole consolidated reply")
    assert isinstance(again.message, Prompt)
    assert again.message.prefill == "Agents in every district: that is what worked."


# --- 6. search results ------------------------------------------------------------------------


async def test_search_results_carry_the_number_read_takes_and_a_read_button(network):
    fatou, guy, amina, kwame = await people(network)
    await shared(network, fatou, amina)
    await reply(kwame, "Mobile money agents worked well in each district.")
    await close_now(fatou)
    await fatou.presses("Publish", on=await fatou.receives("Draft consolidated reply"))
    await guy.says("/search cash transfers")
    results = await guy.receives("What the network has discussed")
    assert f"#1 {CASH}" in results.text and results.labels() == ["Read #1"]
    # The snippet is the key points, not the question again with its words in brackets.
    assert "Mobile money agents worked well" in results.text and "[" not in results.text
    await guy.presses("Read #1", on=results)
    await guy.receives("Key points")


# --- 7. key points credit their authors once -------------------------------------------------


async def test_key_points_credit_the_author_once_and_a_single_reply_is_not_repeated(network):
    fatou, guy, amina, kwame = await people(network)
    await shared(network, fatou, amina)
    await reply(kwame, "Mobile money agents worked well in each district. They also trained local staff.")
    await close_now(fatou)
    draft = await fatou.receives("Draft consolidated reply")
    assert "district (Kwame Mensah, Ministry of Gender, Ghana)." in draft.text
    assert "((" not in draft.text and "Kwame Mensah (Ministry" not in draft.text
    # The key points hold the one reply whole: it is not repeated in full below them.
    assert draft.text.count("They also trained local staff") == 1 and "contribution" not in draft.text


async def test_with_several_replies_every_contribution_is_still_there_in_full(network):
    fatou, guy, amina, kwame = await people(network)
    await shared(network, fatou, amina)
    await reply(kwame, "Mobile money agents worked well in each district.")
    await reply(guy, "Community health workers carried enrolment forms to remote villages.")
    await close_now(fatou)
    draft = await fatou.receives("Draft consolidated reply")
    assert "2 contributions" in draft.text and "Kwame Mensah (Ministry of Gender, Ghana)" in draft.text


# --- 8. the chat, as seen on a phone ---------------------------------------------------------


def test_a_deadline_less_than_a_day_away_is_said_with_its_time():
    t = Texts(("en", "fr"), "en").for_language("en")
    now = datetime(2026, 12, 16, 9, 0, tzinfo=timezone.utc).timestamp()
    assert plain(t.until(now + 9 * 3600, now)) == "6:00 PM UTC today"
    assert plain(t.until(now + 20 * 3600, now)) == "tomorrow at 5:00 AM UTC"
    assert t.until(now + 3 * DAY, now) == "Dec 19, 2026"
    assert Texts(("en", "fr"), "en").for_language("fr").until(now + 9 * 3600, now) == "aujourd'hui à 18:00 UTC"


async def test_a_question_closing_within_a_day_says_when(tmp_path):
    morning = datetime(2026, 12, 16, 9, 0, tzinfo=timezone.utc).timestamp()
    network = await Network(settings_for(tmp_path, reply_window=6 * 3600.0), clock=ManualClock(morning)).start()
    try:
        fatou, guy, amina, kwame = await people(network)
        await shared(network, fatou, amina)
        question = await kwame.receives("Question #1 from Amina")
        assert "Replies are collected until 3:00 PM UTC today." in plain(question.text)
        await fatou.sees(lambda m: "open for replies until 3:00 PM UTC today" in plain(m.text))
    finally:
        await network.stop()


async def test_replying_to_a_message_that_asks_for_no_answer_asks_what_is_meant(network):
    fatou, guy, amina, kwame = await people(network)
    welcome = await kwame.sees(lambda m: "you are in" in m.text)
    await kwame.says("Thanks! How do cash transfers reach children in remote areas?", reply_to=welcome)
    asked = await kwame.receives("Would you like to ask the network this as a new question?")
    assert asked.labels() == ["Ask it as a question", "Cancel"]
    assert not any(text.startswith("Here is your question") for text in kwame.texts())
    await kwame.presses("Ask it as a question", on=asked)
    draft = await kwame.receives("Here is your question")
    assert "Thanks! How do cash transfers" in draft.text
    await kwame.presses("Submit", on=draft)
    await fatou.receives("Question #1 is waiting for approval")

    await kwame.says("Thank you for all this.", reply_to=welcome)
    await kwame.presses("Cancel", on=await kwame.receives("as a new question?"))
    await kwame.receives("Cancelled")
    assert rows(network, "SELECT count(*) FROM discussion") == [(1,)]
