"""Search that finds: relevance over every reply (old ones too), word forms in each community
language, stopwords, unfinished words, phrases, many words, translations; /search logged; the
"discussed before" hint finding a paraphrase."""

from dataclasses import replace

import pytest

from bot.clock import Clock
from bot.services.archive import ArchivedReply
from bot.services.stemming import Stemming
from storage.archive import SqliteArchive
from storage.opening import open_storage
from storage.translations import SqliteTranslations
from tests import storage_backend
from tests.network import Network, settings_for

YEAR = 365.25 * 86400
NOW = 2_000_000_000.0


class FixedClock(Clock):
    def now(self) -> float:
        return NOW

    async def sleep(self, seconds: float) -> None:
        return None


def reply(title: str, summary: str = "", contributions: str = "", language: str = "en", years_ago: float = 1.0,
          question: str = "") -> ArchivedReply:
    return ArchivedReply(0, title, question or title, summary, contributions, language, NOW - years_ago * YEAR)


@pytest.fixture
async def archive(tmp_path):
    database = await open_storage(tmp_path / "search.db", storage_backend.storage_url(tmp_path / "search.db"))
    yield SqliteArchive(database, Stemming(("en", "fr", "es", "pt", "ar")), FixedClock())
    await database.close()


async def imported(archive: SqliteArchive, *replies: ArchivedReply) -> list[int]:
    return [await archive.import_reply(r, f"src-{number}", NOW) for number, r in enumerate(replies)]


async def ids(archive: SqliteArchive, words: str, limit: int = 5) -> list[int]:
    return [hit.discussion_id for hit in await archive.search(words, limit)]


async def test_an_old_relevant_reply_beats_newer_ones_that_share_only_common_words(archive):
    old, *newer = await imported(
        archive,
        reply("Birth registration for nomadic families", "Mobile registrars travelled with the herds.",
              "Amina: registering births in the camps doubled coverage.", years_ago=9),
        *[reply(f"Webinar notes {n}: programmes for children and families",
                "Members discussed programmes for children and families in many countries.",
                "Children, families and communities were at the centre of every programme.", years_ago=0.1)
          for n in range(30)])
    found = await ids(archive, "registering births of nomadic children and families")
    assert found[0] == old and len(found) == 5 and set(found[1:]) <= set(newer)


async def test_other_word_forms_find_the_reply_in_english_french_and_spanish(archive):
    english, french, spanish = await imported(
        archive,
        reply("Cash transfers for refugees", "Transfers reached every camp."),
        reply("Les allocations familiales", "Revaloriser les allocations chaque année.", language="fr"),
        reply("Transferencias monetarias condicionadas", "Las transferencias redujeron la pobreza.", language="es"))
    assert await ids(archive, "transfer") == [english]
    assert await ids(archive, "allocation familiale") == [french]
    assert await ids(archive, "transferencia monetaria") == [spanish]
    assert await ids(archive, "children") == [] and await ids(archive, "refugee") == [english]


async def test_stopwords_alone_find_nothing_and_do_not_narrow_a_search(archive):
    [first] = await imported(archive, reply("Nutrition counselling with cash", "Pair cash with counselling."))
    assert await ids(archive, "the of and what is") == []
    assert await ids(archive, "what is the nutrition") == [first]


async def test_an_unfinished_last_word_is_taken_as_the_start_of_one(archive):
    education, other = await imported(archive, reply("Girls' education in rural areas", "Scholarships helped."),
                                      reply("Rural roads", "Transport matters."))
    assert await ids(archive, "educa") == [education]
    assert (await ids(archive, "rural educa"))[0] == education


async def test_a_quoted_phrase_is_a_phrase_and_neighbouring_words_rank_higher(archive):
    apart, together = await imported(
        archive,
        reply("Notes from the call", "Cash helped families; transfers of staff slowed the work."),
        reply("Notes from the meeting", "Cash transfers helped families; staff slowed the work."))
    assert await ids(archive, '"cash transfers"') == [together]
    assert await ids(archive, "cash transfers") == [together, apart]


async def test_a_long_search_ranks_the_replies_holding_most_of_its_words_first(archive):
    both, one, none = await imported(
        archive,
        reply("School meals and attendance in rural districts", "Hot lunches raised attendance."),
        reply("Attendance registers", "Teachers kept registers."),
        reply("Mobile money", "Agents paid recipients."))
    found = await ids(archive, "do school meals improve attendance among rural pupils")
    assert found == [both, one]


async def test_a_reply_is_found_by_the_words_of_its_translation(archive):
    [number] = await imported(archive, reply("Indexing child benefits to inflation", "Automatic indexation."))
    await SqliteTranslations(archive.database).save(
        number, "consolidated", "fr", "Indexer les allocations familiales sur les prix chaque année.", 1, NOW)
    [hit] = await archive.search("allocation familiale")
    assert hit.discussion_id == number and "allocations familiales" in hit.snippet
    assert await ids(archive, "indexation") == [number]


async def behind_its_back(archive: SqliteArchive, sql: str, parameters: tuple) -> None:
    """A write to the database that does not go through the archive."""
    async with archive.database.transaction() as connection:
        await connection.execute(sql, parameters)


