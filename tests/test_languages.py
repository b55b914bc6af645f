"""Every member in their own language: greeted in their app's language and answered in it
throughout, right to left in Arabic; questions go to the facilitators of their language (and
to everyone when nobody takes them up); facilitators' translations reach the members who read
them, with the original below."""

import asyncio

import aiohttp
import pytest
from babel.messages.pofile import read_po

from bot.texts.catalog import FIRST_STRONG_ISOLATE, POP_DIRECTIONAL_ISOLATE
from tests.clock import ManualClock
from tests.network import ROOT, Network, close_now, settings_for
from tests.storage_backend import rows as backend_rows

LANGUAGES = ("en", "fr", "es", "pt", "ar")
HOUR = 3600.0


def english_sentences() -> list[str]:
    """The bot's English sentences long enough that finding one means it was not translated."""
    with (ROOT / "bot" / "texts" / "messages.pot").open("rb") as template:
        ids = [message.id for message in read_po(template) if message.id and isinstance(message.id, str)]
    return [msgid.split("{")[0].strip() for msgid in ids if len(msgid.split("{")[0].split()) >= 4]


def untranslated(texts: list[str]) -> list[str]:
    return [sentence for sentence in english_sentences() for text in texts if sentence in text]


def rows(network: Network, sql: str) -> list[tuple]:
    return backend_rows(network.settings.storage_path, sql)


@pytest.fixture
async def network(tmp_path):
    network = await Network(settings_for(tmp_path, languages=LANGUAGES)).start()
    yield network
    await network.stop()


async def join_in_french(network: Network, user_id: str, name: str):  # type: ignore[no-untyped-def]
    person = network.person(user_id, name, locale="fr-CH")
    await person.says("/start")
    await person.receives("Bienvenue dans Test Network")
    await person.receives("Quel est votre nom")
    await person.says(name)
    for question in ("Avec quelle organisation", "Dans quel pays", "Quels thèmes"):
        await person.receives(question)
        await person.presses("Passer")
    await person.presses("Français", on=await person.receives("Quelle langue"))
    # The directory's questions, taken in turn whatever their wording: what they offer, look for, and No.
    for _ in range(2):
        await person.presses("Passer", on=await person.receives(""))
    directory = await person.receives("")
    await person.presses(directory.labels()[1], on=directory)
    await person.receives("vous faites partie du réseau")
    return person


async def test_a_member_whose_app_is_in_french_gets_everything_in_french(network):
    fatou = await network.member("f1", "Fatou")
    claire = await join_in_french(network, "c1", "Claire")
    for command in ("/help", "/profile", "/home", "/digest", "/search allocations", "/whoami"):
        await claire.says(command)
    await claire.receives("Votre identifiant Memory est c1")
    await claire.says("Comment les autres pays indexent-ils les allocations familiales sur l'inflation ?")
    await claire.receives("Voici votre question")
    answer = await claire.presses("Envoyer")
    assert answer.notice == "Envoyée aux animateurs"
    await claire.receives("est entre les mains des animateurs")
    card = await fatou.receives("waiting for approval")
    assert "Language: French" in card.text  # the facilitator reads the card in their own language
    await fatou.presses("Approve", on=card)
    approved = await claire.receives("Bonne nouvelle")
    assert "partagée avec 1 membres" in approved.text or "partagée avec" in approved.text
    assert untranslated(claire.texts()) == []
    assert rows(network, "SELECT language FROM member WHERE name = 'Claire'") == [("fr",)]


async def test_an_arabic_member_reads_right_to_left_with_names_and_numbers_kept_whole(network):
    omar = network.person("o1", "Omar", locale="ar")
    await omar.says("/start")
    welcome = await omar.receives("أهلًا بك في")
    assert f"{FIRST_STRONG_ISOLATE}Test Network{POP_DIRECTIONAL_ISOLATE}" in welcome.text
    await omar.receives("ما اسمك")
    await omar.says("Omar Haddad")
    for question in ("مع أي منظمة", "في أي بلد", "ما المواضيع"):
        await omar.presses("تخطٍّ", on=await omar.receives(question))
    await omar.presses("العربية", on=await omar.receives("بأي لغة"))
    for _ in range(2):  # what he offers and looks for, whatever their wording
        await omar.presses("تخطٍّ", on=await omar.receives(""))
    directory = await omar.receives("")
    await omar.presses(directory.labels()[1], on=directory)
    await omar.receives("أصبحت عضوًا")
    await omar.says("/whoami")
    whoami = await omar.receives("معرّفك")
    assert f"{FIRST_STRONG_ISOLATE}o1{POP_DIRECTIONAL_ISOLATE}" in whoami.text
    assert untranslated(omar.texts()) == []


