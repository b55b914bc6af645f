"""Reports: a month's figures from a database whose true counts are known (members joining
and leaving across months, questions approved and rejected, replies at known times), the
`facilitator report` command writing the HTML page, the JSON and two real PNG charts, and
/report in the chat for facilitators only."""

import io
import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from PIL import Image

from bot.domain.refusal import Refusal
from bot.services.charts import Bar, countries_chart, growth_chart
from bot.services.reports import Month, Share, make_report
from bot.texts.catalog import Texts
from storage.opening import open_storage
from storage.reports import SqliteReportFigures
from tests.clock import ManualClock
from tests.network import Network, settings_for
from tests.storage_backend import execute, rows, storage_toml, storage_url

ROOT = Path(__file__).resolve().parent.parent
HOUR, DAY = 3600.0, 86400.0
OCTOBER = Month(2026, 10)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def at(month: int, day: int, hour: int = 0, year: int = 2026) -> float:
    return datetime(year, month, day, hour, tzinfo=timezone.utc).timestamp()


# Seven members from four countries (Brazil written two ways), two of whom left: Maria in
# October, Joy in September. A facilitator, and a member who joined in November, are not
# October's members.
MEMBERS = [
    # id, name, country, language, role, joined, left, identities
    (1, "Amina", "Nigeria", "en", "member", at(8, 10), None, [("telegram", "501")]),
    (2, "Kwame", "Ghana", "en", "member", at(9, 5), None, [("telegram", "502")]),
    (3, "Maria", "Brazil", "pt", "member", at(9, 20), at(10, 12), [("whatsapp", "5511900000003")]),
    (4, "Omar", "Jordan", "ar", "member", at(10, 2), None, [("whatsapp", "962790000004")]),
    (5, "Ana", " brazil ", "pt", "member", at(10, 15), None, [("slack", "U005")]),
    (6, "Lucas", "Brazil", "pt", "member", at(10, 20), None, [("telegram", "506"), ("slack", "U006")]),
    (7, "Joy", "Nigeria", "en", "member", at(7, 1), at(9, 30), [("telegram", "507")]),
    (8, "Fatou", "Kenya", "fr", "facilitator", at(6, 1), None, [("telegram", "900")]),
    (9, "Pedro", "Peru", "es", "member", at(11, 3), None, [("telegram", "509")]),
]
# id, asker, created, approved, state, replies (member, time), published
DISCUSSIONS = [
    (1, 1, at(9, 25), at(9, 26), "published", [], at(10, 10)),
    (2, 2, at(10, 3), at(10, 3, 6), "published",
     [(4, at(10, 3, 10)), (3, at(10, 5)), (2, at(10, 9))], at(10, 20)),
    (3, 4, at(10, 4), at(10, 4, 12), "approved", [(2, at(10, 5, 12))], None),
    (4, 2, at(10, 7), None, "rejected", [], None),
    (5, 6, at(10, 21), None, "submitted", [], None),
    # A reply in November to a question shared in October counts for it.
    (6, 4, at(10, 22), at(10, 23), "approved", [(1, at(11, 2))], None),
    (7, 8, at(10, 31, 23), at(11, 1, 1), "approved", [], None),
]
# platform, user_id, kind, time: Amina pressed a button in October (she is active for it),
# Ana only wrote (she is not), the facilitator pressed (not a member), Lucas in November.
INBOUND = [
    ("telegram", "501", "button", at(10, 9)),
    ("slack", "U005", "text", at(10, 16)),
    ("telegram", "900", "button", at(10, 3, 6)),
    ("telegram", "506", "button", at(11, 2)),
]
# words, results, time
SEARCHES = [
    ("birth registration", 0, at(10, 2)),
    ("Birth  Registration ", 0, at(10, 8)),
    ("birth registration", 0, at(10, 30)),
    ("cash transfers", 0, at(10, 11)),
    ("nutrition", 4, at(10, 12)),
    ("old words", 0, at(9, 12)),
]


# Events: id, start; registrations: (member, state, attended). Only the October events count:
# 2 held, 3 registered (the waiting one not), 2 said they attended, 1 left waiting.
EVENTS = [
    (1, at(10, 14), [(1, "registered", 1), (2, "registered", 0), (3, "waiting", None)]),
    (2, at(10, 28), [(4, "registered", 1), (5, "cancelled", None)]),
    (3, at(11, 3), [(1, "registered", 1)]),
]
# Survey answers: respondent, 1-5 value (a likert question) or None (a text one), time.
# In October: 3 people, 5 answers on the scale of which 3 agree (4 or 5).
ANSWERS = [
    ("m1", 5, at(10, 15)), ("m1", None, at(10, 15)), ("m2", 4, at(10, 15)), ("m2", 2, at(10, 16)),
    ("m4", 3, at(10, 29)), ("m4", 4, at(10, 29)), ("m5", 1, at(11, 2)),
]


