"""Surveys: written by a facilitator for an event (sent to its registrants when it ends) or on
their own to chosen members; one answer per member per question, changeable until the
survey closes; results with the share agreeing, the mean, the distribution as a PNG chart,
the free-text answers, and a CSV export. And /mydata and /forget know about it all."""

import csv
import io
import json
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from bot.domain.surveys import Kind, Question, choice_question, percent, tally
from bot.domain.refusal import Refusal
from tests.clock import ManualClock
from tests.network import ROOT, Network
from tests.storage_backend import rows as backend_rows, storage_toml
from tests.test_events import START, create_event, typing_fast

HOUR = 3600.0


def rows(network, sql):
    return backend_rows(network.settings.storage_path, sql)


@pytest.fixture
async def manual(tmp_path):
    clock = ManualClock(start=datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc).timestamp())
    network = await Network(typing_fast(tmp_path), clock=clock).start()
    yield network, clock
    await network.stop()


def test_the_figures_of_a_likert_question():
    statement = Question(1, Kind.LIKERT, "The webinar was relevant to my work")
    result = tally(statement, [5, 4, 4, 2, 5, None])
    assert result.answers == 5 and result.distribution == {1: 0, 2: 1, 3: 0, 4: 2, 5: 2}
    assert result.agreeing == pytest.approx(0.8) and result.mean == pytest.approx(4.0)
    assert percent(14 / 15) == 93
    assert choice_question("How did you hear of it?\nEmail\nA colleague") == ("How did you hear of it?",
                                                                            ("Email", "A colleague"))
    assert isinstance(choice_question("Only one option?\nEmail"), Refusal)


async def write_event_survey(fatou):
    await fatou.says("/survey 1")
    menu = await fatou.receives("Survey #1: Cash transfers and child poverty")
    assert menu.labels() == ["A 1–5 rating", "A choice", "A free-text question", "Done", "Discard"]
    await fatou.presses("A 1–5 rating", on=menu)
    await fatou.receives("Write the statement members rate")
    await fatou.says("The webinar was relevant to my work")
    await fatou.presses("A 1–5 rating", on=await fatou.receives("1. The webinar was relevant to my work"))
    await fatou.says("The speakers were clear")
    await fatou.presses("A choice", on=await fatou.receives("2. The speakers were clear"))
    await fatou.receives("Write the question on the first line")
    await fatou.says("Which option?")
    await fatou.receives("then each option on its own line")
    await fatou.says("How did you hear about it?\nEmail\nA colleague\nSocial media")
    await fatou.presses("A free-text question", on=await fatou.receives("3. How did you hear about it?"))
    await fatou.says("What should the next webinar cover?")
    done = await fatou.receives("4. What should the next webinar cover?")
    assert "A free-text question" not in done.labels()  # one is the most
    await fatou.presses("Done", on=done)
    await fatou.receives("Survey #1 is ready: it goes to the registrants of event #1 when it ends.")


async def answer(person, question: str, label: str):
    message = await person.sees(lambda m: question in m.text and label in m.labels())
    return await person.presses(label, on=message)


