"""The storage backend of the run (see tests/storage_backend.py): on PostgreSQL a throw-away
server for the session, and tests about the SQLite file itself left out; on SQLite, tests
of several workers sharing a server (they run in the PostgreSQL run) left out."""

from __future__ import annotations

import asyncio

import pytest

from tests import storage_backend
from tests.postgres_server import running_server


# Files that take minutes (several workers broadcasting at Telegram's rate, a crash and a
# restart): first, so that with files shared out over processes they do not start last.
LONG_FIRST = ("test_workers_broadcast.py", "test_workers_leader.py", "test_crash_resume.py", "test_properties.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    other = "postgresql_only" if not storage_backend.ON_POSTGRES else "sqlite_only"
    kept = [item for item in items if item.get_closest_marker(other) is None]
    left_out = [item for item in items if item.get_closest_marker(other) is not None]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
    kept.sort(key=lambda item: item.path.name not in LONG_FIRST)  # stable: the rest keep their order
    items[:] = kept


@pytest.fixture(scope="session", autouse=True)
def storage_server():  # type: ignore[no-untyped-def]
    if not storage_backend.ON_POSTGRES:
        yield None
        return
    with running_server() as server:
        asyncio.run(server.prepare_template())
        storage_backend.use_server(server)
        yield server
        storage_backend.use_server(None)


@pytest.fixture(autouse=True)
def fresh_databases():  # type: ignore[no-untyped-def]
    storage_backend.forget_databases()
    yield
