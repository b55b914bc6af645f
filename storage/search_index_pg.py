"""The full-text index of stemmed documents on PostgreSQL: what storage/search_index.py does
with FTS5, ranked the same way (bm25 with the same constants and field weights, the same
candidates and boosts: storage/search_ranking.py).

A table holds each document's fields as stems (stemmed in Python, per language: see
bot/services/stemming.py), `at`, `length` (its stems in all) and `document`, a tsvector of the
stems as they are (no configuration's parser or dictionary touches them), GIN-indexed: each
field's stems labelled A, B, C, D in turn (the fields after the fourth share D), with a gap in
the positions between two fields so that a phrase never spans them. A migration creates it, with
the headings list and the running totals:

    CREATE TABLE name (rowid BIGINT PRIMARY KEY, field1 TEXT, ..., at DOUBLE PRECISION,
        length BIGINT, document tsvector);
    CREATE INDEX name_document ON name USING gin (document);
    CREATE TABLE name_totals (documents BIGINT, length BIGINT, changes BIGINT);  -- one row, kept by a trigger
    CREATE TABLE name_headings (stem TEXT COLLATE "C", weight DOUBLE PRECISION, doc BIGINT,
        PRIMARY KEY (stem, weight, doc));

The match is a tsquery: every term `&`, any term `|`, a term's forms `|`, a phrase's stems
`<->`, a prefix `:*`, and the fields a search is `within` as labels. It finds the documents;
bm25 is computed here, over the stems of the matches (when ranking every match costs little:
most searches) or of the candidates (the best matches of the rarer words, else the documents
whose headings hold the words the most), which also holds the `within` fields exactly where
labels are shared.

How many documents hold a phrase (bm25's idf) is counted up to `count_up_to`; beyond it, and
for a stem or prefix the column's statistics (ANALYZE's most common stems) say is that common,
it is estimated from those statistics.

What PostgreSQL keeps of a tsvector bounds it: positions beyond 16,383 count as 16,383, a stem
keeps its first 256 positions, and a stem longer than 2,046 bytes is left out (no search finds
it); a phrase past those positions in a very long reply may be missed."""

from __future__ import annotations

from typing import Sequence

from storage.postgres import Connection, PostgresDatabase, Record
from storage.search_headings import Headings
from storage.search_ranking import (Bm25, Ranked, Ranking, Term, best_first, boost, cost, idf,
                                    phrases, rarer_terms, unquoted)

_LABELS = "ABCD"
# What a tsvector holds at most (PostgreSQL's limits): beyond them a stem is left out of the match.
_LAST_POSITION = 16_383
_POSITIONS_PER_STEM = 256
_STEM_BYTES = 2_046
_STEMS_BYTES = 1_000_000  # all of a document's different stems
_COUNTED_LIMIT = 50_000

Fields = tuple[str, ...]


