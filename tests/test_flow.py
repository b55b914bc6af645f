"""The whole flow of a question through the core, on the in-memory platform and a real
SQLite file: joining, asking, moderation, broadcast, replies, and restarts in between."""


import pytest

from tests.network import Network, settings_for
from tests.storage_backend import rows as backend_rows


@pytest.fixture
async def network(tmp_path):
    network = await Network(settings_for(tmp_path)).start()
    yield network
    await network.stop()


def rows(network: Network, sql: str) -> list[tuple]:
    return backend_rows(network.settings.storage_path, sql)


# --- joining ------------------------------------------------------------------------------


async def test_a_newcomer_joins_answering_or_skipping_each_question(network):
    amina = network.person("a1", "Amina Y.")
    await amina.says("/start")
    welcome = await amina.receives("Welcome to Test Network")
    assert "/profile" in welcome.text
    await amina.receives("What is your name")
    await amina.says("Amina Yusuf")
    await amina.receives("Which organization")
    await amina.says("Save the Children")
    await amina.receives("Which country")
    await amina.presses("Skip")
    await amina.receives("Which topics")
    await amina.says("cash transfers, child poverty")
    language = await amina.receives("Which language")
    assert "Français" in language.labels()
    await amina.presses("Français")
    # From now on, in French: the directory's questions are taken in turn, whatever their wording.
    await amina.receives("")  # what she can offer
    await amina.says("Training on cash transfer design")
    await amina.presses("Passer", on=await amina.receives(""))  # what she looks for
    directory = await amina.receives("")  # may others find her: Yes, No
    await amina.presses(directory.labels()[0], on=directory)
    await amina.receives("Merci, vous faites partie du réseau !")
    assert rows(network, "SELECT name, organization, country, topics, language, offers, seeks, in_directory"
                         " FROM member WHERE name != ''") == [
        ("Amina Yusuf", "Save the Children", "", "cash transfers;child poverty", "fr",
         "Training on cash transfer design", "", 1)
    ]


async def test_a_restart_in_the_middle_of_joining_loses_nothing(network):
    bola = network.person("b1", "Bola")
    await bola.says("/start")
    await bola.receives("What is your name")
    await bola.says("Bola Ade")
    await bola.receives("Which organization")
    await network.restart()
    await bola.says("Ministry of Social Development")
    await bola.receives("Which country")
    assert rows(network, "SELECT name, organization FROM member WHERE name = 'Bola Ade'") == [
        ("Bola Ade", "Ministry of Social Development")
    ]


async def test_profile_fields_can_be_changed_later(network):
    carla = await network.member("c1", "Carla", "UNICEF", "Peru")
    await carla.says("/profile")
    profile = await carla.receives("Your profile")
    assert "Carla" in profile.text and "UNICEF" in profile.text and "Peru" in profile.text
    await carla.presses("Country", on=profile)
    await carla.receives("Which country")
    await carla.says("Bolivia")
    await carla.receives("Saved")
    assert rows(network, "SELECT country FROM member WHERE name = 'Carla'") == [("Bolivia",)]


async def test_facilitators_are_recognised_from_the_configuration(network):
    await network.member("f1", "Fatou", "Network team")
    await network.member("m1", "Mei")
    assert dict(rows(network, "SELECT name, role FROM member WHERE name != ''")) == {
        "Fatou": "facilitator", "Mei": "member"}


async def test_text_from_an_unknown_person_starts_joining_and_keeps_their_question(network):
    stranger = network.person("s1", "Sam")
    await stranger.says("How do other countries index child benefits to inflation?")
    await stranger.receives("Welcome to Test Network")
    await stranger.receives("What is your name")
    for step in ("Which organization", "Which country", "Which topics"):
        await stranger.presses("Skip")
        await stranger.receives(step)
    await stranger.presses("Skip")
    await stranger.receives("language")
    await stranger.presses("Skip")
    for step in ("What can you offer", "What are you looking for"):
        await stranger.receives(step)
        await stranger.presses("Skip")
    await stranger.presses("No", on=await stranger.receives("find you in the directory"))
    await stranger.receives("you are in")
    draft = await stranger.receives("Here is your question")
    assert "index child benefits to inflation" in draft.text
    assert rows(network, "SELECT count(*) FROM inbound WHERE body LIKE '%index child benefits%'") == [(1,)]


# --- asking, moderation, broadcast, replies -------------------------------------------------


async def ask(network: Network, asker, text: str, anonymous: bool = False):
    await asker.says(text)
    draft = await asker.receives("Here is your question")
    assert draft.labels() == ["Submit", "Submit without my name", "Cancel"]
    await asker.presses("Submit without my name" if anonymous else "Submit")
    await asker.receives("is with the facilitators")


