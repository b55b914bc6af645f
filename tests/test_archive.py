"""The archive's full-text search, on a real SQLite file with FTS5 (or PostgreSQL)."""

import pytest

from bot.services.archive import ArchivedReply, search_terms
from storage.archive import SqliteArchive
from storage.opening import open_storage
from tests.storage_backend import storage_url

REPLIES = [
    ArchivedReply(1, "How can cash transfers improve child nutrition?", "How can cash transfers improve child "
                  "nutrition outcomes?", "Pair cash with counselling.", "Nadia: counselling helped.", "en", 100.0),
    ArchivedReply(2, "Keeping refugee children in school", "What keeps refugee children in school?",
                  "Transport costs matter.", "Omar: labelled cash for educación worked.", "en", 200.0),
    ArchivedReply(3, "Indexing child benefits to inflation", "How should child benefits follow inflation?",
                  "Automatic indexation.", "Claire: France indexes every April.", "en", 300.0),
]


@pytest.fixture
async def archive(tmp_path):
    database = await open_storage(tmp_path / "archive.db", storage_url(tmp_path / "archive.db"))
    async with database.transaction() as connection:
        for number in (1, 2, 3):
            await connection.execute("INSERT OR IGNORE INTO member (id, joined_at) VALUES (1, 0)")
            await connection.execute(
                "INSERT INTO discussion (id, asker_id, text, state, created_at) VALUES (?, 1, 'q', 'published', 0)",
                (number,))
    archive = SqliteArchive(database)
    for reply in REPLIES:
        await archive.add(reply)
    yield archive
    await database.close()


async def test_the_relevant_reply_ranks_first_with_a_snippet(archive):
    hits = await archive.search("nutrition counselling")
    assert [hit.discussion_id for hit in hits] == [1]
    assert hits[0].snippet == "Pair cash with counselling."


async def test_a_snippet_shows_the_key_points_not_the_question_again(archive):
    # The words are in the question alone: the result shows its key points, in plain words.
    [hit] = await archive.search("nutrition outcomes")
    assert hit.snippet == "Pair cash with counselling."
    assert "[" not in hit.snippet and "nutrition" not in hit.snippet


async def test_words_typed_without_accents_find_accented_text(archive):
    assert [hit.discussion_id for hit in await archive.search("educacion")] == [2]


async def test_the_last_word_may_be_unfinished(archive):
    assert [hit.discussion_id for hit in await archive.search("refugee schoo")] == [2]


async def test_when_no_reply_has_every_word_any_word_counts(archive):
    ids = {hit.discussion_id for hit in await archive.search("inflation refugee")}
    assert ids == {2, 3}


@pytest.mark.parametrize("hostile", [
    '"', 'cash"', "cash AND", "OR", "NOT nutrition", "NEAR(cash nutrition)", "nutr*", "^cash", "title:cash",
    "(cash", "cash)", "-cash", "cash -- nutrition", "' OR 1=1 --", "{title}: x", "   ", "!!!", "🙂", "كيف",
])
async def test_what_a_member_types_never_breaks_the_search(archive, hostile):
    hits = await archive.search(hostile)
    assert isinstance(hits, list)


async def test_adding_the_same_discussion_again_replaces_it(archive):
    await archive.add(ArchivedReply(3, "Indexing benefits, revised", "q", "s", "c", "en", 400.0))
    assert await archive.count() == 3
    assert (await archive.get(3)).title == "Indexing benefits, revised"
    assert await archive.search("France") == []


async def test_similar_finds_the_same_question_and_not_an_unrelated_one(archive):
    close = await archive.similar("Can cash transfers improve the nutrition of children?")
    assert close[0].discussion_id == 1 and close[0].score >= 0.6
    far = await archive.similar("Which apps do facilitators use to schedule webinars?")
    assert not far or far[0].score < 0.6


async def test_all_published_is_newest_first(archive):
    assert [reply.discussion_id for reply in await archive.all_published()] == [3, 2, 1]


def test_search_terms_keep_only_words():
    assert search_terms('"cash" AND (nutrition*) -- NOT') == ["cash", "and", "nutrition", "not"]
    assert search_terms("🙂 !!!") == []
