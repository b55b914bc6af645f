"""Good practices: a member shares one with /practice, a facilitator approves or rejects it,
members browse them by theme and country and find them by words, a CSV file imports them,
and a draft consolidated reply gets themes and countries with one tap."""

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import LimitSettings
from bot.domain.practices import PracticeDraft, State, Status
from storage.opening import open_storage
from storage.practices import SqlitePracticeStore
from tests import storage_backend
from tests.network import Network, close_now, settings_for
from tests.test_closing import open_discussion, reply

ROOT = Path(__file__).resolve().parent.parent


def settings(tmp_path: Path):
    # A person filling in the form answers faster than a person would.
    return replace(settings_for(tmp_path), limits=LimitSettings(messages_per_second=100.0, burst=200))


@pytest.fixture
async def network(tmp_path):
    network = await Network(settings(tmp_path)).start()
    yield network
    await network.stop()


def rows(network: Network, sql: str) -> list[tuple]:
    return storage_backend.rows(network.settings.storage_path, sql)


SUMMARY = ("A monthly cash transfer to families with adolescent girls, paid through mobile money, with home "
           "visits by social workers. School attendance rose by a fifth in two years.")


async def share(person, title: str = "Cash plus care for adolescent girls", countries: str = "Ghana, Côte d'Ivoire"):
    await person.says("/practice")
    await person.receives("What is the practice called")
    await person.says(title)
    await person.receives("Describe it")
    await person.says(SUMMARY)
    await person.receives("In which countries")
    await person.says(countries)
    status = await person.receives("Where does it stand")
    assert status.labels() == ["idea", "ongoing", "completed", "Cancel"]
    await person.presses("ongoing", on=status)
    themes = await person.receives("Which themes")
    await person.presses("social protection", on=themes)
    await person.presses("education", on=themes)
    assert "✓ social protection" in themes.labels() and "✓ education" in themes.labels()
    await person.presses("Done", on=themes)
    await person.receives("Sustainable Development Goals")
    await person.says("1 4")
    await person.receives("Who implements it")
    await person.presses("Skip")
    await person.receives("documented it")
    await person.says("UNICEF Ghana")
    await person.receives("A link")
    await person.says("https://example.org/cash-plus")
    summary = await person.receives("Here is your good practice")
    assert "Countries: Ghana, Côte d’Ivoire" in summary.text
    assert "Themes: social protection, education" in summary.text
    assert "SDGs: 1 (main), also 4" in summary.text
    await person.presses("Submit", on=summary)
    return await person.receives("is with the facilitators")


async def test_a_shared_practice_is_approved_then_found_by_theme_country_and_words(network):
    fatou = await network.member("f1", "Fatou", "Network team", "Senegal")
    amina = await network.member("a1", "Amina", "Save the Children", "Nigeria")
    bola = await network.member("b1", "Bola")

    sent = await share(amina)
    assert "good practice #1" in sent.text
    card = await fatou.receives("Good practice #1 is waiting for approval")
    assert "Amina (Save the Children, Nigeria)" in card.text and "Cash plus care" in card.text
    assert card.labels() == ["Approve", "Reject"]
    await bola.says("/practices social protection")
    await bola.receives("No good practice about social protection yet")  # not before approval

    await fatou.presses("Approve", on=card)
    await fatou.sees(lambda m: "Good practice #1 was approved by Fatou" in m.text and not m.labels())
    told = await amina.receives("was approved")
    assert "“Cash plus care for adolescent girls”" in told.text

    await bola.says("/practices ghana SOCIAL protection")  # any order, any case
    found = await bola.receives("Good practices about social protection, Ghana")
    assert "#1 Cash plus care for adolescent girls" in found.text and "Ghana, Côte d’Ivoire · ongoing" in found.text
    await bola.presses("Practice #1", on=found)
    shown = await bola.receives("#1 Cash plus care")
    assert "Source: UNICEF Ghana https://example.org/cash-plus" in shown.text and "Language: English" in shown.text
    await bola.says("/practices cote d'ivoire")  # without the accent
    assert "#1 Cash plus care" in (await bola.receives("Good practices about Côte d’Ivoire")).text
    await bola.says("/practices")
    overview = await bola.receives("Good practices by theme")
    assert "social protection (1)" in overview.text and "health (0)" in overview.text
    await bola.presses("education", on=overview)
    assert "#1 Cash plus care" in (await bola.receives("Good practices about education")).text

    store = SqlitePracticeStore(network.app.database)
    [hit] = await store.search("mobile money girls")
    assert (hit.number, hit.title) == (1, "Cash plus care for adolescent girls") and "mobile money" in hit.snippet
    assert await store.search("nutrition") == []
    # A member's /search finds it beside the consolidated replies, with a button to read it.
    await bola.says("/search mobile money girls")
    searched = await bola.receives("Good practices:")
    assert "#1 Cash plus care for adolescent girls" in searched.text and "Practice #1" in searched.labels()
    await bola.presses("Practice #1", on=searched)
    await bola.receives("#1 Cash plus care")
    assert rows(network, "SELECT action, actor_name, member_id FROM audit") == [("practice-approve", "Fatou", 3)]
    assert rows(network, "SELECT state, submitted_by, primary_sdg, secondary_sdgs, language FROM practice") == [
        ("approved", 3, 1, "4", "en")]


