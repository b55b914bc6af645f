"""Full-text search over published consolidated replies, with SQLite FTS5."""

from __future__ import annotations

from typing import Sequence

from bot.services.archive import ArchivedReply, SearchHit, search_terms, significant_terms
from storage.database import Database

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
        terms = search_terms(words)
        if not terms:
            return []
        quoted = [_quote(term) for term in terms]
        if len(terms[-1]) >= 3:
            quoted[-1] += "*"  # the last word may be still being typed: "educa" finds "education"
        hits = await self._match(" AND ".join(quoted), limit)
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
        # Rank first and cut to `limit`, then make snippets for those few rows only.
        rows = await self.database.fetch_all(
            "WITH best AS (SELECT rowid, rank FROM consolidated_reply_fts WHERE consolidated_reply_fts MATCH ?"
            "              ORDER BY rank LIMIT ?)"
            " SELECT r.discussion_id, r.title, r.published_at, best.rank AS rank,"
            " snippet(consolidated_reply_fts, -1, '[', ']', '…', 16) AS snippet"
            " FROM best JOIN consolidated_reply_fts ON consolidated_reply_fts.rowid = best.rowid"
            " JOIN consolidated_reply r ON r.discussion_id = best.rowid"
            " WHERE consolidated_reply_fts MATCH ? ORDER BY best.rank",
            (query, limit, query),
        )
        return [SearchHit(row["discussion_id"], row["title"], row["published_at"], row["snippet"], -row["rank"])
                for row in rows]


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _reply(row) -> ArchivedReply:  # type: ignore[no-untyped-def]
    return ArchivedReply(row["discussion_id"], row["title"], row["question"], row["summary"],
                         row["contributions"], row["language"], row["published_at"])