async def test_the_index_follows_a_reply_changed_behind_its_back(archive):
    [number] = await imported(archive, reply("Mobile money agents", "Agents paid recipients."))
    await behind_its_back(
        archive, "UPDATE consolidated_reply SET summary = 'Vouchers were used instead.' WHERE discussion_id = ?",
        (number,))
    assert await ids(archive, "recipients") == []
    assert await ids(archive, "vouchers") == [number]


async def test_similar_finds_a_paraphrase_in_other_word_forms(archive):
    registration, transfers = await imported(
        archive, reply("Birth registration for nomadic families", question="How do we reach nomadic families "
                       "with birth registration?"),
        reply("Cash transfer payments", question="How are cash transfer payments made?"))
    [hit] = await archive.similar("Registering births among nomadic families?", limit=1)
    assert hit.discussion_id == registration and hit.score >= 0.6
    [hit] = await archive.similar("How are cash transfers paid?", limit=1)
    assert hit.discussion_id == transfers and hit.score >= 0.6


# --- through the bot -------------------------------------------------------------------------


@pytest.fixture
async def network(tmp_path):
    network = await Network(settings_for(tmp_path)).start()
    yield network
    await network.stop()


def rows(network: Network, sql: str) -> list[tuple]:
    return storage_backend.rows(network.settings.storage_path, sql)


async def test_each_search_is_logged_with_its_number_of_results(network):
    archive = network.app.archive
    number = await archive.import_reply(reply("Cash transfers and nutrition", "Pair cash with counselling."),
                                        "n-1", NOW)
    amina = await network.member("a1", "Amina", "Save the Children", "Nigeria")
    await amina.says("/search cash transfers")
    found = await amina.receives("What the network has discussed")
    assert f"#{number} Cash transfers and nutrition" in found.text
    await amina.says("/search   webinar   schedules")
    await amina.receives("Nothing in the archive matches")
    [(member_id,)] = rows(network, "SELECT member_id FROM identity WHERE user_id = 'a1'")
    assert rows(network, "SELECT words, results, member_id FROM search_log ORDER BY id") == [
        ("cash transfers", 1, member_id), ("webinar schedules", 0, member_id)]


async def test_the_discussed_before_hint_finds_a_paraphrase(network):
    await network.app.archive.import_reply(
        reply("Birth registration for nomadic families", question="How do we reach nomadic families with birth "
              "registration?"), "b-1", NOW)
    carla = await network.member("c1", "Carla", "UNICEF", "Peru")
    await carla.says("What works for registering births of nomadic families?")
    offer = await carla.receives("This was discussed in")
    assert "Birth registration for nomadic families" in offer.text and offer.labels() == ["Read it", "Ask anyway"]


# --- at scale: common words ranked from candidates, not from every match -----------------------


async def test_a_search_of_common_words_ranks_candidates_as_every_match_would_be(archive):
    """Forced onto the path a large archive takes when every word is common: the replies whose
    headings hold the words are ranked with the same bm25, old ones too, every word required."""
    old, *newer = await imported(
        archive,
        reply("Children's nutrition in refugee camps", "Nutrition counselling for children.", years_ago=9),
        *[reply(f"Webinar notes {n}", "Members discussed children and families.",
                "Nutrition came up once." if n % 2 else "Schools came up.", years_ago=0.1) for n in range(30)])
    exact = await ids(archive, "children nutrition")
    archive.index.ranking = replace(archive.index.ranking, exact_cost=0, count_up_to=0)
    from_candidates = await ids(archive, "children nutrition")
    assert exact[0] == old and from_candidates[0] == old
    assert set(from_candidates) <= {old, *newer[1::2]}  # the webinars without nutrition are not results
    assert await ids(archive, "camps") == [old]


async def test_the_stems_of_a_removed_word_leave_the_index(archive):
    [number] = await imported(archive, reply("Okonkwo's notes on birth registration", "Registrars travelled."))
    assert await ids(archive, "okonkwo") == [number]
    await behind_its_back(
        archive, "UPDATE consolidated_reply SET title = 'Notes on birth registration', question = 'Notes?'"
        " WHERE discussion_id = ?", (number,))
    assert await ids(archive, "okonkwo") == [] and await ids(archive, "registration") == [number]
    # Not even in the index's segments (FTS5's, where a deleted document's words stay until
    # merged), nor in any row of PostgreSQL's index.
    if storage_backend.ON_POSTGRES:
        segments = " ".join(row[0] for row in await archive.database.fetch_all(
            "SELECT document::text || ' ' || title || ' ' || question || ' ' || summary FROM archive_search")).encode()
    else:
        segments = b"".join(bytes(row[0]) for row in await archive.database.fetch_all(
            "SELECT block FROM archive_search_data"))
    assert b"okonkw" not in segments and b"registr" in segments
    assert await archive.database.fetch_all("SELECT doc FROM archive_search_headings WHERE stem = 'okonkwo'") == []
    assert [tuple(row) for row in await archive.database.fetch_all(
        "SELECT doc FROM archive_search_headings WHERE stem = 'birth'")] == [(number,)]
