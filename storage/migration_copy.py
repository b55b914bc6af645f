"""Moving a community from its SQLite file onto PostgreSQL (`facilitator migrate-storage`).

The copy reads the SQLite file in one read transaction (a consistent snapshot, while a bot may
go on running on it: WAL lets readers and the writer pass each other) and writes the server in
one transaction: all of it lands, or none of it. The target must be empty; opening it migrates
it first, so the tables are those of storage/migrations/postgresql/.

What is copied: every table of the PostgreSQL schema that has a table of the same name in the
SQLite file, the columns they share (and SQLite's rowid where the PostgreSQL table keeps it as a
column), in an order that satisfies the foreign keys, in batches of rows (a community of
100,000 members copies in bounded memory). What is not: `schema_migrations` (each database
records its own) and the archive's search index, which is FTS5 on SQLite and a tsvector table
on PostgreSQL: every consolidated reply is marked stale instead, and the archive indexes them
again at its first search.

The tables' own triggers are off during the copy (`ALTER TABLE ... DISABLE TRIGGER USER`,
undone before the commit, and by the rollback): the rows written by SQLite's triggers
(`outbox_tally`, `left_at`) are copied as they are, not counted a second time by PostgreSQL's.
The foreign keys stay checked. Identity sequences are moved past the copied ids, and the row
counts of both sides are compared before the commit."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

import asyncpg

from storage.database import Database
from storage.postgres import WRITER_LOCK, PostgresDatabase, PostgresUnavailable, safe_url

BATCH_ROWS = 5000

# Each database records its own migrations.
NOT_COPIED = frozenset({"schema_migrations"})
# The archive's search index: FTS5 on SQLite, rebuilt on PostgreSQL from the replies.
SEARCH_INDEX = frozenset({"archive_search", "archive_search_headings"})


class CopyRefused(Exception):
    """The copy cannot start (the target is not empty, or cannot be reached): nothing was written."""


class CopyFailed(Exception):
    """The copy stopped part-way and was rolled back: the target is as it was before."""


@dataclass(frozen=True)
class TableCopy:
    name: str
    source_rows: int
    target_rows: int


@dataclass(frozen=True)
class CopyReport:
    source: str
    target: str  # without its password
    tables: tuple[TableCopy, ...]
    reindexed: int  # consolidated replies the archive will index again at its first search
    left_out: tuple[str, ...]  # "table.column" of SQLite with no place on PostgreSQL (none expected)

    @property
    def rows(self) -> int:
        return sum(table.target_rows for table in self.tables)


class CopyProgress(Protocol):
    """Told of each table as it starts, then of each batch written."""

    def table(self, name: str, rows: int) -> None: ...

    def copied(self, rows: int) -> None: ...


class _Silent:
    def table(self, name: str, rows: int) -> None:
        return None

    def copied(self, rows: int) -> None:
        return None


@dataclass(frozen=True)
class _Column:
    name: str
    kind: str  # PostgreSQL's data_type: bigint, double precision, text...


@dataclass(frozen=True)
class _TablePlan:
    name: str
    columns: tuple[_Column, ...]
    has_rowid: bool  # SQLite's side: ordered by rowid, so that a row's earlier rows come first


async def copy_community(source_path: Path, target_url: str, progress: CopyProgress | None = None,
                         batch_rows: int = BATCH_ROWS) -> CopyReport:
    """Copy the community in the SQLite file at `source_path` into the empty PostgreSQL
    database at `target_url`. `CopyRefused` before anything is written, `CopyFailed` after a
    rollback; what the operator can fix about the SQLite file is `StorageUnavailable`."""
    progress = progress or _Silent()
    if not source_path.is_file():
        raise CopyRefused(f"no SQLite database at {source_path}")
    source = await Database.open(source_path)
    try:
        try:
            target = await PostgresDatabase.open(target_url, connections=1)
        except PostgresUnavailable as error:
            raise CopyRefused(str(error)) from None
        try:
            return await _copy(source, target, progress, batch_rows)
        finally:
            await target.close()
    finally:
        await source.close()


async def _copy(source: Database, target: PostgresDatabase, progress: CopyProgress, batch_rows: int) -> CopyReport:
    where = safe_url(target.url)
    # One read transaction on SQLite from the first count to the last row: a snapshot.
    await source.connection.execute("BEGIN")
    try:
        sqlite_tables = await _sqlite_tables(source)
        async with target.pool.acquire() as raw:
            plans, left_out = await _plan(raw, sqlite_tables)
            counts = {plan.name: await _sqlite_count(source, plan.name) for plan in plans}
            try:
                async with raw.transaction():
                    # A worker started on the target too early waits until the copy is done.
                    await raw.execute("SELECT pg_advisory_xact_lock($1)", WRITER_LOCK)
                    await _check_versions(source, raw, where)
                    await _check_empty(raw, plans, where)
                    with_triggers = await _tables_with_triggers(raw)
                    for plan in plans:
                        if plan.name in with_triggers:
                            await raw.execute(f'ALTER TABLE "{plan.name}" DISABLE TRIGGER USER')
                    for plan in plans:
                        progress.table(plan.name, counts[plan.name])
                        await _copy_table(source, raw, plan, progress, batch_rows)
                    tables = await _compare(raw, plans, counts)
                    reindexed = await _mark_archive_stale(raw)
                    for plan in plans:
                        await _move_identities(raw, plan.name)
                    for plan in plans:
                        if plan.name in with_triggers:
                            await raw.execute(f'ALTER TABLE "{plan.name}" ENABLE TRIGGER USER')
            except asyncpg.PostgresError as error:
                raise CopyFailed(f"{_describe(error)}; nothing was copied, {where} is as it was") from None
            except (OSError, asyncpg.InterfaceError) as error:
                # The server went away: a transaction it did not commit left nothing behind.
                raise CopyFailed(f"lost {where} during the copy ({str(error).strip() or type(error).__name__}); "
                                 "nothing was committed") from None
    finally:
        await source.connection.execute("ROLLBACK")
    return CopyReport(str(source.path), where, tables, reindexed, left_out)


async def _sqlite_tables(source: Database) -> dict[str, set[str]]:
    """The SQLite file's ordinary tables (not FTS5's virtual tables nor their shadow tables),
    each with its columns (and `rowid` when it has one)."""
    schema = {row[0]: (row[1] or "").upper()
              for row in await source.fetch_all("SELECT name, sql FROM sqlite_master WHERE type = 'table'")}
    virtual = [name for name, sql in schema.items() if sql.startswith("CREATE VIRTUAL TABLE")]
    tables: dict[str, set[str]] = {}
    for name, sql in schema.items():
        if name in virtual or any(name.startswith(f"{table}_") and name[len(table) + 1:] in _FTS_SHADOWS
                                  for table in virtual):
            continue
        columns = {row[1] for row in await source.fetch_all(f'PRAGMA table_info("{name}")')}
        if "WITHOUT ROWID" not in sql:
            columns.add("rowid")
        tables[name] = columns
    return tables


_FTS_SHADOWS = frozenset({"data", "idx", "content", "docsize", "config"})
_THIS_SCHEMA = "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())"


async def _plan(raw: asyncpg.Connection,
                sqlite_tables: dict[str, set[str]]) -> tuple[list[_TablePlan], tuple[str, ...]]:
    """The tables to copy, parents before children, with the columns both sides have."""
    columns: dict[str, list[_Column]] = {}
    for row in await raw.fetch(
            "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c"
            " JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
            " WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
            " AND c.is_generated = 'NEVER' ORDER BY c.table_name, c.ordinal_position"):
        columns.setdefault(row["table_name"], []).append(_Column(row["column_name"], row["data_type"]))
    wanted = sorted(name for name in columns if name in sqlite_tables and name not in NOT_COPIED | SEARCH_INDEX)
    plans = {name: _TablePlan(name, tuple(column for column in columns[name] if column.name in sqlite_tables[name]),
                              "rowid" in sqlite_tables[name])
             for name in wanted}
    left_out = tuple(sorted(
        f"{name}.{column}" for name in wanted for column in sqlite_tables[name]
        if column != "rowid" and column not in {kept.name for kept in plans[name].columns}))
    parents: dict[str, set[str]] = {name: set() for name in wanted}
    for row in await raw.fetch(
            "SELECT child.relname AS child, parent.relname AS parent FROM pg_constraint k"
            " JOIN pg_class child ON child.oid = k.conrelid JOIN pg_class parent ON parent.oid = k.confrelid"
            f" WHERE k.contype = 'f' AND child.relnamespace = {_THIS_SCHEMA}"):
        if row["child"] in parents and row["parent"] in parents and row["child"] != row["parent"]:
            parents[row["child"]].add(row["parent"])
    return [plans[name] for name in _parents_first(parents)], left_out


def _parents_first(parents: dict[str, set[str]]) -> list[str]:
    """Each table after the tables its foreign keys name (by name among equals, to be the
    same every time). A cycle (none in this schema) ends up last, in name order."""
    ordered: list[str] = []
    waiting = {name: set(names) for name, names in parents.items()}
    while waiting:
        ready = sorted(name for name, names in waiting.items() if not names - set(ordered))
        if not ready:
            ordered += sorted(waiting)
            break
        ordered += ready
        for name in ready:
            del waiting[name]
    return ordered


async def _sqlite_count(source: Database, table: str) -> int:
    row = await source.fetch_one(f'SELECT count(*) FROM "{table}"')
    return int(row[0]) if row else 0


async def _check_versions(source: Database, raw: asyncpg.Connection, where: str) -> None:
    sqlite_row = await source.fetch_one("SELECT max(version) FROM schema_migrations")
    postgres_version = await raw.fetchval("SELECT max(version) FROM schema_migrations")
    if sqlite_row is None or sqlite_row[0] != postgres_version:
        raise CopyRefused(f"the SQLite file is at schema version {sqlite_row[0] if sqlite_row else None}, "
                          f"{where} at {postgres_version}: both must be at this version's newest")


async def _check_empty(raw: asyncpg.Connection, plans: list[_TablePlan], where: str) -> None:
    """No row in any table the copy writes (a table only PostgreSQL has may hold what its
    migration put there)."""
    filled = [plan.name for plan in plans if await raw.fetchval(f'SELECT EXISTS (SELECT 1 FROM "{plan.name}")')]
    if filled:
        shown = ", ".join(filled[:3]) + (f" and {len(filled) - 3} more" if len(filled) > 3 else "")
        raise CopyRefused(f"{where} is not empty ({shown} already hold rows): "
                          "migrate-storage copies into an empty database only")


async def _tables_with_triggers(raw: asyncpg.Connection) -> set[str]:
    rows = await raw.fetch(
        "SELECT DISTINCT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid"
        f" WHERE NOT g.tgisinternal AND c.relnamespace = {_THIS_SCHEMA}")
    return {row[0] for row in rows}


async def _copy_table(source: Database, raw: asyncpg.Connection, plan: _TablePlan, progress: CopyProgress,
                      batch_rows: int) -> None:
    if not plan.columns:
        return
    names = [column.name for column in plan.columns]
    converters = [_converter(column.kind) for column in plan.columns]
    selected = ", ".join(f'"{name}"' if name != "rowid" else "rowid" for name in names)
    order = " ORDER BY rowid" if plan.has_rowid else ""
    async with source.connection.execute(f'SELECT {selected} FROM "{plan.name}"{order}') as cursor:
        while True:
            rows = await cursor.fetchmany(batch_rows)
            if not rows:
                return
            records = [_converted(plan, converters, row) for row in rows]
            await raw.copy_records_to_table(plan.name, records=records, columns=names)
            progress.copied(len(records))


def _converted(plan: _TablePlan, converters: Sequence[Callable[[Any], Any]], row: Sequence[Any]) -> tuple:
    values = []
    for column, convert, value in zip(plan.columns, converters, row):
        try:
            values.append(convert(value))
        except _Unfit as error:
            raise CopyFailed(f"{plan.name}.{column.name}: {error} cannot be stored as {column.kind} "
                             "on PostgreSQL; nothing was copied") from None
    return tuple(values)


class _Unfit(ValueError):
    """A SQLite value (SQLite stores what it is given) that the PostgreSQL column cannot hold."""

    def __init__(self, value: Any) -> None:
        shown = repr(value)
        super().__init__(shown if len(shown) <= 60 else shown[:57] + "...")


def _converter(kind: str) -> Callable[[Any], Any]:
    if kind in ("bigint", "integer", "smallint"):
        return _integer
    if kind in ("double precision", "real"):
        return _real
    if kind in ("text", "character varying", "character"):
        return _text
    return lambda value: value


def _integer(value: Any) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value)
    raise _Unfit(value)


def _real(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise _Unfit(value) from None
        if math.isfinite(number):
            return number
    raise _Unfit(value)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise _Unfit(value) from None
    elif not isinstance(value, str):
        value = str(value)
    # PostgreSQL's text cannot hold the NUL character SQLite's can; it never carries meaning in
    # what members write.
    return value.replace("\x00", "")


async def _compare(raw: asyncpg.Connection, plans: list[_TablePlan], counts: dict[str, int]) -> tuple[TableCopy, ...]:
    tables = []
    for plan in plans:
        copied = await raw.fetchval(f'SELECT count(*) FROM "{plan.name}"')
        tables.append(TableCopy(plan.name, counts[plan.name], int(copied)))
    differing = [table for table in tables if table.source_rows != table.target_rows]
    if differing:
        shown = ", ".join(f"{table.name} {table.source_rows:,} in SQLite and {table.target_rows:,} on PostgreSQL"
                          for table in differing[:3])
        raise CopyFailed(f"the row counts differ after the copy ({shown}): rolled back, nothing was copied")
    return tuple(tables)


async def _mark_archive_stale(raw: asyncpg.Connection) -> int:
    """Every consolidated reply waits for the archive's search index, which indexes them at
    its first search (storage/archive.py, bring_index_up_to_date)."""
    await raw.execute(
        "INSERT INTO archive_search_stale (discussion_id) SELECT discussion_id FROM consolidated_reply"
        " ON CONFLICT (discussion_id) DO NOTHING")
    return int(await raw.fetchval("SELECT count(*) FROM consolidated_reply"))


async def _move_identities(raw: asyncpg.Connection, table: str) -> None:
    """The next row's id comes after the copied ones, as SQLite's would."""
    identities = await raw.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = $1 AND is_identity = 'YES'", table)
    for row in identities:
        column = row[0]
        highest = f'SELECT max("{column}") FROM "{table}"'
        await raw.execute(f"SELECT setval(pg_get_serial_sequence($1, $2), coalesce(({highest}), 0) + 1, false)",
                          f'"{table}"', column)


def _describe(error: asyncpg.PostgresError) -> str:
    """The server's message in one line, with the row it is about when it says."""
    message = (getattr(error, "message", "") or str(error)).strip().splitlines()[0]
    detail = (getattr(error, "detail", "") or "").strip()
    table = getattr(error, "table_name", "") or ""
    where = f"{table}: " if table and table not in message else ""
    return f"{where}{message}" + (f" ({detail})" if detail else "")