async def test_an_approved_question_reaches_everyone_but_the_asker_and_replies_come_back(network):
    fatou = await network.member("f1", "Fatou", "Network team", "Senegal")
    amina = await network.member("a1", "Amina", "Save the Children", "Nigeria")
    bola = await network.member("b1", "Bola", "Ministry of Social Development", "Ghana")
    carla = await network.member("c1", "Carla", "UNICEF", "Peru")

    await ask(network, amina, "How do cash transfers reach children in remote areas?")
    card = await fatou.receives("waiting for approval")
    assert "Amina (Save the Children, Nigeria)" in card.text
    assert "Language: English" in card.text
    assert card.labels() == ["Approve", "Ask to clarify", "Edit", "Reject", "In French"]

    acknowledgement = await fatou.presses("Approve", on=card)
    assert "shared with" in (acknowledgement.notice or "")
    await amina.receives("was approved and shared")
    question = await bola.receives("How do cash transfers reach children")
    assert "from Amina (Save the Children, Nigeria)" in question.text
    assert question.labels() == ["Reply", "Reply without my name"]
    await carla.receives("How do cash transfers reach children")
    assert not any("How do cash transfers" in text for text in amina.texts() if "Question #" in text and "from" in text)
    await fatou.sees(lambda m: "approved by Fatou" in m.text and m.labels() == ["Close now", "Extend by a week", "In French"])

    await bola.presses("Reply", on=question)
    await bola.receives("Write your reply")
    await bola.says("Mobile money agents in each district worked for us.")
    await bola.receives("Thank you! Your reply was sent")
    forwarded = await amina.receives("Mobile money agents")
    assert "from Bola (Ministry of Social Development, Ghana)" in forwarded.text

    carla_question = carla.messages[-1]
    await carla.says("Community health workers carried the enrolment forms.", reply_to=carla_question)
    forwarded = await amina.receives("Community health workers")
    assert "from Carla (UNICEF, Peru)" in forwarded.text
    assert rows(network, "SELECT count(*) FROM reply") == [(2,)]


async def test_an_anonymous_question_hides_the_asker_from_members_but_not_from_facilitators(network):
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina", "Save the Children")
    bola = await network.member("b1", "Bola")
    await ask(network, amina, "How do we report abuse when the police are involved?", anonymous=True)
    card = await fatou.receives("waiting for approval")
    assert "Amina (Save the Children), to be shared anonymously" in card.text
    await fatou.presses("Approve", on=card)
    question = await bola.receives("How do we report abuse")
    assert "Amina" not in question.text and "anonymous" in question.text
    await bola.presses("Reply without my name", on=question)
    await bola.says("Go through the child helpline first.")
    forwarded = await amina.receives("child helpline")
    assert "Bola" not in forwarded.text and "anonymous" in forwarded.text


async def test_when_one_facilitator_approves_the_other_facilitators_card_changes(network):
    fatou = await network.member("f1", "Fatou")
    guy = await network.member("f2", "Guy")
    amina = await network.member("a1", "Amina")
    await ask(network, amina, "Which indicators track child poverty best?")
    fatou_card = await fatou.receives("waiting for approval")
    guy_card = await guy.receives("waiting for approval")
    await fatou.presses("Approve", on=fatou_card)
    await guy.sees(lambda m: m is guy_card and "approved by Fatou" in m.text)
    assert "Approve" not in guy_card.labels() and guy_card.edits >= 1
    # A stale button on an old copy of the card changes nothing and says why.
    stale_token = next(b.token for b in (await _first_card_buttons(network, "f2")) if b.label == "Approve")
    acknowledgement = await guy.press_token(stale_token)
    assert acknowledgement.refused and "Fatou already approved" in (acknowledgement.notice or "")
    # Shared once: one broadcast row for each member but the asker and Fatou, who approved it
    # (her chat holds its card), none twice.
    assert rows(network, "SELECT user_id, count(*) FROM outbox WHERE purpose = 'broadcast' GROUP BY user_id") == [
        ("f2", 1)]


async def _first_card_buttons(network: Network, user_id: str):
    body = rows(network, f"SELECT body FROM outbox WHERE user_id = '{user_id}' AND purpose = 'card' ORDER BY id LIMIT 1")
    from bot.services.outbox import decode_message

    return [button for row in decode_message(body[0][0]).buttons for button in row]