async def test_each_answer_is_checked_with_a_clear_word(network):
    amina = await network.member("a1", "Amina")
    await amina.says("/practice")
    await amina.receives("What is the practice called")
    await amina.says("x" * 151)
    await amina.receives("That is too long: at most 150 characters")
    await amina.says("School meals in Kenya")
    await amina.receives("Describe it")
    await amina.says("Good.")
    await amina.receives("That is too short")
    await amina.says(SUMMARY)
    await amina.receives("In which countries")
    await amina.says("Kenya, Narnia")
    await amina.receives("I do not know the country “Narnia”")
    await amina.says("Kenya")
    await amina.receives("Where does it stand")
    await amina.says("completed")  # typed instead of pressed
    themes = await amina.receives("Which themes")
    await amina.presses("Done", on=themes)
    assert amina.answers[-1].notice == "Choose at least one theme." and amina.answers[-1].refused
    await amina.says("5 99")
    await amina.receives("“99” is not one of the themes")
    await amina.says("5, 4")
    await amina.receives("Sustainable Development Goals")
    await amina.says("2 18")
    await amina.receives("There is no SDG 18")
    await amina.presses("Skip")
    await amina.receives("Who implements it")
    await network.restart()  # the answers so far are kept
    await amina.says("Ministry of Education")
    await amina.receives("documented it")
    await amina.presses("Skip")
    await amina.receives("A link")
    await amina.says("ftp://example.org/file")
    await amina.receives("That is not a web link")
    await amina.says("javascript:alert(1)")
    await amina.receives("That is not a web link")
    await amina.presses("Skip")
    summary = await amina.receives("Here is your good practice")
    assert "Themes: nutrition, health" in summary.text and "Status: completed" in summary.text
    assert "SDGs" not in summary.text and "Implemented by: Ministry of Education" in summary.text
    await amina.presses("Cancel", on=summary)
    await amina.receives("Cancelled: nothing was sent.")
    assert rows(network, "SELECT count(*) FROM practice") == [(0,)]


async def test_a_rejected_practice_tells_the_member_why(network):
    fatou = await network.member("f1", "Fatou", "Network team", "Senegal")
    amina = await network.member("a1", "Amina")
    await share(amina)
    card = await fatou.receives("Good practice #1 is waiting for approval")
    await fatou.presses("Reject", on=card)
    await fatou.receives("Why is good practice #1 not approved?")
    await fatou.says("Please add a source we can check.")
    await fatou.receives("Good practice #1 was rejected; the member who shared it has been told.")
    told = await amina.receives("was not approved")
    assert "Please add a source we can check." in told.text
    await fatou.sees(lambda m: "rejected by Fatou: Please add a source" in m.text and not m.labels())
    assert rows(network, "SELECT state, reason FROM practice") == [("rejected", "Please add a source we can check.")]
    assert rows(network, "SELECT action, detail FROM audit") == [
        ("practice-reject", "#1 Cash plus care for adolescent girls — Please add a source we can check.")]
    await amina.says("/practices social protection")
    await amina.receives("No good practice about social protection yet")


async def test_rejecting_without_a_reason_asks_first(network):
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    await share(amina)
    card = await fatou.receives("waiting for approval")
    await fatou.presses("Reject", on=card)
    asked = await fatou.receives("Why is good practice #1 not approved?")
    await fatou.presses("Reject without a reason", on=asked)
    confirm = await fatou.sees(lambda m: "Yes, reject it" in m.labels())
    assert rows(network, "SELECT state FROM practice") == [("submitted",)]
    await fatou.presses("Yes, reject it", on=confirm)
    await amina.receives("was not approved")
    assert rows(network, "SELECT state, reason FROM practice") == [("rejected", "")]


