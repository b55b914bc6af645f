"""Full-text search over published consolidated replies, with SQLite FTS5."""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from bot.services.archive import ArchivedReply, SearchHit, search_terms, significant_terms
from storage.database import Database

# Broad queries are ranked among this many most recent matches (see _match).
RANK_WINDOW = 300
# A word in more than this share of the replies is too common to rank by (see _distinctive).
COMMON_SHARE = 0.1
COMMON_PROBE = 200
_COLUMNS = "discussion_id, title, question, summary, contributions, language, published_at"
# A search result shows at most this many key points, in at most this many characters.
SNIPPET_POINTS, SNIPPET_CHARS = 2, 240
_FOUND = "\x02"  # marks where a word was found (a control character: it only decides which points show)


class SqliteArchive:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def add(self, reply: ArchivedReply) -> None:
        await self.add_many([reply])

    async def add_many(self, replies: Sequence[ArchivedReply]) -> None:
        async with self.database.transaction() as connection:
            await connection.executemany(
                f"INSERT INTO consolidated_reply ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (discussion_id) DO UPDATE SET title = excluded.title, question = excluded.question,"
                " summary = excluded.summary, contributions = excluded.contributions,"
                " language = excluded.language, published_at = excluded.published_at",
                [(r.discussion_id, r.title, r.question, r.summary, r.contributions, r.language, r.published_at)
                 for r in replies],
            )

    async def search(self, words: str, limit: int = 5) -> list[SearchHit]:
        """Every word, else every word with the last one taken as unfinished ("educa" finds
        "education"), else any of the words."""
        terms = search_terms(words)
        if not terms:
            return []
        phrases = [_quote(term) for term in terms]
        hits = await self._match(phrases, "AND", limit)
        if not hits and len(terms[-1]) >= 4:
            # Cut to the length of a prefix index, so that FTS5 reads one list, not thousands.
            stem = terms[-1][:6] if len(terms[-1]) >= 6 else terms[-1][:4]
            hits = await self._match([*phrases[:-1], _quote(stem) + "*"], "AND", limit)
        if not hits and len(phrases) > 1:
            hits = await self._match(phrases, "OR", limit)
        if len(hits) < limit:
            hits += await self._in_translations(phrases, limit - len(hits), {hit.discussion_id for hit in hits})
        return hits

    async def _in_translations(self, phrases: list[str], limit: int, shown: set[int]) -> list[SearchHit]:
        """Published replies found by the words of one of their versions in another language."""
        rows = await self.database.fetch_all(
            "SELECT t.discussion_id, r.title, r.published_at, snippet(translation_fts, 0, '', '', '…', 24) AS snippet"
            " FROM translation_fts f JOIN translation t ON t.rowid = f.rowid"
            " JOIN consolidated_reply r ON r.discussion_id = t.discussion_id"
            " WHERE translation_fts MATCH ? ORDER BY f.rank LIMIT ?",
            (" AND ".join(phrases), limit + len(shown)))
        hits = []
        for row in rows:
            if row["discussion_id"] not in shown and len(hits) < limit:
                shown.add(row["discussion_id"])
                hits.append(SearchHit(row["discussion_id"], row["title"], row["published_at"], row["snippet"], 0.0))
        return hits

    async def similar(self, text: str, limit: int = 3) -> list[SearchHit]:
        terms = significant_terms(text)
        if not terms:
            return []
        query = "{title question}: (" + " OR ".join(_quote(term) for term in terms) + ")"
        rows = await self.database.fetch_all(
            "SELECT r.discussion_id, r.title, r.question, r.published_at FROM consolidated_reply_fts f"
            " JOIN consolidated_reply r ON r.discussion_id = f.rowid"
            " WHERE consolidated_reply_fts MATCH ? ORDER BY f.rank LIMIT ?",
            (query, max(limit * 5, 10)),
        )
        wanted = set(terms)
        hits = []
        for row in rows:
            found = set(significant_terms(f"{row['title']} {row['question']}"))
            score = len(wanted & found) / len(wanted)
            hits.append(SearchHit(row["discussion_id"], row["title"], row["published_at"], "", score))
        hits.sort(key=lambda hit: (-hit.score, -hit.published_at))
        return hits[:limit]

    async def get(self, discussion_id: int) -> ArchivedReply | None:
        row = await self.database.fetch_one(
            f"SELECT {_COLUMNS} FROM consolidated_reply WHERE discussion_id = ?", (discussion_id,)
        )
        if row is None:
            return None
        versions = await self.database.fetch_all(
            "SELECT language, text FROM translation WHERE discussion_id = ? AND kind = 'consolidated'",
            (discussion_id,))
        return replace(_reply(row), translations={version["language"]: version["text"] for version in versions})

    async def all_published(self) -> list[ArchivedReply]:
        rows = await self.database.fetch_all(
            f"SELECT {_COLUMNS} FROM consolidated_reply ORDER BY published_at DESC, discussion_id DESC"
        )
        return [_reply(row) for row in rows]

    async def count(self) -> int:
        row = await self.database.fetch_one("SELECT count(*) FROM consolidated_reply")
        return int(row[0]) if row else 0

    async def _match(self, phrases: list[str], operator: str, limit: int) -> list[SearchHit]:
        """The best `limit` replies matching the phrases.

        bm25 counts, for each phrase, every document that holds it, so a word found in most of
        the archive ("children", "programme") costs a scan of the whole index and says little
        about relevance anyway. So: take the RANK_WINDOW most recent matches (walking rowids
        backwards costs almost nothing), rank them with bm25 over the distinctive phrases only,
        then by a match in the title or question, then by date; snippets for the few shown."""
        query = f" {operator} ".join(phrases)
        floor_row = await self.database.fetch_one(
            "SELECT rowid FROM consolidated_reply_fts WHERE consolidated_reply_fts MATCH ?"
            " ORDER BY rowid DESC LIMIT 1 OFFSET ?", (query, RANK_WINDOW - 1))
        floor = floor_row[0] if floor_row else 0
        candidates = [row[0] for row in await self.database.fetch_all(
            "SELECT rowid FROM consolidated_reply_fts WHERE consolidated_reply_fts MATCH ? AND rowid >= ?"
            " ORDER BY rowid DESC", (query, floor))]
        if not candidates:
            return []
        matching = set(candidates)
        order: list[int] = []
        distinctive = [phrase for phrase in phrases if await self._distinctive(phrase)]
        if distinctive:
            ranked = await self.database.fetch_all(
                "SELECT rowid FROM consolidated_reply_fts WHERE consolidated_reply_fts MATCH ? AND rowid >= ?"
                " ORDER BY rank LIMIT ?",
                (f" {operator} ".join(distinctive), max(floor, candidates[-1]), RANK_WINDOW))
            order = [row[0] for row in ranked if row[0] in matching]
        if len(order) < limit:
            in_heading = await self.database.fetch_all(
                "SELECT rowid FROM consolidated_reply_fts WHERE consolidated_reply_fts MATCH ? AND rowid >= ?"
                " ORDER BY rowid DESC LIMIT ?", (f"{{title question}}: ({query})", floor, limit))
            for rowid in [row[0] for row in in_heading] + candidates:
                if rowid not in order:
                    order.append(rowid)
        shown = order[:limit]
        # The snippet is the key points that hold the words (the question is the title already),
        # else a few words of the contributions; plain, with no markers round the words found.
        rows = await self.database.fetch_all(
            "SELECT f.rowid, r.title, r.published_at,"
            f" highlight(consolidated_reply_fts, 2, '{_FOUND}', '') AS points,"
            " snippet(consolidated_reply_fts, 3, '', '', '…', 24) AS snippet"
            " FROM consolidated_reply_fts f JOIN consolidated_reply r ON r.discussion_id = f.rowid"
            f" WHERE consolidated_reply_fts MATCH ? AND f.rowid >= ? AND f.rowid IN ({','.join('?' * len(shown))})",
            (query, min(shown), *shown))
        found = {row[0]: row for row in rows}
        return [SearchHit(rowid, found[rowid]["title"], found[rowid]["published_at"],
                          _key_points(found[rowid]["points"]) or found[rowid]["snippet"], -float(position))
                for position, rowid in enumerate(shown) if rowid in found]

    async def _distinctive(self, phrase: str) -> bool:
        """Whether the phrase is in fewer than COMMON_SHARE of the replies, judged from how
        many rowids its COMMON_PROBE most recent matches span."""
        newest, oldest, count = await self.database.fetch_one(
            "SELECT max(rowid), min(rowid), count(*) FROM (SELECT rowid FROM consolidated_reply_fts"
            " WHERE consolidated_reply_fts MATCH ? ORDER BY rowid DESC LIMIT ?)", (phrase, COMMON_PROBE))
        if count < COMMON_PROBE:
            return True
        return count / (newest - oldest + 1) < COMMON_SHARE


def _key_points(highlighted: str | None) -> str:
    """The key points (one per line) where the words were found, else the first one; whole
    points, cut at a word when long."""
    lines = [line.strip() for line in (highlighted or "").splitlines() if line.strip()]
    chosen = [line for line in lines if _FOUND in line][:SNIPPET_POINTS] or lines[:1]
    text = " ".join(chosen).replace(_FOUND, "")
    if len(text) <= SNIPPET_CHARS:
        return text
    return text[:SNIPPET_CHARS].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _reply(row) -> ArchivedReply:  # type: ignore[no-untyped-def]
    return ArchivedReply(row["discussion_id"], row["title"], row["question"], row["summary"],
                         row["contributions"], row["language"], row["published_at"])