class PostgresStemmedIndex:
    def __init__(self, database: PostgresDatabase, table: str, fields: Sequence[str], ranking: Ranking) -> None:
        if len(ranking.weights) != len(fields):
            raise ValueError(f"{table}: one weight per field")
        self.database = database
        self.table = table
        self.fields = tuple(fields)
        self.ranking = ranking
        self.headings = Headings(database, table, ranking)
        self._labels = tuple(_LABELS[min(index, len(_LABELS) - 1)] for index in range(len(fields)))
        self._changes = -1  # the totals' count of changes when the documents holding each phrase were counted
        self._counted: dict[tuple[str, str], int] = {}
        self._common: dict[str, float] | None = None  # the column's statistics, read when first needed

    async def put(self, connection: Connection, rowid: int, fields: Sequence[Sequence[str]], at: float) -> None:
        """Index (or index again) one document, inside the caller's transaction."""
        await self.remove(connection, rowid)
        length = sum(len(stems) for stems in fields)
        await connection.execute(
            f"INSERT INTO {self.table} (rowid, {', '.join(self.fields)}, at, length, document)"
            f" VALUES (?, {', '.join('?' * len(self.fields))}, ?, ?, CAST(CAST(? AS TEXT) AS tsvector))",
            (rowid, *(" ".join(stems) for stems in fields), at, length, self._document(fields)))
        async with connection.execute(f"SELECT documents, length FROM {self.table}_totals") as cursor:
            totals = await cursor.fetchone()
        # The first documents have no others to compare with: each is then of average length.
        average = totals[1] / totals[0] if totals and totals[0] else float(length)
        # A longer stem is found by no search (see _phrase_query): not listed.
        await self.headings.put(connection, rowid, fields, average, keeps=lambda stem: len(stem.encode()) <= _STEM_BYTES)

    async def remove(self, connection: Connection, rowid: int) -> None:
        await connection.execute(f"DELETE FROM {self.table} WHERE rowid = ?", (rowid,))
        await self.headings.remove(connection, rowid)

    async def drop_removed_words(self) -> None:
        """Nothing to do: a deleted row's stems are out of every search at once, and its bytes
        go when the table is vacuumed (autovacuum; forgetting a member runs VACUUM)."""

    def _document(self, fields: Sequence[Sequence[str]]) -> str:
        """The tsvector of the stems, as text: each with its positions and its field's label."""
        positions: dict[str, list[str]] = {}
        position = 0
        for label, stems in zip(self._labels, fields):
            for stem in stems:
                position += 1
                held = positions.setdefault(stem, [])
                if len(held) < _POSITIONS_PER_STEM:
                    held.append(f"{min(position, _LAST_POSITION)}{label}")
            position += 1  # a gap: a phrase is within one field
        lexemes, size = [], 0
        for stem, held in positions.items():
            size += len(stem.encode())
            if len(stem.encode()) <= _STEM_BYTES and size < _STEMS_BYTES:
                lexemes.append(f"{_lexeme(stem)}:{','.join(held)}")
        return " ".join(lexemes)

    async def rank(self, terms: Sequence[Term], every: bool, limit: int, now: float,
                   within: Sequence[str] = ()) -> list[Ranked]:
        """The best `limit` documents holding every term (`every`), else any of them; only
        in the fields `within` when given."""
        if not terms:
            return []
        statistics = await self._statistics()
        if statistics is None:
            return []
        documents, lengths = statistics
        ranking = self.ranking
        labels = self._within(within)
        frequency = await self._frequencies(terms, labels, documents)
        wanted = max(limit, ranking.candidates)
        columns = [index for index, field in enumerate(self.fields) if not within or field in within]
        idfs = {phrase: idf(documents, count) for phrase, count in frequency.items()}
        average = lengths / documents

        def weigh(of: Sequence[Term]) -> Bm25:
            return Bm25(of, every, columns, ranking.weights, idfs, average)

        if cost(terms, every, frequency) <= ranking.exact_cost:
            # bm25 over every match.
            rows = await self._matching(terms, every, labels)
            scored = _best(_scores(rows, weigh(terms)), wanted)
        else:
            # bm25 over candidates: the best matches of the rarer words (bm25 of those words
            # only: the common ones would cost a read of all their postings), else the
            # documents whose headings hold the common words the most.
            selective = rarer_terms(terms, every, frequency, ranking.exact_cost)
            rows = {}
            if selective:
                matched = await self._matching(selective, every, labels)
                rows = {rowid: matched[rowid]
                        for rowid in _best(_scores(matched, weigh(selective)), ranking.from_selective)}
            if not (selective and every):
                headed: list[int] = []
                for term in terms:
                    if term not in selective:
                        headed += await self.headings.headed_by(term)
                rows.update(await self._rows([rowid for rowid in dict.fromkeys(headed) if rowid not in rows]))
            scored = _best(_scores(rows, weigh(terms)), wanted)
        return best_first([Ranked(rowid, score * boost(ranking, terms, every, rows[rowid][0], rows[rowid][1], now),
                                  rows[rowid][1], rows[rowid][0]) for rowid, score in scored.items()], limit)

    def _within(self, within: Sequence[str]) -> str:
        """The labels of the fields a search is within ('' for all): of those fields, and of
        others sharing their label (bm25 leaves those out)."""
        labels = "".join(sorted({label for field, label in zip(self.fields, self._labels) if field in within}))
        return "" if not within or set(labels) == set(self._labels) else labels

    async def _matching(self, terms: Sequence[Term], every: bool, labels: str) -> dict[int, tuple[Fields, float]]:
        """Every document the terms match, with its stems."""
        queries = [_term_query(term, labels) for term in terms]
        if every and None in queries:
            return {}
        query = (" & " if every else " | ").join(query for query in queries if query is not None)
        if not query:
            return {}
        return self._documents(await self.database.fetch_all(
            f"SELECT rowid, {', '.join(self.fields)}, at FROM {self.table} WHERE document @@ CAST(? AS tsquery)",
            (query,)))

    async def _rows(self, rowids: list[int]) -> dict[int, tuple[Fields, float]]:
        if not rowids:
            return {}
        return self._documents(await self.database.fetch_all(
            f"SELECT rowid, {', '.join(self.fields)}, at FROM {self.table}"
            f" WHERE rowid IN ({', '.join('?' * len(rowids))})", tuple(rowids)))

    @staticmethod
    def _documents(rows: Sequence[Record]) -> dict[int, tuple[Fields, float]]:
        documents = {}
        for row in rows:
            values = tuple(row)
            documents[values[0]] = (values[1:-1], values[-1])
        return documents

    async def _statistics(self) -> tuple[int, float] | None:
        """How many documents, and their stems in all: the running totals."""
        row = await self.database.fetch_one(f"SELECT documents, length, changes FROM {self.table}_totals")
        if row is None or not row[0]:
            return None
        if row[2] != self._changes:  # the index changed: what was counted before may not hold
            self._changes, self._counted, self._common = row[2], {}, None
        return row[0], float(row[1]) or 1.0

    async def _frequencies(self, terms: Sequence[Term], labels: str, documents: int) -> dict[str, int]:
        """How many documents hold each phrase of the terms (in the fields of the labels):
        counted up to a bound; beyond it (and without counting, for a stem the statistics say
        is that common) estimated from PostgreSQL's statistics of the column. (Call
        `_statistics` first: it forgets the counts when the index has changed.)"""
        bound = self.ranking.count_up_to
        uncounted = [phrase for phrase in dict.fromkeys(phrase for term in terms for phrase in phrases(term))
                     if (labels, phrase) not in self._counted]
        if len(self._counted) + len(uncounted) > _COUNTED_LIMIT:
            self._counted.clear()
        if uncounted:
            shares = await self._shares()
            probes: list[str] = []
            queries: list[str] = []
            for number, phrase in enumerate(uncounted):
                query = _phrase_query(phrase, labels)
                estimate = _estimate(phrase, shares, documents)
                if query is None:  # no document holds it
                    self._counted[labels, phrase] = 0
                elif estimate > bound and (unquoted(phrase)[1] or " " not in unquoted(phrase)[0]):
                    # A stem (or a prefix) in that many documents: counting them would read them all.
                    self._counted[labels, phrase] = estimate
                else:
                    # The first matches in any order: reading them costs the bound at most.
                    probes.append(f"SELECT {number} AS probe, count(*) AS found FROM (SELECT 1 FROM {self.table}"
                                  f" WHERE document @@ CAST(? AS tsquery) LIMIT {bound + 1}) AS matches")
                    queries.append(query)
            if probes:
                rows = await self.database.fetch_all(" UNION ALL ".join(probes), tuple(queries))
                for number, count in rows:
                    phrase = uncounted[number]
                    self._counted[labels, phrase] = count if count <= bound else max(
                        count, _estimate(phrase, shares, documents))
        return {phrase: self._counted[labels, phrase] for term in terms for phrase in phrases(term)}

    async def _shares(self) -> dict[str, float]:
        """The commonest stems, each with the share of the documents that hold it: PostgreSQL's
        statistics of the column (made by ANALYZE, which autovacuum runs as the table changes;
        none on a table never analysed: asked again then)."""
        if not self._common:
            row = await self.database.fetch_one(
                "SELECT most_common_elems::text::text[] AS stems, most_common_elem_freqs AS shares FROM pg_stats"
                " WHERE schemaname = current_schema() AND tablename = ? AND attname = 'document'", (self.table,))
            self._common = dict(zip(row[0], row[1])) if row is not None and row[0] and row[1] else {}
        return self._common


