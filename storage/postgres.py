"""PostgreSQL, for a network that outgrows one machine: a pool of asyncpg connections that
speaks to the repositories as the SQLite connection does.

The repositories' SQL is written once, in the dialect both databases share. This module
takes it as it is: `?` and `:name` placeholders become `$1`..., `INSERT OR IGNORE` becomes
`ON CONFLICT DO NOTHING`, `LIKE` the case-insensitive `ILIKE` SQLite's LIKE is, and a value
of another type than its column's (SQLite stores what it is given) is converted to the
column's type, as SQLite would compare it. What cannot be said the same way in both
(full-text search, PRAGMAs, backups) asks `database.dialect`.

Transactions: every write transaction of the core runs alone across all workers (an advisory
lock taken first, as SQLite's one writer), so the use cases keep SQLite's guarantees without
each one reasoning about concurrency. The delivery engine's transactions are written for
concurrency (`FOR UPDATE SKIP LOCKED`, single-row updates, a row locked before it is read to
be changed) and run `shared`: they do not wait for a broadcast's planning, nor for each other."""

from __future__ import annotations

import asyncio
import contextvars
import decimal
import logging
import re
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any, AsyncIterator, Iterable, Sequence

import asyncpg

from storage.database import migrations
from storage.files import StorageUnavailable

log = logging.getLogger(__name__)

# The advisory lock every exclusive write transaction takes (an arbitrary number, the same in
# every worker); others are in storage/leases.py.
WRITER_LOCK = 0x46414349  # "FACI"
MIGRATION_LOCK = 1  # taken by the worker applying the migrations: the others wait, then find them applied

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class PostgresUnavailable(StorageUnavailable):
    """The server cannot be reached or refuses us: a line for the operator, no traceback."""


class Record:
    """A row as the repositories read them: by name, by position, and slices of positions."""

    __slots__ = ("_record",)

    def __init__(self, record: asyncpg.Record) -> None:
        self._record = record

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return tuple(self._record.values())[key]
        return self._record[key]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._record.values())

    def __len__(self) -> int:
        return len(self._record)

    def keys(self) -> list[str]:
        return list(self._record.keys())

    def __repr__(self) -> str:
        return f"Record({dict(self._record.items())!r})"


class Cursor:
    """What `connection.execute` gives back: rows read at once, the count and the new id."""

    def __init__(self, rows: list[Record], rowcount: int, lastrowid: int | None) -> None:
        self._rows = rows
        self._position = 0
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    async def fetchone(self) -> Record | None:
        if self._position >= len(self._rows):
            return None
        self._position += 1
        return self._rows[self._position - 1]

    async def fetchall(self) -> list[Record]:
        rows, self._position = self._rows[self._position:], len(self._rows)
        return rows

    async def __aenter__(self) -> "Cursor":
        return self

    async def __aexit__(self, *_: object) -> None:
        return None


class _Pending:
    """`await connection.execute(...)` and `async with connection.execute(...)`, as aiosqlite."""

    def __init__(self, run) -> None:  # type: ignore[no-untyped-def]
        self._run = run
        self._cursor: Cursor | None = None

    def __await__(self):  # type: ignore[no-untyped-def]
        return self._run().__await__()

    async def __aenter__(self) -> Cursor:
        self._cursor = await self._run()
        return self._cursor

    async def __aexit__(self, *_: object) -> None:
        return None