async def test_a_member_cannot_approve(network):
    await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    await share(amina)
    fatou = network.person("f1")
    card = await fatou.receives("waiting for approval")
    token = next(b.token for row in card.message.buttons for b in row if b.label == "Approve")
    answer = await amina.press_token(token)
    assert answer.refused and answer.notice == "Only facilitators can do that."
    assert rows(network, "SELECT state FROM practice") == [("submitted",)]


async def test_words_are_found_without_their_accents_in_any_case_and_unfinished(tmp_path):
    database = await open_storage(tmp_path / "p.db", storage_backend.storage_url(tmp_path / "p.db"))
    try:
        store = SqlitePracticeStore(database)
        canteens = await store.create(PracticeDraft(
            "Cantines scolaires au Sénégal", "Des repas chauds servis chaque jour dans les écoles rurales, achetés "
            "aux producteurs locaux : les cantines ont fait venir plus d'élèves, surtout des filles, et les parents "
            "ont payé moins.", ("SN",), Status.ONGOING, ("nutrition",), language="fr"), None, State.APPROVED, 1.0)
        for words in ("senegal", "SÉNÉGAL", "cantin", "producteurs-locaux", "eleves filles"):
            assert [hit.number for hit in await store.search(words)] == [canteens.id], words
        [hit] = await store.search("eleves filles")
        # From the start of the sentence holding the words, as FTS5's snippet() shows it.
        assert hit.snippet == ("…les cantines ont fait venir plus d'élèves, surtout des filles, et les parents ont"
                               " payé moins.")
        assert await store.search("cantaloupe") == []
    finally:
        await database.close()


async def test_similar_solutions_share_themes_countries_or_words(network):
    bola = await network.member("b1", "Bola")
    store = SqlitePracticeStore(network.app.database)

    def draft(title, summary, countries, themes):
        return PracticeDraft(title, summary, countries, Status.ONGOING, themes, language="en")

    first = await store.create(draft("Cash transfers for girls' schooling", "Monthly cash transfers keep girls in "
                                     "secondary school.", ("GH",), ("social protection", "education")),
                               None, State.APPROVED, 1.0)
    close = await store.create(draft("Cash transfers in northern Ghana", "Unconditional cash transfers to "
                                     "families with girls.", ("GH",), ("social protection",)), None, State.APPROVED, 2.0)
    words = await store.create(draft("Bursaries for girls", "School bursaries paid as cash transfers to girls.",
                                     ("TG",), ("gender equality",)), None, State.APPROVED, 3.0)
    await store.create(draft("Vaccination campaigns", "Mobile clinics reach remote villages.", ("PE",),
                             ("health",)), None, State.APPROVED, 4.0)
    await store.create(draft("Cash transfers pending", "Cash transfers to girls in Ghana.", ("GH",),
                             ("social protection",)), 1, State.SUBMITTED, 5.0)

    similar = await store.similar(first, limit=3)
    assert [p.id for p in similar] == [close.id, words.id]  # not the unrelated one, not one waiting for approval
    await bola.says(f"/practice {first.id}")
    shown = await bola.receives("Similar solutions")
    assert shown.text.index("Cash transfers in northern Ghana") < shown.text.index("Bursaries for girls")
    assert "Vaccination" not in shown.text
    assert shown.labels() == [f"Practice #{close.id}", f"Practice #{words.id}"]
    await bola.says("/practice 5")
    await bola.receives("There is no good practice #5")  # waiting for approval: not shown to others


CSV = """id,title,summary,countries,implementing_entities,status,primary_sdg,secondary_sdgs,themes,source_organization,source_link,language
p1,Child grant in Lesotho,"A universal child grant paid to every family with young children, reaching nine in ten.",Lesotho,Ministry of Social Development,completed,1,2;10,social protection;child poverty,UNICEF,https://example.org/lesotho,
p2,Bad status,"A long enough summary of a practice that has a bad status value.",Kenya,,finished,,,health,,,
p3,Unknown theme,"A long enough summary of a practice that has an unknown theme.",Kenya,,ongoing,,,astronomy,,,
p4,Bad link,"A long enough summary of a practice whose link is not a web address.",Kenya,,idea,,,health,,ftp://example.org,
p5,Unknown country,"A long enough summary of a practice whose country does not exist.",Atlantis,,idea,,,health,,,
p6,Cantines scolaires au Sénégal,"Des repas chauds servis chaque jour dans les écoles rurales, achetés aux producteurs locaux.",Sénégal;Mali,,ongoing,2,,nutrition;education,,,
"""


