"""After the broadcast: deadlines close discussions exactly once (by time, by button, across
a restart), the draft consolidated reply is published once, and it becomes searchable."""


import pytest

from tests.clock import ManualClock
from tests.network import Network, close_now, settings_for
from tests.test_flow import ask
from tests.storage_backend import rows as backend_rows

DAY = 86400.0


def rows(network: Network, sql: str) -> list[tuple]:
    return backend_rows(network.settings.storage_path, sql)


async def open_discussion(network: Network, question: str = "How do cash transfers reach children in remote areas?"):
    fatou = await network.member("f1", "Fatou", "Network team", "Senegal")
    amina = await network.member("a1", "Amina", "Save the Children", "Nigeria")
    bola = await network.member("b1", "Bola", "Ministry of Social Development", "Ghana")
    carla = await network.member("c1", "Carla", "UNICEF", "Peru")
    await ask(network, amina, question)
    await fatou.presses("Approve", on=await fatou.receives("waiting for approval"))
    return fatou, amina, bola, carla


async def reply(person, text: str, anonymous: bool = False):
    question = await person.receives("Question #")
    await person.presses("Reply without my name" if anonymous else "Reply", on=question)
    await person.says(text)
    await person.receives("Thank you! Your reply was sent")


@pytest.fixture
async def manual(tmp_path):
    clock = ManualClock()
    network = await Network(settings_for(tmp_path, reply_window=21 * DAY, reminder_before=2 * DAY), clock=clock).start()
    yield network, clock
    await network.stop()


async def test_a_discussion_closes_by_itself_after_a_short_reply_window(tmp_path):
    network = await Network(settings_for(tmp_path, reply_window=2.0, reminder_before=0.0)).start()
    try:
        fatou, amina, bola, carla = await open_discussion(network)
        await reply(bola, "Mobile money agents in each district worked well. They also trained local staff.")
        draft = await fatou.receives("Draft consolidated reply", timeout=10)
        assert "Mobile money agents" in draft.text
        assert "(Bola, Ministry of Social Development, Ghana)." in draft.text
        # Ghana is named in the reply: the draft suggests it as a tag, accepted in one tap.
        assert "Suggested tags" in draft.text
        assert draft.labels() == ["Publish", "Edit", "Discard", "In French", "Accept tags"]
        await amina.receives("is now closed, with 1 reply")
        assert rows(network, "SELECT state FROM discussion") == [("closed",)]
    finally:
        await network.stop()


async def test_a_deadline_that_passed_while_the_bot_was_down_closes_once_at_start(manual):
    network, clock = manual
    fatou, amina, bola, carla = await open_discussion(network)
    await reply(bola, "We used school registers to find the children. It worked in most districts.")
    await network.stop()
    clock.advance(22 * DAY)
    await network.start()
    await fatou.receives("Draft consolidated reply", timeout=10)
    await network.restart()
    assert rows(network, "SELECT state FROM discussion") == [("closed",)]
    # Closing happened once: one draft for each of the two facilitators, none twice.
    assert rows(network, "SELECT user_id, count(*) FROM outbox WHERE purpose = 'card'"
                         " AND body LIKE '%Draft consolidated%' GROUP BY user_id") == [("f1", 1), ("f2", 1)]