async def test_an_event_survey_goes_to_registrants_and_the_results_are_right(manual):
    network, clock = manual
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    bola = await network.member("b1", "Bola")
    carla = await network.member("c1", "Carla")
    dede = await network.member("d1", "Dede")
    await create_event(fatou)
    for person in (amina, bola, carla):
        await person.presses("Register", on=await person.receives("Cash transfers"))
        await person.receives("You are registered")
    await write_event_survey(fatou)

    clock.advance(START + 2 * HOUR - clock.now())
    await network.app.events.send_due()
    for person in (amina, bola, carla):
        await person.receives("Survey: Cash transfers and child poverty")
    assert not any("Survey:" in text for text in dede.texts())  # not registered
    likert = await amina.sees(lambda m: "The webinar was relevant" in m.text)
    assert likert.labels() == ["1", "2", "3", "4", "5"] and "1 = strongly disagree" in likert.text

    # Relevant: 5, 4 then changed to 2, 4 -> 2 of 3 agree (67%), mean 3.7. Clear: 5, 5, 3.
    assert (await answer(amina, "The webinar was relevant", "5")).notice == "Saved: 5"
    await answer(bola, "The webinar was relevant", "4")
    assert (await answer(bola, "The webinar was relevant", "2")).notice == "Changed to 2"
    await answer(carla, "The webinar was relevant", "4")
    for person, value in ((amina, "5"), (bola, "5"), (carla, "3")):
        await answer(person, "The speakers were clear", value)
    await answer(amina, "How did you hear", "Email")
    await answer(bola, "How did you hear", "A colleague")
    await answer(carla, "How did you hear", "Email")
    await answer(amina, "What should the next webinar cover", "Write my answer")
    await amina.receives("Write your answer in your next message")
    await amina.says("Budgeting for child benefits in fragile states")
    await amina.receives("your answer is saved")

    await fatou.says("/results 1")
    results = await fatou.receives("Results of survey #1")
    text = results.text
    assert "3 people answered." in text
    relevant = text.split("1. The webinar was relevant to my work")[1].split("2. ")[0]
    assert "3 answers · 67% agreed or strongly agreed · mean 3.7" in relevant
    assert "1: 0  2: 1  3: 0  4: 1  5: 1" in relevant
    clear = text.split("2. The speakers were clear")[1].split("3. ")[0]
    assert "67% agreed or strongly agreed · mean 4.3" in clear
    assert "Email: 2 (67%)" in text and "A colleague: 1 (33%)" in text and "Social media: 0 (0%)" in text
    assert "— Budgeting for child benefits in fragile states" in text
    chart = results.message.document
    assert chart is not None and chart.content_type == "image/png" and chart.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(chart.data) > 5000

    await fatou.says("/results 1 csv")
    exported = (await fatou.receives("as a CSV file")).message.document
    assert exported.content_type == "text/csv"
    table = list(csv.DictReader(io.StringIO(exported.data.decode())))
    assert len(table) == 3 + 3 + 3 + 1
    assert sorted(row["value"] for row in table if row["question"] == "1") == ["2", "4", "5"]
    assert {row["respondent"] for row in table} == {"R1", "R2", "R3"}
    assert [row["answer"] for row in table if row["question"] == "4"] == ["Budgeting for child benefits in fragile states"]

    await fatou.says("/survey close 1")
    await fatou.receives("Survey #1 is closed, with answers from 3 people.")
    late = await answer(carla, "The webinar was relevant", "5")
    assert late.refused and "closed" in late.notice
    assert rows(network, "SELECT value FROM survey_answer WHERE position = 1 ORDER BY value") == [(2,), (4,), (5,)]

    # The export from the command line says the same.
    config = network.settings.storage_path.parent / "config.toml"
    config.write_text(f'[community]\nname = "Test Network"\n{storage_toml(network.settings.storage_path)}'
                      '[webchat]\nsecret = "0123456789abcdef"\n')
    out = network.settings.storage_path.parent / "survey.csv"
    done = subprocess.run([sys.executable, "-m", "bot.cli", "survey", "export", "1", "--config", str(config),
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == exported.data


async def test_a_survey_of_its_own_goes_to_the_members_chosen_until_it_closes(manual):
    network, clock = manual
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina", country="Kenya")
    bola = await network.member("b1", "Bola", country="Ghana")
    await fatou.says("/survey")
    await fatou.receives("A new survey. What is its title?")
    await fatou.says("Our newsletter")
    await fatou.presses("A 1–5 rating", on=await fatou.receives("Survey #1: Our newsletter"))
    await fatou.says("The newsletter is useful")
    await fatou.presses("Done", on=await fatou.receives("1. The newsletter is useful"))
    await fatou.presses("By country", on=await fatou.receives("Who should receive it?"))
    await fatou.receives("Which country?")
    await fatou.says("Kenya")
    await fatou.receives("It goes to 1 member.")
    await fatou.says("7d")
    confirm = await fatou.receives("Send it now?")
    assert "to 1 member" in confirm.text and "closes on Dec 8, 2026" in confirm.text
    await fatou.presses("Send", on=confirm)
    await fatou.receives("Survey #1 was sent to 1 member.")
    await answer(amina, "The newsletter is useful", "4")
    assert not any("newsletter" in text for text in bola.texts())

    clock.advance(8 * 86400)
    assert await network.app.surveys.close_due() == 1
    late = await answer(amina, "The newsletter is useful", "5")
    assert late.refused
    await fatou.says("/results 1")
    assert "1 answer · 100% agreed or strongly agreed · mean 4" in (await fatou.receives("Results of survey #1")).text


async def test_mydata_shows_registrations_and_answers_and_forget_leaves_them_anonymous(manual):
    network, clock = manual
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    await create_event(fatou)
    await amina.presses("Register", on=await amina.receives("Cash transfers"))
    await amina.receives("You are registered")
    await write_event_survey(fatou)
    clock.advance(START + 2 * HOUR - clock.now())
    await network.app.events.send_due()
    await answer(amina, "The webinar was relevant", "5")

    await amina.says("/mydata")
    data = json.loads((await amina.receives("everything the network holds about you")).message.document.data)
    [registration] = data["event_registrations"]
    assert registration["title"] == "Cash transfers and child poverty" and registration["state"] == "registered"
    assert [(a["question"], a["value"]) for a in data["survey_answers"]] == [("The webinar was relevant to my work", 5)]

    await amina.says("/forget")
    await amina.presses("Yes, forget me", on=await amina.receives("Forget you?"))
    await amina.receives("You are forgotten")
    assert rows(network, "SELECT count(*) FROM registration") == [(0,)]
    [(member_id, respondent, value)] = rows(network, "SELECT member_id, respondent, value FROM survey_answer")
    assert member_id is None and respondent.startswith("x") and value == 5