def run_import(tmp_path: Path, csv_text: str) -> subprocess.CompletedProcess:
    (tmp_path / "practices.csv").write_text(csv_text, encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(f'[community]\nname = "Net"\nlanguages = ["en", "fr"]\n'
                      f'{storage_backend.storage_toml(tmp_path / "net.db")}'
                      '[webchat]\nsecret = "0123456789abcdef"\n', encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "bot.cli", "practices", "import", str(tmp_path / "practices.csv"),
                           "--config", str(config)], capture_output=True, text=True, cwd=ROOT, env=dict(os.environ),
                          timeout=120)


def test_a_csv_file_is_imported_with_errors_by_line_and_again_changes_nothing(tmp_path):
    result = run_import(tmp_path, CSV)
    assert result.returncode == 0, result.stderr
    assert "line 3: skipped: status: must be one of idea, ongoing, completed" in result.stdout
    assert "line 4: skipped: themes: 'astronomy' is not one of the themes" in result.stdout
    assert "line 5: skipped: source_link: not an http:// or https:// address" in result.stdout
    assert "line 6: skipped: countries: unknown country 'Atlantis'" in result.stdout
    assert result.stdout.strip().endswith("imported 2, updated 0, unchanged 0, skipped 4")
    practices = storage_backend.rows(
        tmp_path / "net.db",
        "SELECT title, status, primary_sdg, secondary_sdgs, state, language, submitted_by FROM practice ORDER BY id")
    countries = storage_backend.rows(
        tmp_path / "net.db", "SELECT practice_id, code FROM practice_country ORDER BY practice_id, position")
    assert practices == [
        ("Child grant in Lesotho", "completed", 1, "2 10", "approved", "en", None),
        ("Cantines scolaires au Sénégal", "ongoing", 2, "", "approved", "fr", None),
    ]
    assert countries == [(1, "LS"), (2, "SN"), (2, "ML")]
    again = run_import(tmp_path, CSV)
    assert again.stdout.strip().endswith("imported 0, updated 0, unchanged 2, skipped 4")
    changed = run_import(tmp_path, CSV.replace("reaching nine in ten", "reaching most"))
    assert changed.stdout.strip().endswith("imported 0, updated 1, unchanged 1, skipped 4")


async def test_tags_suggested_on_a_draft_are_accepted_in_one_tap_then_browsable(tmp_path):
    network = await Network(settings(tmp_path)).start()
    try:
        fatou, amina, bola, carla = await open_discussion(
            network, "How do cash transfers reach children in remote areas of Ghana?")
        await reply(bola, "Mobile money agents in each district worked well, with social workers visiting families.")
        await reply(carla, "In Peru the school feeding programme used the same lists.")
        await close_now(fatou)
        draft = await fatou.receives("Draft consolidated reply")
        assert "Suggested tags: social protection, nutrition, education, Ghana, Peru" in draft.text
        answer = await fatou.presses("Accept tags", on=draft)
        assert answer.notice == "Tagged: social protection, nutrition, education, Ghana, Peru"
        assert rows(network, "SELECT kind, value FROM reply_tag ORDER BY kind, value") == [
            ("country", "GH"), ("country", "PE"), ("theme", "education"), ("theme", "nutrition"),
            ("theme", "social protection")]
        assert rows(network, "SELECT action, discussion_id FROM audit WHERE action = 'tag'") == [("tag", 1)]
        # A second tap adds no tag: nothing more in the audit log.
        await fatou.presses("Accept tags", on=draft)
        assert rows(network, "SELECT action, discussion_id FROM audit WHERE action = 'tag'") == [("tag", 1)]
        await fatou.presses("Publish", on=draft)
        await amina.receives("Consolidated reply")
        await amina.says("/practices social protection ghana")
        found = await amina.receives("Consolidated replies")
        assert "#1 How do cash transfers reach children in remote areas of Ghana?" in found.text
        assert "Read #1" in found.labels()
        await amina.says("/practices health")
        await amina.receives("No good practice about health yet")
    finally:
        await network.stop()


async def test_mydata_holds_a_members_practices_and_forget_takes_their_name_off(network):
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina Yusuf")
    await share(amina, title="Amina Yusuf's cash plus care")
    await fatou.presses("Approve", on=await fatou.receives("waiting for approval"))
    await amina.says("/mydata")
    sent = await amina.receives("everything the network holds about you")
    [shared] = json.loads(sent.message.document.data)["good_practices_shared"]
    assert (shared["title"], shared["state"], shared["source_link"]) == (
        "Amina Yusuf's cash plus care", "approved", "https://example.org/cash-plus")
    await amina.says("/forget")
    await amina.presses("Yes, forget me", on=await amina.receives("Forget you?"))
    await amina.receives("You are forgotten")
    assert rows(network, "SELECT title, submitted_by, state FROM practice") == [
        ("a member's cash plus care", None, "approved")]
