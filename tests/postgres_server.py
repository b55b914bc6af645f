"""A throw-away PostgreSQL server for the tests: Debian's `postgresql` binaries, a cluster in a
temporary folder, started as an unprivileged user (PostgreSQL refuses to run as root), stopped
and deleted at the end. No Docker, nothing outside the folder.

Each test gets its own empty database, cloned from a migrated template (a copy of a few
files, much faster than running the migrations again)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import asyncpg

TEMPLATE = "facilitator_template"


class PostgresMissing(RuntimeError):
    pass


def binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda path: int(path.split("/")[4]))
    if not found:
        raise PostgresMissing("PostgreSQL is not installed: `make test` installs Debian's postgresql package")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self, folder: Path, port: int, user: str) -> None:
        self.folder = folder
        self.port = port
        self.user = user
        self._databases = 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    async def new_database(self) -> str:
        """An empty, migrated database of its own."""
        self._databases += 1
        name = f"test_{os.getpid()}_{self._databases}"
        connection = await asyncpg.connect(self.url())
        try:
            # A copy of the template's files: half the time of PostgreSQL 15's default, which
            # writes the copy through the write-ahead log (with fsync off, its checkpoint is cheap).
            await connection.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE} STRATEGY = FILE_COPY")
        finally:
            await connection.close()
        return self.url(name)

    async def prepare_template(self) -> None:
        from storage.postgres import PostgresDatabase

        connection = await asyncpg.connect(self.url())
        try:
            await connection.execute(f"CREATE DATABASE {TEMPLATE}")
        finally:
            await connection.close()
        database = await PostgresDatabase.open(self.url(TEMPLATE))
        await database.close()


def _as_user(command: list[str], user: str) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *command]


@contextmanager
def running_server() -> Iterator[Server]:
    bin_folder = binaries()
    root = os.geteuid() == 0
    user = "postgres" if root else pwd.getpwuid(os.geteuid()).pw_name
    folder = Path(tempfile.mkdtemp(prefix="facilitator-pg-"))
    if root:
        shutil.chown(folder, user, user)
    data = folder / "data"
    port = _free_port()
    env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")
    subprocess.run(_as_user([str(bin_folder / "initdb"), "-D", str(data), "-U", user, "-A", "trust", "-E", "UTF8",
                             "--no-sync"], user), check=True, capture_output=True, env=env)
    options = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={folder}"
               " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
               " -c shared_buffers=64MB")
    subprocess.run(_as_user([str(bin_folder / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                             str(folder / "server.log"), "-w", "start"], user), check=True, capture_output=True,
                   env=env)
    try:
        yield Server(folder, port, user)
    finally:
        subprocess.run(_as_user([str(bin_folder / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], user),
                       capture_output=True, env=env)
        for _ in range(50):
            if not (data / "postmaster.pid").exists():
                break
            time.sleep(0.1)
        shutil.rmtree(folder, ignore_errors=True)
