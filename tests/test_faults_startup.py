"""Start-up faults a person can cause: a storage folder that cannot be created or written, a
storage path that is a folder, a file that is not a database, a full disk, a second bot on
the same database, a PostgreSQL server that cannot be reached or refuses the password. Each
ends within seconds with one line naming the path (or the server, without its password) and
the problem, exit code 2, no traceback and no hang. Also: the database and the demo's config
(it holds a secret) are readable by their owner only, and a demo whose first seeding stopped
part-way seeds again."""

import asyncio
import errno
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest

from bot.app import App, load_settings
from bot.demo_setup import prepare_demo
from storage.database import Database
from tests.read_only import read_only_folder
from tests.storage_backend import rows
from tests.test_make_demo import free_port
from tests.webchat_network import webchat_settings

ROOT = Path(__file__).resolve().parent.parent
AS_ROOT = os.geteuid() == 0  # root reads and writes whatever the permissions say

CONFIG = """
[community]
name = "Faults Network"
languages = ["en"]

[storage]
path = "{path}"

[webchat]
enabled = true
host = "127.0.0.1"
port = {port}
secret = "a-test-secret-of-thirty-two-characters"

[logging]
level = "{level}"
"""


def write_config(tmp_path: Path, storage: Path, level: str = "INFO") -> Path:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(path=storage, port=free_port(), level=level), encoding="utf-8")
    return config


def run_cli(*arguments: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *arguments], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=dict(os.environ))


def assert_one_line(result: subprocess.CompletedProcess, *words: str) -> str:
    """Exit code 2 and one line on stderr, holding every word given."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def start_and_time(config: Path) -> tuple[subprocess.CompletedProcess, float]:
    began = time.monotonic()
    result = run_cli("run", "--config", str(config))
    return result, time.monotonic() - began


# --- run ------------------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_a_storage_path_that_is_a_folder_stops_the_start_with_one_line(tmp_path):
    storage = tmp_path / "data"
    storage.mkdir()
    result, seconds = start_and_time(write_config(tmp_path, storage))
    assert_one_line(result, str(storage), "is a folder")
    assert seconds < 10


@pytest.mark.sqlite_only
def test_a_file_that_is_not_a_database_stops_the_start_with_one_line(tmp_path):
    storage = tmp_path / "bot.db"
    storage.write_text("These are someone's notes, not a database. " * 20, encoding="utf-8")
    result, seconds = start_and_time(write_config(tmp_path, storage))
    assert_one_line(result, str(storage), "not a SQLite database")
    assert seconds < 10
    assert storage.read_text(encoding="utf-8").startswith("These are someone's notes")


@pytest.mark.sqlite_only
def test_a_storage_folder_that_cannot_be_created_stops_the_start_with_one_line(tmp_path):
    (tmp_path / "blocker").write_text("a file where the folder should be", encoding="utf-8")
    storage = tmp_path / "blocker" / "data" / "bot.db"
    result, seconds = start_and_time(write_config(tmp_path, storage))
    assert_one_line(result, str(storage), "cannot be created")
    assert seconds < 10


@pytest.mark.sqlite_only
def test_a_storage_folder_that_cannot_be_written_stops_the_start_with_one_line(tmp_path):
    with read_only_folder(tmp_path / "readonly") as folder:
        result, _ = start_and_time(write_config(tmp_path, folder / "bot.db"))
    assert_one_line(result, str(folder / "bot.db"), "cannot be written")


def a_database_nobody_may_change(folder: Path) -> None:
    storage = folder / "bot.db"
    sqlite3.connect(storage).close()
    storage.chmod(0o000)  # for anyone but root; root finds its folder read-only


@pytest.mark.sqlite_only
def test_a_database_file_that_cannot_be_read_and_written_stops_the_start_with_one_line(tmp_path):
    with read_only_folder(tmp_path / "readonly", prepare=a_database_nobody_may_change) as folder:
        result, _ = start_and_time(write_config(tmp_path, folder / "bot.db"))
    assert_one_line(result, str(folder / "bot.db"), "cannot be read and written")


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KiB file system: the migrations do not fit. Needs the right to mount (root)."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)],
                             capture_output=True) if AS_ROOT else None
    if mounted is None or mounted.returncode != 0:
        pytest.skip("cannot mount a small file system here")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


@pytest.mark.sqlite_only
def test_a_full_disk_stops_the_start_with_one_line(tmp_path, tiny_disk):
    storage = tiny_disk / "bot.db"
    # WARNING: the migrations' progress lines, logged before the disk fills, are not errors.
    result, seconds = start_and_time(write_config(tmp_path, storage, level="WARNING"))
    assert_one_line(result, str(storage), "the disk is full")
    assert seconds < 10


FULL_DISK = """
import errno, sqlite3, sys
from storage.database import Database