async def test_close_now_and_publish_make_the_reply_searchable_and_thank_contributors(manual):
    network, clock = manual
    fatou, amina, bola, carla = await open_discussion(network)
    await reply(bola, "Mobile money agents in each district worked well for disbursement.")
    await reply(carla, "Community health workers carried enrolment forms to remote villages.", anonymous=True)
    await close_now(fatou)
    draft = await fatou.receives("Draft consolidated reply")
    assert "anonymous" in draft.text and "Carla" not in draft.text
    await fatou.presses("Publish", on=draft)
    # The thanks (a personal message) and the consolidated reply (a broadcast) may come in either order.
    published = await bola.sees(lambda m: m.text.startswith("Consolidated reply:"))
    assert "Mobile money agents" in published.text
    await bola.sees(lambda m: "Your contribution is part of the consolidated reply" in m.text)
    await amina.receives("Consolidated reply:")
    await fatou.sees(lambda m: m is draft and "was published by Fatou" in m.text and not m.labels())
    again = await fatou.press_token(next(b.token for row in draft.message.buttons for b in row if b.label == "Publish")
                                    ) if draft.message.buttons else None
    assert again is None or again.refused
    assert rows(network, "SELECT state FROM discussion") == [("published",)]
    # Everyone gets it once: both facilitators, the asker and the two repliers.
    assert rows(network, "SELECT count(*), count(DISTINCT user_id) FROM outbox WHERE purpose = 'consolidated'") == [(5, 5)]

    await carla.says("/search mobile money")
    results = await carla.receives("What the network has discussed")
    assert "#1 How do cash transfers reach children" in results.text and results.labels() == ["Read #1"]
    await carla.says("/read 1")
    full = await carla.receives("The question")
    assert "Community health workers" in full.text


async def test_extend_moves_the_deadline_by_a_week(manual):
    network, clock = manual
    fatou, amina, bola, carla = await open_discussion(network)
    card = await fatou.sees(lambda m: "Extend by a week" in m.labels())
    acknowledgement = await fatou.presses("Extend by a week", on=card)
    assert "Open until" in (acknowledgement.notice or "")
    [(approved_at, deadline_at)] = rows(network, "SELECT approved_at, deadline_at FROM discussion")
    assert deadline_at - approved_at == pytest.approx(28 * DAY)
    clock.advance(22 * DAY)
    await network.restart()
    assert rows(network, "SELECT state FROM discussion") == [("approved",)]


async def test_members_who_have_not_replied_get_one_reminder_and_facilitators_a_status(manual):
    network, clock = manual
    fatou, amina, bola, carla = await open_discussion(network)
    await reply(bola, "We paired transfers with parenting sessions in Ghana.")
    clock.advance(19.5 * DAY)
    await network.restart()
    await carla.receives("A gentle reminder", timeout=10)
    status = await fatou.receives("so far", timeout=10)
    assert "1 reply so far, from 1 country" in status.text
    await network.restart()
    # One reminder each for those the question went to who have not replied (Carla and the other
    # facilitator: Fatou approved it, and got its card, not the question), once.
    assert rows(network, "SELECT user_id, count(*) FROM outbox WHERE purpose = 'reminder' GROUP BY user_id") == [
        ("c1", 1), ("f2", 1)]
    assert not any("gentle reminder" in text for text in bola.texts())


async def test_a_discussion_without_replies_can_be_shared_again(manual):
    network, clock = manual
    fatou, amina, bola, carla = await open_discussion(network)
    await close_now(fatou)
    empty = await fatou.receives("closed with no replies")
    assert empty.labels() == ["Share it again", "Close without publishing"]
    await fatou.presses("Share it again", on=empty)
    assert rows(network, "SELECT state FROM discussion") == [("approved",)]
    await network.app.waker.idle()  # the broadcast's rows are written after the decision
    # 3 members (not the asker, nor Fatou who approved and shared it again), twice; edits of them not counted.
    assert rows(network, "SELECT count(*) FROM outbox WHERE purpose = 'broadcast' AND edit_of IS NULL") == [(6,)]


async def test_editing_the_draft_summary_changes_what_is_published(manual):
    network, clock = manual
    fatou, amina, bola, carla = await open_discussion(network)
    await reply(bola, "Mobile money agents in each district worked well for disbursement.")
    await close_now(fatou)
    draft = await fatou.receives("Draft consolidated reply")
    await fatou.presses("Edit", on=draft)
    await fatou.receives("The key points of the draft to question #1 as they stand")
    await fatou.says("Use existing payment agents.\nTrain local staff.")
    updated = await fatou.receives("Draft consolidated reply")
    assert "• Use existing payment agents." in updated.text
    await fatou.presses("Publish", on=updated)
    published = await carla.receives("Consolidated reply:")
    assert "• Train local staff." in published.text