async def test_ask_to_clarify_relays_both_ways_and_survives_a_restart(network):
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    await ask(network, amina, "What works for adolescents?")
    card = await fatou.receives("waiting for approval")
    await fatou.presses("Ask to clarify", on=card)
    await fatou.receives("What would you like to ask")
    await network.restart()
    await fatou.says("Which kind of programme do you mean: cash, care, or schooling?")
    await fatou.receives("Sent to the asker")
    request = await amina.receives("A facilitator has a question")
    assert "cash, care, or schooling" in request.text
    await fatou.sees(lambda m: m is card and "asked the asker" in m.text)
    await network.restart()
    await amina.says("Cash plus care, for girls aged 15-19 in urban areas.")
    await amina.receives("Your answer was added")
    updated = await fatou.receives("waiting for approval")
    assert "Cash plus care" in updated.text and "What works for adolescents?" in updated.text
    assert updated.labels() == ["Approve", "Ask to clarify", "Edit", "Reject", "In French"]
    await fatou.presses("Approve", on=updated)
    await amina.receives("was approved")


async def test_a_rejected_question_tells_the_asker_why(network):
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    await ask(network, amina, "Can someone sell me a car?")
    card = await fatou.receives("waiting for approval")
    await fatou.presses("Reject", on=card)
    await fatou.receives("Why is question")
    await fatou.says("This network is for questions about child rights practice.")
    told = await amina.receives("will not be shared")
    assert "child rights practice" in told.text
    await fatou.sees(lambda m: m is card and "rejected by Fatou" in m.text and not m.labels())


async def test_a_facilitator_edits_the_text_before_approval(network):
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    bola = await network.member("b1", "Bola")
    await ask(network, amina, "cash transfer kids remote how??")
    card = await fatou.receives("waiting for approval")
    await fatou.presses("Edit", on=card)
    await fatou.receives("Send the new text")
    await fatou.says("How do cash transfers reach children in remote areas?")
    await amina.receives("A facilitator edited your question")
    await fatou.sees(lambda m: m is card and "reach children in remote areas" in m.text)
    await fatou.presses("Approve", on=card)
    question = await bola.receives("Question #")
    assert "How do cash transfers reach children in remote areas?" in question.text
    assert "how??" not in question.text


# --- who may press what -------------------------------------------------------------------


async def test_a_member_pressing_a_facilitators_button_changes_nothing(network):
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    await ask(network, amina, "Is universal child benefit affordable?")
    card = await fatou.receives("waiting for approval")
    approve = next(b.token for row in card.message.buttons for b in row if b.label == "Approve")
    acknowledgement = await amina.press_token(approve)
    assert acknowledgement.refused and "Only facilitators" in (acknowledgement.notice or "")
    assert rows(network, "SELECT state FROM discussion") == [("submitted",)]


async def test_a_forged_token_or_a_deleted_discussion_is_explained(network):
    amina = await network.member("a1", "Amina")
    forged = await amina.press_token("ap.1..NOTASIGNATURE")
    assert forged.refused and "not valid" in (forged.notice or "")
    codec_token = network.app.codec.encode("rp", 999)
    missing = await amina.press_token(codec_token)
    assert missing.refused and "no longer exists" in (missing.notice or "")


async def test_someone_elses_draft_buttons_do_nothing(network):
    amina = await network.member("a1", "Amina")
    bola = await network.member("b1", "Bola")
    await amina.says("Where are the best evaluations of school feeding?")
    draft = await amina.receives("Here is your question")
    submit = next(b.token for row in draft.message.buttons for b in row if b.label == "Submit")
    acknowledgement = await bola.press_token(submit)
    assert acknowledgement.refused and "meant for someone else" in (acknowledgement.notice or "")
    assert rows(network, "SELECT count(*) FROM discussion") == [(0,)]


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("text, answer", [
    ("   ", "empty"),
    ("😀🙏🎉", "in words"),
    ("x" * 20000, "20,000 characters"),
])
async def test_unusable_questions_get_a_clear_answer_and_no_row(network, text, answer):
    amina = await network.member("a1", "Amina")
    await amina.says(text)
    told = await amina.receives(answer)
    assert told.labels() == []
    assert rows(network, "SELECT count(*) FROM discussion") == [(0,)]
    assert rows(network, "SELECT count(*) FROM inbound WHERE kind = 'text' AND length(body) = %d" % len(text)) == [(1,)]


async def test_a_right_to_left_question_goes_through_untouched(tmp_path):
    network = await Network(settings_for(tmp_path, languages=("en", "fr", "ar"))).start()
    try:
        fatou = await network.member("f1", "Fatou")
        amina = await network.member("a1", "Amina")
        text = "كيف نصل إلى الأطفال في المناطق النائية بالتحويلات النقدية؟"
        await amina.says(text)
        await amina.presses("Submit", on=await amina.receives("Here is your question"))
        card = await fatou.receives("waiting for approval")
        assert text in card.text and "Language: Arabic" in card.text
    finally:
        await network.stop()