class Connection:
    """One pooled connection, with aiosqlite's methods the repositories use."""

    def __init__(self, raw: asyncpg.Connection, tables_with_id: frozenset[str]) -> None:
        self.raw = raw
        self._tables_with_id = tables_with_id

    def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> _Pending:
        return _Pending(lambda: self._execute(sql, parameters))

    async def execute_fetchall(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> list[Record]:
        return await (await self._execute(sql, parameters)).fetchall()

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if not rows:
            return
        statement = translate(sql, self._tables_with_id, returning=False)
        prepared = await self.raw.prepare(statement.text)
        types = _parameter_types(prepared)
        converted = [statement.arguments(row, types) for row in rows]
        await prepared.executemany(converted)

    async def _execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any]) -> Cursor:
        statement = translate(sql, self._tables_with_id, returning=True)
        arguments = statement.arguments(parameters, None)
        try:
            if statement.returns_rows:
                records = await self.raw.fetch(statement.text, *arguments)
                status = ""
            else:
                status = await self.raw.execute(statement.text, *arguments)
                records = []
        except (asyncpg.DataError, TypeError, OverflowError) as error:
            if getattr(error, "severity", None) is not None:
                raise  # the server's refusal of a value, not asyncpg's: the transaction is aborted
            # A value of another type than its column's (an id given as text, a time as an
            # integer): converted to what the server expects, as SQLite would compare it.
            prepared = await self.raw.prepare(statement.text)
            arguments = statement.arguments(parameters, _parameter_types(prepared))
            records = await prepared.fetch(*arguments)
            status = prepared.get_statusmsg()
        rows = [Record(record) for record in records]
        if statement.added_returning:
            lastrowid = rows[0][0] if rows else None
            count, rows = len(rows), []
        else:
            lastrowid = None
            count = _count(status) if status else len(rows)
        return Cursor(rows, count, lastrowid)


def _count(status: str) -> int:
    """The rows a statement touched, from the server's status ("UPDATE 3", "INSERT 0 1")."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def _parameter_types(prepared: asyncpg.prepared_stmt.PreparedStatement) -> list[str]:
    return [parameter.name for parameter in prepared.get_parameters()]


class Statement:
    """SQL in SQLite's words, as PostgreSQL takes it."""

    def __init__(self, text: str, names: list[str], positional: int, returns_rows: bool,
                 added_returning: bool) -> None:
        self.text = text
        self._names = names
        self._positional = positional
        self.returns_rows = returns_rows
        self.added_returning = added_returning

    def arguments(self, parameters: Sequence[Any] | dict[str, Any], types: list[str] | None) -> list[Any]:
        if isinstance(parameters, dict):
            values = [parameters[name] for name in self._names]
        else:
            values = list(parameters)
        if len(values) != self._positional:
            raise TypeError(f"{self._positional} parameters expected, {len(values)} given: {self.text[:80]}")
        if types is None:
            return [_plain(value) for value in values]
        return [_as_type(value, kind) for value, kind in zip(values, types)]


