"""Members imported by the thousand: each batch of rows in one transaction and a handful of
statements (a temporary table, then set-wise inserts and updates), not several round trips
per member."""

from __future__ import annotations

from typing import Sequence

from bot.services.importing import BatchResult, ImportRow
from storage.database import Database

# A row's profile as it ends up: what the file says, keeping what it leaves empty.
_CHANGED = ("m.name != r.name OR (r.organization != '' AND m.organization != r.organization)"
            " OR (r.country != '' AND m.country != r.country) OR (r.topics != '' AND m.topics != r.topics)"
            " OR (r.language != '' AND m.language != r.language)")


class SqliteMemberImport:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def apply(self, rows: Sequence[ImportRow], now: float) -> BatchResult:
        # The last row for an account wins, as if the rows had been applied one by one.
        last = {(row.platform, row.platform_id): row for row in rows}
        repeated = len(rows) - len(last)
        async with self.database.transaction() as connection:
            # A temporary table: the connection's own (its name, unqualified, is found before any other).
            await connection.execute(
                "CREATE TEMP TABLE IF NOT EXISTS import_row (line INTEGER PRIMARY KEY, platform TEXT, user_id TEXT,"
                " chat_id TEXT, name TEXT, organization TEXT, country TEXT, topics TEXT, language TEXT)")
            await connection.execute("DELETE FROM import_row")
            await connection.executemany(
                "INSERT INTO import_row VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(row.line, row.platform, row.platform_id, row.platform_id if row.platform == "telegram" else "",
                  row.name, row.organization, row.country, ";".join(row.topics), row.language)
                 for row in last.values()])
            known = "EXISTS (SELECT 1 FROM identity i WHERE i.platform = r.platform AND i.user_id = r.user_id)"
            changed = await (await connection.execute(
                "SELECT count(*) FROM import_row r JOIN identity i ON i.platform = r.platform"
                f" AND i.user_id = r.user_id JOIN member m ON m.id = i.member_id WHERE {_CHANGED}")).fetchone()
            existing = await (await connection.execute(
                f"SELECT count(*) FROM import_row r WHERE {known}")).fetchone()
            await connection.execute(
                "UPDATE member AS m SET name = r.name,"
                " organization = CASE WHEN r.organization != '' THEN r.organization ELSE m.organization END,"
                " country = CASE WHEN r.country != '' THEN r.country ELSE m.country END,"
                " topics = CASE WHEN r.topics != '' THEN r.topics ELSE m.topics END,"
                " language = CASE WHEN r.language != '' THEN r.language ELSE m.language END"
                " FROM import_row r JOIN identity i ON i.platform = r.platform AND i.user_id = r.user_id"
                f" WHERE m.id = i.member_id AND ({_CHANGED})")
            # New members take consecutive ids after the last one (one writer at a time here),
            # so that their identities can be matched to them by order.
            (base,) = await (await connection.execute("SELECT COALESCE(MAX(id), 0) FROM member")).fetchone()
            await connection.execute(
                "INSERT INTO member (id, name, organization, country, topics, language, role, joined_at)"
                " SELECT ? + ROW_NUMBER() OVER (ORDER BY r.line), r.name, r.organization, r.country, r.topics,"
                f" r.language, 'member', ? FROM import_row r WHERE NOT {known} ORDER BY r.line", (base, now))
            await connection.execute(
                "INSERT INTO identity (platform, user_id, chat_id, member_id)"
                " SELECT r.platform, r.user_id, r.chat_id, ? + ROW_NUMBER() OVER (ORDER BY r.line)"
                f" FROM import_row r WHERE NOT {known} ORDER BY r.line", (base,))
            if self.database.dialect == "postgresql":
                # The ids were given, not drawn: the next member drawn comes after them.
                await connection.execute(
                    "SELECT setval(pg_get_serial_sequence('member', 'id'), max(id)) FROM member HAVING max(id) > ?",
                    (base,))
            await connection.execute("DELETE FROM import_row")
        updated, unchanged_existing = int(changed[0]), int(existing[0]) - int(changed[0])
        return BatchResult(imported=len(last) - int(existing[0]), updated=updated + repeated,
                           unchanged=unchanged_existing)
