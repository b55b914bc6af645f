"""Good practices, their countries and themes, the facilitators' cards about them, full-text
search over their titles and summaries (FTS5 ranked with bm25 on SQLite; on PostgreSQL the
`document` tsvector, ranked with ts_rank, the words folded as FTS5's tokenizer folds them), and
the tags accepted for consolidated replies."""

from __future__ import annotations

import re
from typing import Iterable, Sequence

import aiosqlite

from bot.domain.practices import Practice, PracticeDraft, State, Status
from bot.ports import Address
from bot.services.archive import search_terms, significant_terms
from bot.services.outbox import CardCopy
from bot.services.practices import PracticeHit, TaggedReply
from bot.services.stemming import fold
from storage.database import Database

_COLUMNS = ("id, title, summary, implementing_entities, status, primary_sdg, secondary_sdgs, source_organization,"
            " source_link, language, submitted_by, state, state_by, reason, created_at, updated_at")
# Candidates read from the full-text index for "similar solutions", before ranking.
SIMILAR_CANDIDATES = 30
# A search result shows at most this many words of the practice's summary.
SNIPPET_WORDS = 24
# A word as FTS5's tokenizer reads one: letters and digits.
_TOKEN = re.compile(r"[^\W_]+")


class SqlitePracticeStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    # --- records ----------------------------------------------------------------------------

    async def create(self, draft: PracticeDraft, submitted_by: int | None, state: State, now: float,
                     import_key: str | None = None) -> Practice:
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "INSERT INTO practice (title, summary, implementing_entities, status, primary_sdg, secondary_sdgs,"
                " source_organization, source_link, language, submitted_by, state, import_key, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (draft.title, draft.summary, draft.implementing_entities, draft.status.value, draft.primary_sdg,
                 _goals(draft.secondary_sdgs), draft.source_organization, draft.source_link, draft.language,
                 submitted_by, state.value, import_key, now, now))
            practice_id = int(cursor.lastrowid or 0)
            await _write_tags(connection, practice_id, draft)
        practice = await self.get(practice_id)
        assert practice is not None
        return practice

    async def update_imported(self, practice_id: int, draft: PracticeDraft, now: float) -> None:
        async with self.database.transaction() as connection:
            await connection.execute(
                "UPDATE practice SET title = ?, summary = ?, implementing_entities = ?, status = ?, primary_sdg = ?,"
                " secondary_sdgs = ?, source_organization = ?, source_link = ?, language = ?, updated_at = ?"
                " WHERE id = ?",
                (draft.title, draft.summary, draft.implementing_entities, draft.status.value, draft.primary_sdg,
                 _goals(draft.secondary_sdgs), draft.source_organization, draft.source_link, draft.language, now,
                 practice_id))
            await connection.execute("DELETE FROM practice_country WHERE practice_id = ?", (practice_id,))
            await connection.execute("DELETE FROM practice_theme WHERE practice_id = ?", (practice_id,))
            await _write_tags(connection, practice_id, draft)

    async def find_imported(self, import_key: str) -> Practice | None:
        row = await self.database.fetch_one("SELECT id FROM practice WHERE import_key = ?", (import_key,))
        return await self.get(row["id"]) if row else None

    async def get(self, practice_id: int) -> Practice | None:
        found = await self._load([practice_id])
        return found[0] if found else None

    async def decide(self, practice: Practice) -> bool:
        """Store an approval or rejection, unless someone decided first (False then)."""
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE practice SET state = ?, state_by = ?, reason = ?, updated_at = ? WHERE id = ? AND state = ?",
                (practice.state.value, practice.state_by, practice.reason, practice.updated_at, practice.id,
                 State.SUBMITTED.value))
            return cursor.rowcount == 1

    async def submitted_by(self, member_id: int) -> list[Practice]:
        rows = await self.database.fetch_all(
            "SELECT id FROM practice WHERE submitted_by = ? ORDER BY id", (member_id,))
        return await self._load([row["id"] for row in rows])

    async def waiting(self) -> list[Practice]:
        rows = await self.database.fetch_all("SELECT id FROM practice WHERE state = ? ORDER BY id",
                                             (State.SUBMITTED.value,))
        return await self._load([row["id"] for row in rows])

    # --- finding ----------------------------------------------------------------------------

    async def theme_counts(self) -> dict[str, int]:
        rows = await self.database.fetch_all(
            "SELECT t.theme, count(*) AS n FROM practice_theme t JOIN practice p ON p.id = t.practice_id"
            " WHERE p.state = ? GROUP BY t.theme", (State.APPROVED.value,))
        return {row["theme"]: row["n"] for row in rows}

    async def browse(self, themes: Sequence[str], countries: Sequence[str], limit: int) -> tuple[list[Practice], int]:
        """Approved practices with every theme and every country given, newest first; and how
        many there are in all."""
        where, parameters = _filters(themes, countries)
        total = await self.database.fetch_one(f"SELECT count(*) FROM practice p WHERE {where}", parameters)
        rows = await self.database.fetch_all(
            f"SELECT p.id FROM practice p WHERE {where} ORDER BY p.id DESC LIMIT ?", (*parameters, limit))
        return await self._load([row["id"] for row in rows]), int(total[0]) if total else 0

    async def search(self, words: str, limit: int = 5) -> list[PracticeHit]:
        """Approved practices holding every word (the last one may be unfinished), else any of
        them; best first by bm25 over title and summary, each with a few words around a match."""
        terms = search_terms(words)
        if not terms:
            return []
        hits = await self._match(terms, True, "", limit)
        if not hits and len(terms[-1]) >= 4:
            stem = terms[-1][:6] if len(terms[-1]) >= 6 else terms[-1][:4]
            hits = await self._match(terms[:-1], True, stem, limit)
        if not hits and len(terms) > 1:
            hits = await self._match(terms, False, "", limit)
        return hits

    async def _match(self, terms: Sequence[str], every: bool, prefix: str, limit: int,
                     other_than: int = 0) -> list[PracticeHit]:
        """Approved practices holding every term (`every`) or any of them, and a word starting
        with the prefix when given; best first, each with a few words of its summary round a match."""
        if self.database.dialect == "postgresql":
            query, parameters = _tsquery(terms, every, prefix)
            # A word in the title counts four times one in the summary, as bm25(4.0, 1.0) on SQLite.
            rows = await self.database.fetch_all(
                "SELECT p.id, p.title, p.summary, ts_rank('{0, 0, 0.25, 1}', p.document, found.query, 1) AS rank"
                f" FROM practice p, (SELECT {query} AS query) AS found"
                " WHERE p.document @@ found.query AND p.state = ? AND p.id != ? ORDER BY rank DESC, p.id LIMIT ?",
                (*parameters, State.APPROVED.value, other_than, limit))
            return [PracticeHit(row["id"], row["title"], _snippet(row["summary"], terms, prefix), float(row["rank"]))
                    for row in rows]
        phrases = [_quote(term) for term in terms] + ([_quote(prefix) + "*"] if prefix else [])
        rows = await self.database.fetch_all(
            f"SELECT p.id, p.title, f.rank AS rank, snippet(practice_fts, 1, '', '', '…', {SNIPPET_WORDS}) AS snippet"
            " FROM practice_fts f JOIN practice p ON p.id = f.rowid"
            " WHERE practice_fts MATCH ? AND p.state = ? AND p.id != ? ORDER BY f.rank LIMIT ?",
            ((" AND " if every else " OR ").join(phrases), State.APPROVED.value, other_than, limit))
        return [PracticeHit(row["id"], row["title"], " ".join((row["snippet"] or "").split()), -float(row["rank"]))
                for row in rows]

    async def similar(self, practice: Practice, limit: int = 3) -> list[Practice]:
        """Other approved practices close to this one: each shared theme and country counts
        one, and a match of the title's and summary's words counts up to two (by bm25 order)."""
        scores: dict[int, float] = {}
        rows = await self.database.fetch_all(
            "SELECT p.id,"
            " (SELECT count(*) FROM practice_theme t WHERE t.practice_id = p.id AND t.theme IN"
            "   (SELECT theme FROM practice_theme WHERE practice_id = :id)) AS themes,"
            " (SELECT count(*) FROM practice_country c WHERE c.practice_id = p.id AND c.code IN"
            "   (SELECT code FROM practice_country WHERE practice_id = :id)) AS countries"
            " FROM practice p WHERE p.state = :approved AND p.id != :id",
            {"id": practice.id, "approved": State.APPROVED.value})
        for row in rows:
            if row["themes"] or row["countries"]:
                scores[row["id"]] = float(row["themes"] + row["countries"])
        terms = significant_terms(f"{practice.title} {practice.summary}")
        if terms:
            matched = await self._match(terms[:12], False, "", SIMILAR_CANDIDATES, other_than=practice.id)
            for position, hit in enumerate(matched):
                scores[hit.number] = scores.get(hit.number, 0.0) + 2.0 * (1 - position / len(matched))
        best = sorted(scores, key=lambda practice_id: (-scores[practice_id], -practice_id))[:limit]
        return await self._load(best)

    # --- the facilitators' cards ------------------------------------------------------------

    async def add_card(self, practice_id: int, outbox_id: int, language: str) -> None:
        async with self.database.transaction() as connection:
            await connection.execute(
                "INSERT OR IGNORE INTO practice_card (practice_id, outbox_id, language) VALUES (?, ?, ?)",
                (practice_id, outbox_id, language))

    async def cards(self, practice_id: int) -> list[CardCopy]:
        rows = await self.database.fetch_all(
            "SELECT c.outbox_id, c.language, o.platform, o.user_id, o.chat_id, o.member_id FROM practice_card c"
            " JOIN outbox o ON o.id = c.outbox_id WHERE c.practice_id = ? ORDER BY c.outbox_id", (practice_id,))
        return [CardCopy(row["outbox_id"], row["language"], Address(row["platform"], row["user_id"], row["chat_id"]),
                         row["member_id"]) for row in rows]

    # --- consolidated replies' tags ---------------------------------------------------------

    async def tag_reply(self, discussion_id: int, themes: Iterable[str], countries: Iterable[str]) -> int:
        """Add the tags; how many were new."""
        values = [(discussion_id, "theme", theme) for theme in themes]
        values += [(discussion_id, "country", code) for code in countries]
        count = "SELECT count(*) FROM reply_tag WHERE discussion_id = ?"
        async with self.database.transaction() as connection:
            (before,) = await (await connection.execute(count, (discussion_id,))).fetchone()
            await connection.executemany(
                "INSERT OR IGNORE INTO reply_tag (discussion_id, kind, value) VALUES (?, ?, ?)", values)
            (after,) = await (await connection.execute(count, (discussion_id,))).fetchone()
        return after - before

    async def reply_tags(self, discussion_id: int) -> tuple[list[str], list[str]]:
        rows = await self.database.fetch_all(
            "SELECT kind, value FROM reply_tag WHERE discussion_id = ? ORDER BY kind, value", (discussion_id,))
        return ([row["value"] for row in rows if row["kind"] == "theme"],
                [row["value"] for row in rows if row["kind"] == "country"])

    async def tagged_replies(self, themes: Sequence[str], countries: Sequence[str], limit: int) -> list[TaggedReply]:
        """Published consolidated replies carrying every tag given, newest first."""
        wanted = [("theme", theme) for theme in themes] + [("country", code) for code in countries]
        if not wanted:
            return []
        conditions = " AND ".join(
            "EXISTS (SELECT 1 FROM reply_tag t WHERE t.discussion_id = r.discussion_id AND t.kind = ? AND t.value = ?)"
            for _ in wanted)
        rows = await self.database.fetch_all(
            f"SELECT r.discussion_id, r.title, r.published_at FROM consolidated_reply r WHERE {conditions}"
            " ORDER BY r.published_at DESC, r.discussion_id DESC LIMIT ?",
            (*[value for pair in wanted for value in pair], limit))
        return [TaggedReply(row["discussion_id"], row["title"], row["published_at"]) for row in rows]

    # --- reading whole records --------------------------------------------------------------

    async def _load(self, ids: Sequence[int]) -> list[Practice]:
        """The practices, in the order of `ids`."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = await self.database.fetch_all(f"SELECT {_COLUMNS} FROM practice WHERE id IN ({marks})", tuple(ids))
        countries = await self.database.fetch_all(
            f"SELECT practice_id, code FROM practice_country WHERE practice_id IN ({marks}) ORDER BY position",
            tuple(ids))
        themes = await self.database.fetch_all(
            f"SELECT practice_id, theme FROM practice_theme WHERE practice_id IN ({marks}) ORDER BY position",
            tuple(ids))
        found = {row["id"]: _practice(row, [c["code"] for c in countries if c["practice_id"] == row["id"]],
                                      [t["theme"] for t in themes if t["practice_id"] == row["id"]])
                 for row in rows}
        return [found[practice_id] for practice_id in ids if practice_id in found]


def _filters(themes: Sequence[str], countries: Sequence[str]) -> tuple[str, tuple]:
    where = ["p.state = ?"]
    parameters: list[object] = [State.APPROVED.value]
    for theme in themes:
        where.append("EXISTS (SELECT 1 FROM practice_theme t WHERE t.practice_id = p.id AND t.theme = ?)")
        parameters.append(theme)
    for code in countries:
        where.append("EXISTS (SELECT 1 FROM practice_country c WHERE c.practice_id = p.id AND c.code = ?)")
        parameters.append(code)
    return " AND ".join(where), tuple(parameters)


async def _write_tags(connection: aiosqlite.Connection, practice_id: int, draft: PracticeDraft) -> None:
    await connection.executemany(
        "INSERT OR IGNORE INTO practice_country (practice_id, code, position) VALUES (?, ?, ?)",
        [(practice_id, code, position) for position, code in enumerate(draft.countries)])
    await connection.executemany(
        "INSERT OR IGNORE INTO practice_theme (practice_id, theme, position) VALUES (?, ?, ?)",
        [(practice_id, theme, position) for position, theme in enumerate(draft.themes)])


def _goals(goals: Sequence[int]) -> str:
    return " ".join(str(goal) for goal in goals)


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _tsquery(terms: Sequence[str], every: bool, prefix: str) -> tuple[str, list[str]]:
    """A search's words as a tsquery expression and its parameters: each folded by the function
    that folds the practices' documents (search_fold), so both sides read a word the same way."""
    parts = ["plainto_tsquery('simple', search_fold(?))"] * len(terms)
    if prefix:
        parts.append("to_tsquery('simple', quote_literal(search_fold(?)) || ':*')")
    return "(" + (" && " if every else " || ").join(parts) + ")", [*terms, *([prefix] if prefix else [])]


