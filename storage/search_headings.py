"""The headings list of a full-text index (table `<index>_headings`), on either database: the
stems of each document's headings by their bm25 weight in it, where a search of only common
words finds its candidates without ranking every document that holds them (see
storage/search_index.py and storage/search_index_pg.py, which both keep one)."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from storage.search_ranking import Ranking, Term, heading_weights

# How far a prefix ("educa") is spelled out into the stems of the headings that start with it.
PREFIX_STEMS = 12


class Headings:
    def __init__(self, database: Any, index: str, ranking: Ranking) -> None:
        self.database = database
        self.table = f"{index}_headings"
        self.ranking = ranking

    async def put(self, connection: Any, doc: int, fields: Sequence[Sequence[str]], average: float,
                  keeps: Callable[[str], bool] = lambda stem: True) -> None:
        """The document's heading stems, inside the caller's transaction (after `remove`)."""
        await connection.executemany(
            f"INSERT INTO {self.table} (stem, weight, doc) VALUES (?, ?, ?)",
            [(stem, weight, doc) for stem, weight in heading_weights(self.ranking, fields, average).items()
             if keeps(stem)])

    async def remove(self, connection: Any, doc: int) -> None:
        await connection.execute(f"DELETE FROM {self.table} WHERE doc = ?", (doc,))

    async def headed_by(self, term: Term) -> list[int]:
        """The documents whose headings hold the term's stems the most."""
        # A phrase's documents hold its first word; a prefix's, one of the stems it starts.
        stems = list(dict.fromkeys([form[0] for form in term.forms] + await self._spelled_out(term.prefix)))
        most = self.ranking.from_headings
        best = f"SELECT doc, weight FROM {self.table} WHERE stem = ? ORDER BY weight DESC, doc DESC LIMIT ?"
        if self.database.dialect == "postgresql":
            union = " UNION ALL ".join([f"({best})"] * len(stems))  # each member's own ORDER BY and LIMIT
        else:
            union = " UNION ALL ".join([f"SELECT doc, weight FROM ({best})"] * len(stems))  # SQLite's way to say it
        rows = await self.database.fetch_all(
            f"SELECT doc, weight FROM ({union}) AS headed ORDER BY weight DESC, doc DESC LIMIT ?",
            (*(value for stem in stems for value in (stem, most)), most))
        return list(dict.fromkeys(row[0] for row in rows))

    async def _spelled_out(self, prefix: str) -> list[str]:
        """The first stems of the headings that start with the prefix, one index step each."""
        if not prefix:
            return []
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        # SQLite stops the recursion at a LIMIT inside it; PostgreSQL refuses one there and stops
        # reading the recursion when the outer query has what its LIMIT asks.
        inner, outer = ("", " LIMIT :most") if self.database.dialect == "postgresql" else (" LIMIT :most", "")
        rows = await self.database.fetch_all(
            f"WITH RECURSIVE found (stem) AS (SELECT min(stem) FROM {self.table}"
            f" WHERE stem >= :prefix AND stem < :end UNION ALL SELECT (SELECT min(stem) FROM {self.table}"
            f" WHERE stem > found.stem AND stem < :end) FROM found WHERE found.stem IS NOT NULL{inner})"
            f" SELECT stem FROM found WHERE stem IS NOT NULL{outer}",
            {"prefix": prefix, "end": end, "most": PREFIX_STEMS})
        return [row[0] for row in rows]