def _plain(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def _as_type(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        value = int(value)
    if kind in ("text", "varchar", "bpchar", "name", "unknown"):
        return value if isinstance(value, str) else str(value)
    if kind in ("int8", "int4", "int2"):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return int(value) if isinstance(value, str) else value
    if kind in ("float8", "float4"):
        return float(value) if isinstance(value, (int, str)) else value
    if kind == "numeric":
        return decimal.Decimal(str(value))
    return value


@lru_cache(maxsize=2048)
def translate(sql: str, tables_with_id: frozenset[str], returning: bool) -> Statement:
    text, names, positional = _placeholders(sql)
    text = re.sub(r"\bLIKE\b", "ILIKE", text)
    text = re.sub(r"\binstr\(", "strpos(", text, flags=re.IGNORECASE)
    text = re.sub(r"\bAS REAL\b", "AS DOUBLE PRECISION", text)
    text = _name_subqueries(text)
    head = text.lstrip().split(None, 1)[0].upper() if text.strip() else ""
    if re.match(r"\s*INSERT\s+OR\s+IGNORE\s+INTO", text, re.IGNORECASE):
        text = re.sub(r"INSERT\s+OR\s+IGNORE\s+INTO", "INSERT INTO", text, count=1, flags=re.IGNORECASE)
        text = _before_returning(text, " ON CONFLICT DO NOTHING")
    has_returning = re.search(r"\bRETURNING\b", text, re.IGNORECASE) is not None
    added_returning = False
    if returning and head == "INSERT" and not has_returning:
        table = re.match(r"\s*INSERT\s+INTO\s+([A-Za-z_][A-Za-z0-9_]*)", text, re.IGNORECASE)
        if table and table.group(1) in tables_with_id:
            text += " RETURNING id"
            added_returning = True
    returns_rows = head in ("SELECT", "WITH", "VALUES") or has_returning or added_returning
    return Statement(text, names, positional, returns_rows, added_returning)


_SUBQUERY = re.compile(r"\b(?:FROM|JOIN)\s*\(\s*(?:SELECT|VALUES|WITH)\b", re.IGNORECASE)
# What may follow a subquery in FROM that has no name (else the word is its name).
_AFTER_SUBQUERY = re.compile(
    r"\s*(?:$|[),;]|(?:WHERE|GROUP|ORDER|LIMIT|OFFSET|HAVING|WINDOW|UNION|EXCEPT|INTERSECT|JOIN|LEFT|RIGHT|"
    r"INNER|FULL|CROSS|NATURAL|FOR|RETURNING|ON)\b)", re.IGNORECASE)


def _name_subqueries(text: str) -> str:
    """`FROM (SELECT ...)` without a name, which SQLite takes and PostgreSQL (before 16) refuses,
    gets one."""
    position, count = 0, 0
    while match := _SUBQUERY.search(text, position):
        opening = text.index("(", match.start())
        closing = _closing_parenthesis(text, opening)
        if closing is None:
            break
        position = opening + 1
        if _AFTER_SUBQUERY.match(text, closing + 1):
            count += 1
            text = f"{text[:closing + 1]} AS subquery_{count}{text[closing + 1:]}"
    return text


def _closing_parenthesis(text: str, opening: int) -> int | None:
    depth, index, quote = 0, opening, ""
    while index < len(text):
        char = text[index]
        if quote:
            if char == quote:
                quote = ""
        elif char in ("'", '"'):
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return None


def _before_returning(text: str, clause: str) -> str:
    match = re.search(r"\s+RETURNING\b", text, re.IGNORECASE)
    if match:
        return text[:match.start()] + clause + text[match.start():]
    return text.rstrip().rstrip(";") + clause


def _placeholders(sql: str) -> tuple[str, list[str], int]:
    """`?` and `:name` outside quotes become `$n`; a name used twice is one parameter."""
    out: list[str] = []
    names: list[str] = []
    count = 0
    index, length = 0, len(sql)
    while index < length:
        char = sql[index]
        if char in ("'", '"'):
            end = index + 1
            while end < length:
                if sql[end] == char:
                    if end + 1 < length and sql[end + 1] == char:
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[index:end + 1])
            index = end + 1
            continue
        if char == "?":
            count += 1
            out.append(f"${count}")
            index += 1
            continue
        if char == ":" and index + 1 < length and sql[index + 1] == ":":  # a cast: ::text
            out.append("::")
            index += 2
            continue
        if char == ":" and (match := _WORD.match(sql, index + 1)) and (index == 0 or not sql[index - 1].isalnum()):
            name = match.group(0)
            if name not in names:
                names.append(name)
            out.append(f"${names.index(name) + 1}")
            index = match.end()
            continue
        out.append(char)
        index += 1
    if names and count:
        raise ValueError("a statement mixes ? and :name placeholders")
    return "".join(out), names, count or len(names)


class PostgresDatabase:
    """The repositories' database on a PostgreSQL server, shared by every worker."""

    dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool, url: str, tables_with_id: frozenset[str]) -> None:
        self.pool = pool
        self.url = url
        self.path = url
        self._tables_with_id = tables_with_id
        self._lock = asyncio.Lock()
        self._owner: contextvars.ContextVar[tuple[asyncio.Task, Connection] | None] = contextvars.ContextVar(
            f"pg_transaction_owner_{id(self)}", default=None)

    @classmethod
    async def open(cls, url: str, connections: int = 10) -> "PostgresDatabase":
        try:
            pool = await asyncpg.create_pool(url, min_size=1, max_size=connections, init=_prepare_connection,
                                             command_timeout=60)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            raise PostgresUnavailable(safe_url(url), _reason(error)) from None
        database = cls(pool, url, frozenset())
        try:
            await database._migrate()
            rows = await database.fetch_all(
                "SELECT table_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND column_name = 'id'")
            database._tables_with_id = frozenset(row[0] for row in rows)
        except BaseException:
            await pool.close()
            raise
        return database

    async def _migrate(self) -> None:
        """PostgreSQL's migrations (storage/migrations/postgresql/), each once, even when several
        workers start at the same moment: the first takes a lock, the others find them applied."""
        async with self.pool.acquire() as raw:
            async with raw.transaction():
                await raw.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
                await raw.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version BIGINT PRIMARY KEY, name TEXT NOT NULL,"
                    " applied_at TEXT NOT NULL DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'))")
                applied = {row[0] for row in await raw.fetch("SELECT version FROM schema_migrations")}
                for version, name, sql in migrations("postgresql"):
                    if version in applied:
                        continue
                    log.info("applying migration %s", name)
                    await raw.execute(sql)
                    await raw.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, name)

    async def close(self) -> None:
        await self.pool.close()

    def _current(self) -> Connection | None:
        owner = self._owner.get()
        if owner is not None and owner[0] is asyncio.current_task():
            return owner[1]
        return None

    @asynccontextmanager
    async def transaction(self, shared: bool = False) -> AsyncIterator[Connection]:
        """One transaction, committed at the end or rolled back on any exception. `shared`
        runs beside others (the delivery engine's, written for it); else it runs alone, as on
        SQLite. A transaction opened inside another one of the same task joins it."""
        current = self._current()
        if current is not None:
            yield current
            return
        if shared:
            async with self._transaction(exclusive=False) as connection:
                yield connection
            return
        # One exclusive transaction at a time per worker: the others wait here, not on a
        # pooled connection each.
        async with self._lock:
            async with self._transaction(exclusive=True) as connection:
                yield connection

    @asynccontextmanager
    async def _transaction(self, exclusive: bool) -> AsyncIterator[Connection]:
        async with self.pool.acquire() as raw:
            connection = Connection(raw, self._tables_with_id)
            token = self._owner.set((asyncio.current_task(), connection))  # type: ignore[arg-type]
            try:
                async with raw.transaction():
                    if exclusive:
                        await raw.execute("SELECT pg_advisory_xact_lock($1)", WRITER_LOCK)
                    yield connection
            finally:
                self._owner.reset(token)

    async def fetch_one(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> Record | None:
        rows = await self.fetch_all(sql, parameters)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> list[Record]:
        current = self._current()
        if current is not None:
            return await (await current.execute(sql, parameters)).fetchall()
        async with self.pool.acquire() as raw:
            cursor = await Connection(raw, self._tables_with_id).execute(sql, parameters)
            return await cursor.fetchall()

    async def run_script(self, statements: Sequence[str]) -> None:
        """Statements as they are (a migration's DDL), in one transaction."""
        async with self.pool.acquire() as raw:
            async with raw.transaction():
                for statement in statements:
                    await raw.execute(statement)


async def _prepare_connection(raw: asyncpg.Connection) -> None:
    # SUM and AVG of integers are NUMERIC: read as the int or float SQLite gives.
    await raw.set_type_codec("numeric", encoder=str, decoder=_number, schema="pg_catalog", format="text")


def _number(text: str) -> int | float:
    return int(text) if re.fullmatch(r"-?\d+", text) else float(text)


def safe_url(url: str) -> str:
    """The address without its password, for a message an operator may paste anywhere."""
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def _reason(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