# --- membership ---------------------------------------------------------------------------


async def test_paused_members_receive_no_broadcast_until_they_resume(network):
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    bola = await network.member("b1", "Bola")
    await bola.says("/pause")
    await bola.receives("Paused")
    await ask(network, amina, "First question about social protection floors?")
    await fatou.presses("Approve", on=await fatou.receives("waiting for approval"))
    await amina.receives("was approved and shared with 1 members")  # Guy; not Fatou, who approved it
    await bola.says("/resume")
    await bola.receives("Welcome back")
    assert not any("First question" in text for text in bola.texts())
    await ask(network, amina, "Second question: how are social protection floors financed?")
    await fatou.presses("Approve", on=await fatou.receives("waiting for approval"))
    await amina.receives("was approved and shared with 2 members")
    await bola.receives("Second question: how are social protection floors financed?")


async def test_leaving_needs_a_confirmation_and_stops_everything_but_start(network):
    bola = await network.member("b1", "Bola")
    await bola.says("/leave")
    await bola.presses("Yes, leave", on=await bola.receives("really want to leave"))
    await bola.receives("You have left")
    await bola.says("/profile")
    await bola.receives("Send /start to join again")
    await bola.says("/start")
    await bola.receives("Welcome back to Test Network")
    assert rows(network, "SELECT status FROM member WHERE name = 'Bola'") == [("active",)]


async def test_help_and_whoami(network):
    fatou = await network.member("f1", "Fatou")
    await fatou.says("/help")
    help_text = await fatou.receives("What I can do")
    assert "/pause" in help_text.text and "For facilitators" in help_text.text
    await fatou.says("/whoami")
    await fatou.receives("Your Memory id is f1")
    await fatou.says("/frobnicate")
    await fatou.receives("I do not know /frobnicate")


# --- the asker withdraws; a person's home -------------------------------------------------


async def test_an_asker_withdraws_an_open_question_and_replies_stop(network):
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    bola = await network.member("b1", "Bola")
    await ask(network, amina, "Is anyone piloting child benefits through mobile wallets?")
    card = await fatou.receives("waiting for approval")
    await fatou.presses("Approve", on=card)
    question = await bola.receives("Question #1 from Amina")
    await bola.says("/withdraw 1")
    await bola.receives("You have no question #1")
    await amina.says("withdraw")
    listed = await amina.receives("Which question would you like to withdraw?")
    assert listed.labels() == ["Withdraw #1"]
    await amina.says("/withdraw 1")
    confirm = await amina.receives("Withdraw question #1?")
    stolen = await bola.press_token(confirm.message.buttons[0][0].token)
    assert stolen.refused and "Only the person who asked" in (stolen.notice or "")
    reply_token = question.message.buttons[0][0].token
    confirm_token = confirm.message.buttons[0][0].token
    answer = await amina.presses("Yes, withdraw it", on=confirm)
    assert answer.notice == "Withdrawn"
    await fatou.sees(lambda m: m is card and "withdrawn by the asker" in m.text and not m.labels())
    assert rows(network, "SELECT state FROM discussion") == [("withdrawn",)]
    # The buttons that can do nothing more go: Bola's Reply, Amina's confirmation.
    await bola.sees(lambda m: m is question and not m.labels())
    await amina.sees(lambda m: m is confirm and not m.labels())
    refused = await bola.press_token(reply_token, question.message_id)
    assert refused.refused and "not open for replies" in (refused.notice or "")
    again = await amina.press_token(confirm_token, confirm.message_id)
    assert again.refused


async def test_home_shows_who_you_are_and_the_questions_open_for_your_reply(network):
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina", "Save the Children")
    bola = await network.member("b1", "Bola")
    await ask(network, amina, "Is anyone piloting child benefits through mobile wallets?")
    await fatou.presses("Approve", on=await fatou.receives("waiting for approval"))
    await ask(network, amina, "What do evaluations say about cash plus care?")
    await bola.says("home")
    home = await bola.receives("You are in the network as Bola")
    assert "#1 Is anyone piloting child benefits through mobile wallets?" in home.text
    assert home.labels() == ["Reply to #1"] and "cash plus care" not in home.text
    await fatou.says("/home")
    facilitators_home = await fatou.receives("Waiting for the facilitators")
    assert "#2 What do evaluations say about cash plus care? — /question 2" in facilitators_home.text

    from bot.ports import HomeOpened, Purpose, Sender

    await network.platform.inbox.handle(HomeOpened(Sender(bola.address, "Bola")))
    page = await bola.receives("You are in the network as Bola")
    assert page.envelope is not None and page.envelope.purpose is Purpose.HOME
