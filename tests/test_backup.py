"""`facilitator backup` and `facilitator restore` against a real bot process: a backup taken
while the bot runs and writes is consistent and has every row, is readable by its owner
only, and is not written over without --force; a restore is refused while a bot runs on the
database, and refuses a file that is not a backup of this app; after the bot stops, a restore
brings the data back and the bot starts on it."""

import os
import sqlite3
import stat
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from bot.demo_setup import prepare_demo
from tests.test_make_demo import free_port

ROOT = Path(__file__).resolve().parent.parent

# Backups copy the SQLite file (a PostgreSQL server is backed up with its own tools: pg_dump).
pytestmark = pytest.mark.sqlite_only


def facilitator(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *arguments], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, env=dict(os.environ))


def refused_with_one_line(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for word in words:
        assert word in lines[0], lines[0]


@contextmanager
def running_demo(directory: Path, port: int) -> Iterator[subprocess.Popen]:
    """The real bot, in demo mode, until the block ends; then stopped as Ctrl-C would."""
    process = subprocess.Popen([sys.executable, "-m", "bot", "demo", "--dir", str(directory), "--port", str(port)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for line in process.stdout:
            if line.startswith("Open "):
                break
        else:
            pytest.fail(f"the demo did not start: exit code {process.wait()}")
        yield process
    finally:
        process.terminate()
        process.wait(timeout=15)


def rows(database: Path, sql: str) -> list[tuple]:
    connection = sqlite3.connect(database)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


class Writer(threading.Thread):
    """Another writer on the live database while the backup runs (as the bot would be)."""

    def __init__(self, database: Path) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.stop = threading.Event()
        self.written = 0

    def run(self) -> None:
        connection = sqlite3.connect(self.database, timeout=10, isolation_level=None)
        try:
            while not self.stop.is_set():
                connection.execute("INSERT INTO meta (key, value) VALUES (?, 'written while backing up')",
                                   (f"test:{self.written}",))
                self.written += 1
        finally:
            connection.close()


def test_backup_while_running_then_restore_after_stopping(tmp_path):
    demo, port = tmp_path / "demo", free_port()
    config = str(prepare_demo(demo, port))
    database = demo / "facilitator.db"
    backup = tmp_path / "backups" / "one.db"

    with running_demo(demo, port):
        with sqlite3.connect(database) as connection:
            connection.execute("UPDATE member SET name = 'Kept by the backup' WHERE id = 1")
        writer = Writer(database)
        writer.start()
        try:
            result = facilitator("backup", "--config", config, "--out", str(backup))
        finally:
            writer.stop.set()
            writer.join()
        assert result.returncode == 0, result.stderr
        assert writer.written > 0

        assert stat.S_IMODE(backup.stat().st_mode) == 0o600
        assert rows(backup, "PRAGMA integrity_check") == [("ok",)]
        assert rows(backup, "SELECT count(*) FROM member") == [(15,)]
        assert rows(backup, "SELECT name FROM member WHERE id = 1") == [("Kept by the backup",)]
        assert rows(backup, "PRAGMA journal_mode") == [("delete",)]  # one self-contained file
        assert not list(backup.parent.glob(".*partial"))

        refused_with_one_line(facilitator("backup", "--config", config, "--out", str(backup)),
                              str(backup), "--force")
        refused_with_one_line(facilitator("restore", str(backup), "--config", config),
                              "another bot is running on", str(database))
        assert rows(database, "SELECT name FROM member WHERE id = 1") == [("Kept by the backup",)]

    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE member SET name = 'Changed after the backup' WHERE id = 1")
        connection.execute("DELETE FROM identity WHERE member_id > 10")
    result = facilitator("restore", str(backup), "--config", config)
    assert result.returncode == 0, result.stderr
    assert rows(database, "SELECT name FROM member WHERE id = 1") == [("Kept by the backup",)]
    assert rows(database, "SELECT count(*) FROM identity") == [(15,)]
    assert stat.S_IMODE(database.stat().st_mode) == 0o600

    with running_demo(demo, port):  # the bot runs on what was restored, without seeding again
        pass
    assert rows(database, "SELECT count(*) FROM member") == [(15,)]
    assert rows(database, "SELECT name FROM member WHERE id = 1") == [("Kept by the backup",)]


def test_backup_writes_over_a_file_only_with_force(tmp_path):
    demo = tmp_path / "demo"
    config = str(prepare_demo(demo, free_port()))
    with sqlite3.connect(demo / "facilitator.db") as connection:
        connection.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    out = tmp_path / "backup.db"
    out.write_text("an older backup", encoding="utf-8")
    refused_with_one_line(facilitator("backup", "--config", config, "--out", str(out)), str(out))
    assert out.read_text(encoding="utf-8") == "an older backup"
    result = facilitator("backup", "--config", config, "--out", str(out), "--force")
    assert result.returncode == 0, result.stderr
    assert rows(out, "SELECT count(*) FROM schema_migrations") == [(0,)]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_backup_without_a_database_says_so(tmp_path):
    config = str(prepare_demo(tmp_path / "demo", free_port()))
    refused_with_one_line(facilitator("backup", "--config", config, "--out", str(tmp_path / "b.db")),
                          "no database at")
    assert not (tmp_path / "b.db").exists()


@pytest.mark.parametrize("content, problem", [
    (b"These are someone's notes, not a database. " * 100, "not a SQLite database"),
    (None, "not a backup of facilitator-bot"),  # a SQLite database of another program
])
def test_restore_refuses_a_file_that_is_not_a_backup_of_this_app(tmp_path, content, problem):
    demo = tmp_path / "demo"
    config = str(prepare_demo(demo, free_port()))
    candidate = tmp_path / "candidate.db"
    if content is None:
        with sqlite3.connect(candidate) as connection:
            connection.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
    else:
        candidate.write_bytes(content)
    refused_with_one_line(facilitator("restore", str(candidate), "--config", config), str(candidate), problem)
    assert not (demo / "facilitator.db").exists()


def test_restore_refuses_a_missing_file(tmp_path):
    config = str(prepare_demo(tmp_path / "demo", free_port()))
    refused_with_one_line(facilitator("restore", str(tmp_path / "nope.db"), "--config", config), "no file at")