async def test_a_french_question_goes_to_the_french_facilitator_then_to_all_when_nobody_takes_it(tmp_path):
    clock = ManualClock()
    settings = settings_for(tmp_path, languages=LANGUAGES)
    network = await Network(settings, clock=clock).start()
    try:
        fatou = await join_in_french(network, "f1", "Fatou")  # f1 and f2 are the facilitators
        guy = await network.member("f2", "Guy")
        claire = await join_in_french(network, "c1", "Claire")
        await claire.says("Comment les autres pays indexent-ils les allocations familiales sur l'inflation ?")
        await claire.presses("Envoyer", on=await claire.receives("Voici votre question"))
        card = await fatou.receives("attend d'être approuvée")
        assert "Langue: français" in card.text
        await asyncio.sleep(0.3)
        assert not any("waiting for approval" in text for text in guy.texts())

        clock.advance(4 * HOUR + 60)
        await network.app.moderation.share_unclaimed()
        late = await guy.receives("waiting for approval")
        assert "Language: French" in late.text
        await network.app.moderation.share_unclaimed()
        await asyncio.sleep(0.2)
        assert sum("waiting for approval" in text for text in guy.texts()) == 1  # once

        await guy.says("/languages fr")
        await guy.receives("Saved: questions in English, French come to you.")
        await claire.says("Quelles évaluations existent sur les cantines scolaires au Sénégal ?")
        await claire.presses("Envoyer", on=await claire.receives("Voici votre question"))
        await guy.receives("Question #2 is waiting for approval")
    finally:
        await network.stop()


async def test_a_translation_reaches_the_members_who_read_it_with_the_original_below(network):
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    claire = await join_in_french(network, "c1", "Claire")
    await claire.says("Comment les autres pays indexent-ils les allocations familiales sur l'inflation ?")
    await claire.presses("Envoyer", on=await claire.receives("Voici votre question"))
    card = await fatou.receives("waiting for approval")
    assert {"In English", "In Spanish", "In Portuguese", "In Arabic"} <= set(card.labels())
    assert "In French" not in card.labels()  # the question is in French already
    await fatou.presses("Approve", on=card)
    original = await amina.receives("Question #1 from Claire")
    assert "allocations familiales" in original.text

    await fatou.presses("In English", on=await fatou.sees(lambda m: "In English" in m.labels() and "approved" in m.text))
    await fatou.receives("Send question #1 in English")
    await fatou.says("How do other countries index family benefits to inflation?")
    await fatou.receives("the English version went to")
    translated = await amina.receives("How do other countries index family benefits to inflation?")
    assert translated.text.index("How do other countries") < translated.text.index("Original (French):")
    assert translated.text.index("Original (French):") < translated.text.index("allocations familiales")
    assert translated.labels() == ["Reply", "Reply without my name"]
    assert not any("How do other countries" in text for text in claire.texts())  # she reads French
    assert rows(network, "SELECT kind, language FROM translation") == [("question", "en")]


async def test_the_web_chat_page_speaks_the_browsers_language(tmp_path):
    from tests.webchat_network import start_demo

    app = await start_demo(tmp_path, languages=("en", "fr", "es"))
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{app.web_address}api/texts", headers={"Accept-Language": "fr-FR,fr;q=0.9"}) as r:
                french = await r.json()
            async with session.get(f"{app.web_address}api/texts", headers={"Accept-Language": "ar"}) as r:
                arabic = await r.json()
            async with session.get(f"{app.web_address}api/transcript", headers={"Accept-Language": "fr"}) as r:
                refused = await r.json()
        assert french["language"] == "fr" and french["dir"] == "ltr" and french["words"]["Send"] == "Envoyer"
        # The demo offers English, French and Spanish: an Arabic browser gets the default.
        assert arabic["language"] == "en" and arabic["words"]["Send"] == "Send"
        assert refused["error"] == "Choisissez d'abord qui vous êtes."
    finally:
        await app.stop()


async def test_a_translated_consolidated_reply_is_received_read_and_found_in_its_readers_language(network):
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    claire = await join_in_french(network, "c1", "Claire")
    await claire.says("Comment les autres pays indexent-ils les allocations familiales sur l'inflation ?")
    await claire.presses("Envoyer", on=await claire.receives("Voici votre question"))
    await fatou.presses("Approve", on=await fatou.receives("waiting for approval"))
    question = await amina.receives("Question #1 from Claire")
    await amina.presses("Reply", on=question)
    await amina.says("Nigeria indexes its child grant every January, following the consumer price index.")
    await amina.receives("Thank you! Your reply was sent")
    await close_now(fatou)
    draft = await fatou.receives("Draft consolidated reply")
    await fatou.presses("In English", on=draft)
    await fatou.receives("Send the consolidated reply to question #1 in English")
    await fatou.says("Family benefits are indexed yearly on consumer prices, as in Nigeria.")
    await fatou.receives("members who read English will get this version")
    await fatou.presses("Publish", on=draft)
    english = await amina.receives("Consolidated reply:")
    assert english.text.index("Family benefits are indexed yearly") < english.text.index("Original (French):")
    french = await claire.receives("Réponse consolidée")
    assert "Family benefits are indexed yearly" not in french.text

    await amina.says("/search yearly consumer prices")
    found = await amina.receives("What the network has discussed")
    assert "#1 " in found.text and found.labels() == ["Read #1"]
    await amina.says("/read 1")
    read = await amina.receives("Family benefits are indexed yearly")
    assert read.text.index("Family benefits") < read.text.index("Original (French):")
