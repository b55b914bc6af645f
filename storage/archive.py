"""Full-text search over published consolidated replies, with SQLite FTS5."""

from __future__ import annotations

from typing import Sequence

from bot.services.archive import ArchivedReply, SearchHit, search_terms, significant_terms
from storage.database import Database

# Broad queries are ranked among this many most recent matches (see _match).
RANK_WINDOW = 300
_COLUMNS = "discussion_id, title, question, summary, contributions, language, published_at"


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
        quoted = [_quote(term) for term in terms]
        hits = await self._match(" AND ".join(quoted), limit)
        if not hits and len(terms[-1]) >= 4:
            # Cut to the length of a prefix index, so that FTS5 reads one list, not thousands.
            stem = terms[-1][:6] if len(terms[-1]) >= 6 else terms[-1][:4]
            hits = await self._match(" AND ".join([*quoted[:-1], _quote(stem) + "*"]), limit)
        if not hits and len(quoted) > 1:
            hits = await self._match(" OR ".join(quoted), limit)
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
        return _reply(row) if row else None

    async def all_published(self) -> list[ArchivedReply]:
        rows = await self.database.fetch_all(
            f"SELECT {_COLUMNS} FROM consolidated_reply ORDER BY published_at DESC, discussion_id DESC"
        )
        return [_reply(row) for row in rows]

    async def count(self) -> int:
        row = await self.database.fetch_one("SELECT count(*) FROM consolidated_reply")
        return int(row[0]) if row else 0

    async def _match(self, query: str, limit: int) -> list[SearchHit]:
        # bm25 must score every matching row, and a broad query ("children") matches most of
        # the archive: rank within the RANK_WINDOW most recent matches (walking rowids
        # backwards costs almost nothing), then make snippets for the few rows shown.
        floor = await self.database.fetch_one(
            "SELECT rowid FROM consolidated_reply_fts WHERE consolidated_reply_fts MATCH ?"
            " ORDER BY rowid DESC LIMIT 1 OFFSET ?",
            (query, RANK_WINDOW - 1),
        )
        ranked = await self.database.fetch_all(
            "SELECT rowid, rank FROM consolidated_reply_fts WHERE consolidated_reply_fts MATCH ? AND rowid >= ?"
            " ORDER BY rank LIMIT ?",
            (query, floor[0] if floor else 0, limit),
        )
        hits = []
        for row in ranked:
            found = await self.database.fetch_one(
                "SELECT r.title, r.published_at, snippet(consolidated_reply_fts, -1, '[', ']', '…', 16) AS snippet"
                " FROM consolidated_reply_fts JOIN consolidated_reply r ON r.discussion_id = consolidated_reply_fts.rowid"
                " WHERE consolidated_reply_fts MATCH ? AND consolidated_reply_fts.rowid = ?",
                (query, row["rowid"]),
            )
            if found is not None:
                hits.append(SearchHit(row["rowid"], found["title"], found["published_at"], found["snippet"], -row["rank"]))
        return hits


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _reply(row) -> ArchivedReply:  # type: ignore[no-untyped-def]
    return ArchivedReply(row["discussion_id"], row["title"], row["question"], row["summary"],
                         row["contributions"], row["language"], row["published_at"])