async def full(self):
    raise {error}

Database.migrate = full
from bot.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.sqlite_only
@pytest.mark.parametrize("error", [
    'sqlite3.OperationalError("database or disk is full")',
    'OSError(errno.ENOSPC, "No space left on device")',
], ids=["sqlite-full", "enospc"])
def test_a_full_disk_as_sqlite_or_the_system_says_it_stops_the_start_with_one_line(tmp_path, error):
    storage = tmp_path / "bot.db"
    config = write_config(tmp_path, storage)
    began = time.monotonic()
    result = subprocess.run([sys.executable, "-c", FULL_DISK.format(error=error), "run", "--config", str(config)],
                            capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert_one_line(result, str(storage), "the disk is full")
    assert time.monotonic() - began < 10


@pytest.mark.sqlite_only
def test_a_second_bot_on_the_same_database_stops_with_one_line(tmp_path):
    storage = tmp_path / "bot.db"
    config = write_config(tmp_path, storage)
    first = subprocess.Popen([sys.executable, "-m", "bot", "run", "--config", str(config)], cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for line in first.stderr:  # the bot logs once it is running
            if "is running; stop it" in line:
                break
        else:
            pytest.fail(f"the first bot did not start: exit code {first.wait()}")
        result = run_cli("run", "--config", str(config))
        assert_one_line(result, "another bot is running on", str(storage))
        assert first.poll() is None
    finally:
        first.terminate()
        first.wait(timeout=15)
    assert first.returncode == 0


# --- a PostgreSQL server that cannot be used -----------------------------------------------

PASSWORD = "s3cret-not-for-logs"


def write_server_config(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.replace('path = "{path}"', f'url = "{url}"').format(port=free_port(), level="INFO"),
                      encoding="utf-8")
    return config


def assert_password_kept_out(result: subprocess.CompletedProcess) -> None:
    assert PASSWORD not in result.stderr and PASSWORD not in result.stdout


def test_an_unreachable_postgresql_server_stops_the_start_with_one_line(tmp_path):
    url = f"postgresql://facilitator:{PASSWORD}@127.0.0.1:{free_port()}/community"  # nobody listens there
    result, seconds = start_and_time(write_server_config(tmp_path, url))
    assert_one_line(result, "facilitator:***@127.0.0.1", "/community", "Connect call failed")
    assert_password_kept_out(result)
    assert seconds < 10


@pytest.fixture
def role_with_a_password(storage_server):  # type: ignore[no-untyped-def]
    """A role of the test server that must give its password (the server trusts the others)."""
    assert storage_server is not None, "runs in the PostgreSQL run only (postgresql_only)"
    rules = storage_server.folder / "data" / "pg_hba.conf"
    trusting = rules.read_text(encoding="utf-8")

    async def reload(sql: str) -> None:
        connection = await asyncpg.connect(storage_server.url())
        try:
            await connection.execute(sql)
            await connection.execute("SELECT pg_reload_conf()")
        finally:
            await connection.close()

    async def password_asked() -> bool:
        try:
            await (await asyncpg.connect(url.format(password="a-wrong-one"))).close()
        except asyncpg.InvalidPasswordError:
            return True
        return False

    url = f"postgresql://careful:{{password}}@127.0.0.1:{storage_server.port}/postgres"
    rules.write_text("host all careful 127.0.0.1/32 scram-sha-256\n" + trusting, encoding="utf-8")
    asyncio.run(reload("DROP ROLE IF EXISTS careful; CREATE ROLE careful LOGIN PASSWORD 'the-right-one'"))
    try:
        for _ in range(50):  # the server reads its rules again in the background
            if asyncio.run(password_asked()):
                break
            time.sleep(0.1)
        yield url
    finally:
        rules.write_text(trusting, encoding="utf-8")
        asyncio.run(reload("DROP ROLE IF EXISTS careful"))


@pytest.mark.postgresql_only
def test_a_wrong_postgresql_password_stops_the_start_with_one_line(tmp_path, role_with_a_password):
    result, seconds = start_and_time(write_server_config(tmp_path, role_with_a_password.format(password=PASSWORD)))
    assert_one_line(result, "careful:***@127.0.0.1", "password authentication failed")
    assert_password_kept_out(result)
    assert seconds < 10


# --- demo -----------------------------------------------------------------------------------


def test_the_demo_in_a_folder_that_cannot_be_created_stops_with_one_line(tmp_path):
    (tmp_path / "blocker").write_text("a file where the folder should be", encoding="utf-8")
    result = run_cli("demo", "--dir", str(tmp_path / "blocker" / "demo"), "--port", str(free_port()))
    assert_one_line(result, str(tmp_path / "blocker" / "demo"))


def test_the_demo_on_a_file_that_is_not_a_database_stops_with_one_line(tmp_path):
    demo = tmp_path / "demo"
    demo.mkdir()
    (demo / "facilitator.db").write_bytes(os.urandom(8192))
    result = run_cli("demo", "--dir", str(demo), "--port", str(free_port()))
    assert_one_line(result, str(demo / "facilitator.db"), "not a SQLite database")


# --- files readable by their owner only -----------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.sqlite_only
async def test_the_database_and_its_wal_and_shm_are_readable_by_the_owner_only(tmp_path):
    storage = tmp_path / "data" / "bot.db"
    old_mask = os.umask(0o022)  # the usual mask: files 0644 unless made otherwise
    try:
        database = await Database.open(storage)
        try:
            async with database.transaction() as connection:
                await connection.execute("INSERT INTO meta (key, value) VALUES ('written', 'yes')")
            written = [storage, storage.with_name("bot.db-wal"), storage.with_name("bot.db-shm")]
            assert {path.name: mode(path) for path in written} == {path.name: 0o600 for path in written}
        finally:
            await database.close()
    finally:
        os.umask(old_mask)


def test_the_demo_config_holding_a_secret_is_readable_by_the_owner_only(tmp_path):
    old_mask = os.umask(0o022)
    try:
        config = prepare_demo(tmp_path / "demo", 8080)
    finally:
        os.umask(old_mask)
    assert "secret = " in config.read_text(encoding="utf-8")
    assert mode(config) == 0o600


# --- a demo whose first seeding stopped part-way --------------------------------------------


def count(storage: Path, sql: str) -> int:
    [(number,)] = rows(storage, sql)
    return number


def count_in_demo(storage: Path, sql: str) -> int:
    """The demo keeps its community in a SQLite file, whatever the tests run on."""
    with sqlite3.connect(storage) as connection:
        return connection.execute(sql).fetchone()[0]


async def test_a_seeding_that_failed_part_way_leaves_nothing_and_seeds_again_once(tmp_path):
    settings = webchat_settings(tmp_path)
    app = await App.build(settings)
    try:
        async def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
            raise OSError(errno.ENOSPC, "No space left on device")

        app.archive.add = broken  # type: ignore[method-assign]  # a step after the members are written
        with pytest.raises(OSError):
            await app.seed_demo()
    finally:
        await app.stop()
    assert count(settings.storage_path, "SELECT count(*) FROM member") == 0

    for _ in range(2):  # the next start seeds; the one after keeps what is there
        app = await App.build(settings)
        try:
            await app.seed_demo()
        finally:
            await app.stop()
        assert count(settings.storage_path, "SELECT count(*) FROM member") == 15
        assert count(settings.storage_path, "SELECT count(*) FROM consolidated_reply") == 2


def test_the_demo_seeds_a_database_left_empty_by_a_first_run_stopped_part_way(tmp_path):
    demo = tmp_path / "demo"
    port = free_port()
    config = prepare_demo(demo, port)
    storage = load_settings(config).storage_path
    # What a first run killed while seeding leaves: the migrated database, the seeding rolled back.
    async def migrated() -> None:
        await (await Database.open(storage)).close()

    asyncio.run(migrated())
    assert count_in_demo(storage, "SELECT count(*) FROM member") == 0

    process = subprocess.Popen([sys.executable, "-m", "bot", "demo", "--dir", str(demo), "--port", str(port)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for line in process.stdout:
            if line.startswith("Open "):
                break
        else:
            pytest.fail(f"the demo did not start: exit code {process.wait()}")
    finally:
        process.terminate()
        process.wait(timeout=15)
    assert count_in_demo(storage, "SELECT count(*) FROM member") == 15