async def seeded(path: Path) -> bool:
    """The database above, migrated by the real code; True when the search log exists."""
    database = await open_storage(path, storage_url(path))
    try:
        async with database.transaction() as connection:
            await _seed(connection)
            if database.dialect == "sqlite":
                logged = await (await connection.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'search_log'")).fetchone() is not None
            else:
                logged = True  # the PostgreSQL schema begins with every table of SQLite's migrations
            if logged:
                await connection.executemany("INSERT INTO search_log (at, words, results) VALUES (?, ?, ?)",
                                             [(when, words, results) for words, results, when in SEARCHES])
    finally:
        await database.close()
    return logged


async def _seed(connection) -> None:  # type: ignore[no-untyped-def]
    for number, name, country, language, role, joined, left, identities in MEMBERS:
        await connection.execute(
            "INSERT INTO member (id, name, country, language, role, status, joined_at, left_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (number, name, country, language, role, "left" if left else "active", joined, left))
        for platform, user_id in identities:
            await connection.execute(
                "INSERT INTO identity (platform, user_id, chat_id, member_id) VALUES (?, ?, ?, ?)",
                (platform, user_id, user_id, number))
    for number, asker, created, approved, state, replies, published in DISCUSSIONS:
        await connection.execute(
            "INSERT INTO discussion (id, asker_id, text, state, created_at, approved_at, published_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", (number, asker, f"Question {number}?", state, created, approved,
                                              published))
        for member, when in replies:
            await connection.execute(
                "INSERT INTO reply (discussion_id, member_id, text, created_at) VALUES (?, ?, ?, ?)",
                (number, member, "A reply.", when))
        if published is not None:
            await connection.execute(
                "INSERT INTO consolidated_reply (discussion_id, title, question, summary, contributions,"
                " published_at) VALUES (?, ?, ?, '', '', ?)", (number, f"Title {number}", "Q", published))
    for platform, user_id, kind, when in INBOUND:
        await connection.execute(
            "INSERT INTO inbound (platform, user_id, kind, body, received_at) VALUES (?, ?, ?, '', ?)",
            (platform, user_id, kind, when))
    for event, starts, registrations in EVENTS:
        await connection.execute(
            "INSERT INTO event (id, title, starts_at, time_zone, duration, language, created_at)"
            " VALUES (?, ?, ?, 'UTC', 3600, 'en', ?)", (event, f"Webinar {event}", starts, starts - 7 * DAY))
        await connection.executemany(
            "INSERT INTO registration (event_id, member_id, state, since, attended) VALUES (?, ?, ?, ?, ?)",
            [(event, member, state, starts - DAY, attended) for member, state, attended in registrations])
    await connection.execute("INSERT INTO survey (id, title, state, created_at) VALUES (1, 'Webinars', 'open', ?)",
                             (at(10, 1),))
    await connection.executemany("INSERT INTO survey_question (survey_id, position, kind, text) VALUES (1, ?, ?, ?)",
                                 [(n, "likert", f"Statement {n}") for n in range(1, 8)] + [(9, "text", "Ideas?")])
    for position, (respondent, value, when) in enumerate(ANSWERS, start=1):
        await connection.execute(
            "INSERT INTO survey_answer (survey_id, position, respondent, value, text, answered_at)"
            " VALUES (1, ?, ?, ?, ?, ?)",
            (9 if value is None else position, respondent, value, "More cases" if value is None else None, when))


async def october(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "network.db"
    logged = await seeded(path)
    database = await open_storage(path, storage_url(path))
    try:
        return await make_report(SqliteReportFigures(database), OCTOBER, at(11, 5)), logged
    finally:
        await database.close()


async def test_members_of_the_month_are_counted_as_they_were_at_its_end(tmp_path):
    report, _ = await october(tmp_path)
    members = report.members
    assert (members.total, members.new, members.left) == (5, 3, 1)
    # Kwame and Omar asked, Maria replied (before she left), Amina pressed a button; Ana
    # only wrote, and the facilitator is not counted.
    assert members.active == 5
    assert members.countries == 4
    assert members.by_country == (Share("Brazil", 2), Share("Ghana", 1), Share("Jordan", 1), Share("Nigeria", 1))
    assert members.by_platform == (Share("telegram", 3), Share("slack", 2), Share("whatsapp", 1))
    assert members.by_language == (Share("en", 2), Share("pt", 2), Share("ar", 1))
    assert report.complete


async def test_growth_shows_twelve_months_of_members_at_each_end(tmp_path):
    report, _ = await october(tmp_path)
    assert [str(point.month) for point in report.growth] == [
        "2025-11", "2025-12", *(f"2026-{n:02d}" for n in range(1, 11))]
    assert [point.total for point in report.growth] == [0] * 8 + [1, 2, 3, 5]
    assert [(point.new, point.left) for point in report.growth[-4:]] == [(1, 0), (1, 0), (2, 1), (3, 1)]


async def test_questions_replies_and_times_of_the_month(tmp_path):
    report, _ = await october(tmp_path)
    questions = report.questions
    assert (questions.asked, questions.approved, questions.rejected) == (6, 4, 1)
    assert questions.shared == 3  # 2, 3 and 6; 1 was shared in September, 7 in November
    assert questions.replies_mean == pytest.approx(5 / 3)  # 3, 1 and 1 replies
    assert questions.replies_median == 1
    # First replies 4 hours, 1 day and 10 days after sharing.
    assert questions.first_reply_median == DAY
    # Published 15 and 17 days after being asked.
    assert questions.publication_median == 16 * DAY
    assert questions.published == 2


async def test_searches_that_found_nothing_most_frequent_first(tmp_path):
    report, logged = await october(tmp_path)
    searches = report.searches
    if not logged:
        # The search log's migration is not there yet: nothing is known, nothing is made up.
        assert (searches.recorded, searches.searches, searches.unanswered) == (False, 0, ())
        return
    assert searches.recorded
    assert (searches.searches, searches.found_nothing) == (5, 4)
    assert searches.unanswered == (Share("birth registration", 3), Share("cash transfers", 1))


async def test_events_held_and_surveys_answered_in_the_month(tmp_path):
    report, _ = await october(tmp_path)
    assert (report.events.held, report.events.registered, report.events.attended, report.events.waiting) == (
        2, 3, 2, 1)
    assert (report.surveys.surveys, report.surveys.respondents, report.surveys.scaled, report.surveys.agreed) == (
        1, 3, 5, 3)
    assert report.surveys.agreed_share == 0.6


async def test_leaving_and_coming_back_are_timed_by_the_database(tmp_path):
    path = tmp_path / "network.db"
    await seeded(path)
    execute(path, "UPDATE member SET status = 'left' WHERE id = 2")
    [(left_at,)] = rows(path, "SELECT left_at FROM member WHERE id = 2")
    execute(path, "UPDATE member SET status = 'paused' WHERE id = 4")
    execute(path, "UPDATE member SET status = 'active' WHERE id = 3")
    assert abs(left_at - datetime.now(timezone.utc).timestamp()) < 60
    assert rows(path, "SELECT id, left_at FROM member WHERE id IN (3, 4) ORDER BY id") == [(3, None), (4, None)]


def test_months_are_read_strictly_and_told_in_order():
    assert Month.parse("2026-10") == OCTOBER and str(Month.parse(" 2026-1 ")) == "2026-01"
    for wrong in ("2026-13", "2026-00", "10-2026", "2026/10", "october", "", "1999-05"):
        assert isinstance(Month.parse(wrong), Refusal), wrong
    assert Month.last_complete(at(1, 15, year=2027)) == Month(2026, 12)
    assert OCTOBER.end - OCTOBER.start == 31 * DAY
    assert Month(2026, 12).following() == Month(2027, 1)


def test_charts_are_pngs_of_the_set_size_even_when_empty():
    for png in (growth_chart([Bar("2026-10", 0)]), countries_chart([]),
                countries_chart([Bar("Kenya", 5), Bar("مصر", 3)])):
        assert png.startswith(PNG_SIGNATURE)
        assert Image.open(io.BytesIO(png)).size == (800, 450)


# --- the command --------------------------------------------------------------------------


def run_report(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    config = tmp_path / "config.toml"
    config.write_text(f'[community]\nname = "Child Rights <Net>"\n{storage_toml(tmp_path / "network.db")}'
                      '[webchat]\nsecret = "0123456789abcdef"\n', encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "bot.cli", "report", *arguments, "--config", str(config)],
                          capture_output=True, text=True, cwd=ROOT, env=dict(os.environ), timeout=120)


async def test_the_command_writes_the_page_the_figures_and_two_charts(tmp_path):
    logged = await seeded(tmp_path / "network.db")
    out = tmp_path / "out"
    result = run_report(tmp_path, "--month", "2026-10", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "chart-countries-2026-10.png", "chart-growth-2026-10.png", "report-2026-10.html", "report-2026-10.json"]
    for chart in ("chart-countries-2026-10.png", "chart-growth-2026-10.png"):
        data = (out / chart).read_bytes()
        assert data.startswith(PNG_SIGNATURE)
        assert Image.open(io.BytesIO(data)).size == (800, 450)

    figures = json.loads((out / "report-2026-10.json").read_text(encoding="utf-8"))
    assert figures["month"] == "2026-10" and figures["complete"] is True
    assert {key: figures["members"][key] for key in ("total", "new", "left", "active", "countries_reached")} == {
        "total": 5, "new": 3, "left": 1, "active": 5, "countries_reached": 4}
    assert figures["members"]["by_country"][0] == {"country": "Brazil", "members": 2}
    assert figures["questions"]["asked"] == 6 and figures["questions"]["rejected"] == 1
    assert figures["questions"]["first_reply_after_sharing_median_seconds"] == DAY
    assert figures["questions"]["publication_after_asking_median_seconds"] == 16 * DAY
    assert [point["total"] for point in figures["growth"]][-4:] == [1, 2, 3, 5]
    assert figures["events"] == {"held": 2, "registered": 3, "waiting": 1, "attended": 2}
    assert figures["surveys"] == {"surveys": 1, "respondents": 3, "answers_on_a_scale": 5, "agreed": 3}
    assert figures["searches"]["recorded"] is logged

    page = (out / "report-2026-10.html").read_text(encoding="utf-8")
    assert "<title>Child Rights &lt;Net&gt;: October 2026 in figures</title>" in page
    assert page.count('src="data:image/png;base64,') == 2 and "http" not in page.replace(
        'name="viewport"', "")
    assert '<th scope="row">Members at the end of the month</th><td class="n">5</td>' in page
    assert '<th scope="row">Questions asked</th><td class="n">6</td>' in page
    assert "<td>Brazil</td><td class=\"n\">2</td>" in page
    assert "<td>Portuguese</td><td class=\"n\">2</td>" in page
    assert "First reply after sharing, median</th><td class=\"n\">24 hours</td>" in page
    assert "Publication after the question was asked, median</th><td class=\"n\">16 days</td>" in page
    assert '<th scope="row">Events held</th><td class="n">2</td>' in page
    assert "agreed or strongly agreed</th><td class=\"n\">60%</td>" in page
    if logged:
        assert '<td>birth registration</td><td class="n">3</td>' in page


def test_a_month_that_is_not_one_is_a_one_line_error(tmp_path):
    for wrong, said in (("2026-13", "for example 2026-10"), ("2999-01", "has not begun yet")):
        result = run_report(tmp_path, "--month", wrong, "--out", str(tmp_path / "out"))
        assert result.returncode == 2
        assert said in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


# --- /report in the chat ------------------------------------------------------------------


@pytest.fixture
async def network(tmp_path):
    network = await Network(settings_for(tmp_path), clock=ManualClock(at(10, 20, 12))).start()
    yield network
    await network.stop()


async def test_a_facilitator_gets_the_month_in_the_chat_with_two_charts(network):
    fatou = await network.member("f1", "Fatou", "Network team", "Senegal")
    amina = await network.member("a1", "Amina", "Save the Children", "Nigeria")
    await network.member("k1", "Kwame", "Ministry of Gender", "Ghana")
    await network.member("n1", "Ngozi", "", "nigeria")

    await fatou.says("/report 2026-10")
    text = await fatou.receives("October 2026 to date")
    assert "3 members: 3 new, 0 left" in text.text
    assert "2 countries reached" in text.text
    assert "Countries: Nigeria 2, Ghana 1" in text.text
    assert "0 events held" in text.text and "0 people answered a survey" in text.text
    growth = await fatou.receives("over the last 12 months")
    countries = await fatou.receives("Members by country")
    for sent, name in ((growth, "chart-growth-2026-10.png"), (countries, "chart-countries-2026-10.png")):
        document = sent.message.document
        assert document is not None and document.content_type == "image/png" and document.filename == name
        assert Image.open(io.BytesIO(document.data)).size == (800, 450)

    await fatou.says("/report")
    assert "0 members: 0 new, 0 left" in (await fatou.receives("September 2026 in figures")).text
    await fatou.says("/report 2026-13")
    await fatou.receives("Give the month as year and month, for example 2026-10.")
    await fatou.says("/report 2026-11")
    await fatou.receives("That month has not begun yet.")

    await amina.says("/report 2026-10")
    await amina.receives("Only facilitators can do that.")
    assert not any(m.message.document for m in amina.messages if hasattr(m.message, "document"))


async def test_where_files_cannot_be_sent_the_figures_come_without_the_charts(tmp_path):
    from dataclasses import replace

    from tests.memory_platform import CAPABILITIES, MemoryPlatform

    platform = MemoryPlatform(capabilities=replace(CAPABILITIES, can_send_documents=False))
    network = await Network(settings_for(tmp_path), platform=platform, clock=ManualClock(at(10, 20, 12))).start()
    try:
        fatou = await network.member("f1", "Fatou", "Network team", "Senegal")
        await fatou.says("/report 2026-10")
        await fatou.receives("October 2026 to date")
        await fatou.receives("The charts cannot be shown here")
        # Nothing of a picture's bytes is put into a text instead.
        assert not any("PNG" in m.text for m in fatou.messages if hasattr(m.message, "spans"))
    finally:
        await network.stop()
