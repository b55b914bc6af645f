"""The storage backend of the run (see tests/storage_backend.py): on PostgreSQL a throw-away
server for the session, and tests about the SQLite file itself left out; on SQLite, tests
of several workers sharing a server (they run in the PostgreSQL run) left out."""

from __future__ import annotations

import asyncio

import pytest

from tests import storage_backend
from tests.postgres_server import running_server


# The files that take longest, longest first (as measured on PostgreSQL): with files shared
# out over processes, none starts near the end and keeps one process busy while the others
# wait. (pyproject.toml keeps xdist from reordering files by their number of tests.)
LONG_FIRST = ("test_workers_broadcast.py", "test_properties.py", "test_telegram.py", "test_slack.py",
              "test_platform_shapes.py", "test_events.py", "test_email.py", "test_platform_faults.py",
              "test_whatsapp.py", "test_crash_resume.py", "test_security.py", "test_dashboard_browser.py",
              "test_closing.py", "test_flow.py", "test_facilitators_chat.py", "test_workers_deadline.py",
              "test_workers_leader.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    other = "postgresql_only" if not storage_backend.ON_POSTGRES else "sqlite_only"
    kept = [item for item in items if item.get_closest_marker(other) is None]
    left_out = [item for item in items if item.get_closest_marker(other) is not None]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
    rank = {name: place for place, name in enumerate(LONG_FIRST)}
    kept.sort(key=lambda item: rank.get(item.path.name, len(LONG_FIRST)))  # stable: the rest keep their order
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