def _snippet(summary: str, terms: Sequence[str], prefix: str) -> str:
    """A few words of the summary round the words found, chosen as FTS5's snippet() chooses them
    on SQLite: the window of words holding the most of the different words of the search (a
    sentence's start preferred), with '…' where text is left out."""
    tokens = list(_TOKEN.finditer(summary))
    size = SNIPPET_WORDS
    start = 0
    if len(tokens) > size:
        wanted = {fold(term) for term in terms}
        folded_prefix = fold(prefix)
        found: list[tuple[int, str]] = []  # each word found, with the search word it is
        for index, token in enumerate(tokens):
            word = fold(token.group(0))
            if word in wanted:
                found.append((index, word))
            elif folded_prefix and word.startswith(folded_prefix):
                found.append((index, "*"))
        # A word after a full stop or a colon starts a sentence.
        sentences = [0] + [index for index, token in enumerate(tokens) if index and re.search(
            r"[.:]\s+$", summary[tokens[index - 1].end():token.start()])]

        def score(first: int) -> tuple[int, list[int]]:
            seen: set[str] = set()
            points, inside = 0, []
            for index, word in found:
                if first <= index < first + size:
                    points += 1 if word in seen else 1000
                    seen.add(word)
                    inside.append(index)
            return points, inside

        best = 0
        for index, _ in found:
            points, inside = score(index)
            if points > best:
                best = points
                start = max(0, min(inside[0] - (size - (inside[-1] - inside[0])) // 2, len(tokens) - size))
            sentence = max(first for first in sentences if first <= index)
            if sentence < index:
                points = score(sentence)[0] + (120 if sentence == 0 else 100)
                if points > best:
                    best, start = points, sentence
    end = start + size
    text = summary[tokens[start].start() if start else 0:tokens[end - 1].end() if end < len(tokens) else len(summary)]
    return " ".join((("…" if start else "") + text + ("…" if end < len(tokens) else "")).split())


def _practice(row: aiosqlite.Row, countries: list[str], themes: list[str]) -> Practice:
    return Practice(
        id=row["id"], title=row["title"], summary=row["summary"], countries=tuple(countries),
        implementing_entities=row["implementing_entities"], status=Status(row["status"]),
        primary_sdg=row["primary_sdg"],
        secondary_sdgs=tuple(int(goal) for goal in row["secondary_sdgs"].split() if goal.isdigit()),
        themes=tuple(themes), source_organization=row["source_organization"], source_link=row["source_link"],
        language=row["language"], submitted_by=row["submitted_by"], state=State(row["state"]),
        state_by=row["state_by"], reason=row["reason"], created_at=row["created_at"], updated_at=row["updated_at"],
    )