async def test_a_similar_published_discussion_is_offered_before_asking_again(manual):
    network, clock = manual
    fatou, amina, bola, carla = await open_discussion(network, "How do cash transfers reach children in remote areas?")
    await reply(bola, "Mobile money agents in each district worked well for disbursement.")
    await close_now(fatou)
    await fatou.presses("Publish", on=await fatou.receives("Draft consolidated reply"))
    await carla.receives("Consolidated reply:")
    await carla.says("How can cash transfers reach children living in remote areas?")
    offer = await carla.receives("This was discussed in")
    assert offer.labels() == ["Read it", "Ask anyway"]
    await carla.presses("Ask anyway", on=offer)
    draft = await carla.receives("Here is your question")
    assert "Submit" in draft.labels()


async def test_replying_to_a_reminder_with_the_platforms_reply_is_a_reply(manual):
    network, clock = manual
    fatou, amina, bola, carla = await open_discussion(network)
    clock.advance(19.5 * DAY)
    await network.restart()
    reminder = await carla.receives("A gentle reminder", timeout=10)
    await carla.says("Community health workers carried the forms.", reply_to=reminder)
    await carla.receives("Thank you! Your reply was sent")
    forwarded = await amina.receives("Community health workers carried the forms.")
    assert "from Carla (UNICEF, Peru)" in forwarded.text
    assert not any(text.startswith("Here is your question") for text in carla.texts())


async def test_close_now_asks_first_on_the_card_and_keep_it_open_changes_nothing(manual):
    network, clock = manual
    fatou, amina, bola, carla = await open_discussion(network)
    card = await fatou.sees(lambda m: "Close now" in m.labels())
    answer = await fatou.presses("Close now", on=card)
    assert answer.notice == "Close it now?"
    await fatou.sees(lambda m: m is card and m.labels() == ["Yes, close it", "Keep it open"]
                     and "Close question #1 now?" in m.text)
    assert rows(network, "SELECT state FROM discussion") == [("approved",)]
    await fatou.presses("Keep it open", on=card)
    await fatou.sees(lambda m: m is card and "Close now" in m.labels())
    assert rows(network, "SELECT state FROM discussion") == [("approved",)]


async def test_a_draft_closed_without_publishing_can_be_reopened_within_a_day(manual):
    network, clock = manual
    fatou, amina, bola, carla = await open_discussion(network)
    await reply(bola, "We used school registers to find the children.")
    await close_now(fatou)
    draft = await fatou.receives("Draft consolidated reply")
    await fatou.presses("Discard", on=draft)
    await fatou.sees(lambda m: m is draft and "Yes, close it" in m.labels())
    await fatou.presses("Yes, close it", on=draft)
    await fatou.sees(lambda m: m is draft and "closed without publishing, by Fatou" in m.text)
    await fatou.says("/reopen 1")
    await fatou.receives("Question #1 is reopened")
    again = await fatou.receives("Draft consolidated reply")
    assert "Publish" in again.labels()
    await fatou.presses("Discard", on=again)
    await fatou.presses("Yes, close it", on=await fatou.sees(lambda m: m is again and "Yes, close it" in m.labels()))
    await fatou.sees(lambda m: m is again and "closed without publishing" in m.text)
    clock.advance(25 * 3600)
    await fatou.says("/reopen 1")
    await fatou.receives("more than a day ago")
    await amina.says("/reopen 1")
    await amina.receives("Only facilitators can do that")


async def test_every_facilitator_action_is_in_the_audit_log(manual):
    network, clock = manual
    fatou, amina, bola, carla = await open_discussion(network)
    await fatou.presses("Extend by a week", on=await fatou.sees(lambda m: "Extend by a week" in m.labels()))
    await close_now(fatou)
    assert [(a, d) for a, d in rows(network, "SELECT action, discussion_id FROM audit ORDER BY id")] == [
        ("approve", 1), ("extend", 1), ("close", 1)]
    await fatou.says("/audit")
    log = await fatou.receives("What the facilitators did lately")
    assert "Fatou (memory): closed question #1" in log.text and "Fatou (memory): approved question #1" in log.text
    await bola.says("/audit")
    await bola.receives("Only facilitators can do that")