def _estimate(phrase: str, shares: dict[str, float], documents: int) -> int:
    """How many documents may hold the phrase, by the statistics: at most as many as hold its
    rarest stem; for a prefix, as many as hold the common stems it starts, together."""
    text, prefix = unquoted(phrase)
    if prefix:
        share = min(1.0, sum(value for stem, value in shares.items() if stem.startswith(text)))
    else:
        share = min(shares.get(stem, 0.0) for stem in text.split(" "))
    return round(share * documents)


def _scores(rows: dict[int, tuple[Fields, float]], bm25: Bm25) -> dict[int, float]:
    return {rowid: bm25(fields) for rowid, (fields, _) in rows.items()}


def _best(scores: dict[int, float], most: int) -> dict[int, float]:
    """The highest scores (above 0), best first."""
    return {rowid: scores[rowid] for rowid in sorted(scores, key=lambda rowid: -scores[rowid])[:most]
            if scores[rowid] > 0}


def _term_query(term: Term, labels: str) -> str | None:
    """The term as a tsquery; None when it can match nothing."""
    queries = [query for query in (_phrase_query(phrase, labels) for phrase in phrases(term)) if query is not None]
    return "(" + " | ".join(queries) + ")" if queries else None


def _phrase_query(phrase: str, labels: str) -> str | None:
    """A phrase (written as FTS5 reads it) as a tsquery, in the fields of the labels; None
    when a stem is longer than any a tsvector holds."""
    text, prefix = unquoted(phrase)
    if any(not stem or len(stem.encode()) > _STEM_BYTES for stem in text.split(" ")):
        return None
    if prefix:
        return f"{_lexeme(text)}:*{labels}"
    return " <-> ".join(_lexeme(stem) + (f":{labels}" if labels else "") for stem in text.split(" "))


def _lexeme(stem: str) -> str:
    """A stem quoted as tsvector and tsquery input take it, whatever its characters."""
    return "'" + stem.replace("\\", "\\\\").replace("'", "''") + "'"
