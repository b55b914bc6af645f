"""`make demo`: one line to open, the whole process group stops on SIGTERM and frees the
port, and a second run keeps the first run's data."""

import os
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_is_free(port: int) -> bool:
    """A new server could listen there (as servers do, with SO_REUSEADDR)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def run_demo(directory: Path, port: int) -> str:
    process = subprocess.Popen(["make", "--no-print-directory", "demo", f"DEMO_DIR={directory}", f"DEMO_PORT={port}"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               start_new_session=True, env=dict(os.environ))
    try:
        lines = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if line.startswith("Open "):
                break
        assert lines[-1].strip() == f"Open http://127.0.0.1:{port}/ in your browser", lines
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            page = response.read().decode()
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # every process of the group, not only make, is gone
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the demo's processes were still running 10 seconds after SIGTERM")
        return page
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# `make demo` needs no server: its community is a SQLite file whatever the tests' backend, which
# the test reads as such. The PostgreSQL run would only repeat it.
@pytest.mark.sqlite_only
def test_make_demo_prints_the_address_stops_on_sigterm_and_keeps_its_data(tmp_path):
    port = free_port()
    page = run_demo(tmp_path / "demo", port)
    assert "<label" in page and "Message" in page
    assert port_is_free(port)
    with sqlite3.connect(tmp_path / "demo" / "facilitator.db") as connection:
        first = connection.execute("SELECT count(*) FROM member").fetchone()[0]
        connection.execute("UPDATE member SET name = 'Changed by the first run' WHERE id = 1")
    assert first == 15

    run_demo(tmp_path / "demo", port)
    assert port_is_free(port)
    with sqlite3.connect(tmp_path / "demo" / "facilitator.db") as connection:
        assert connection.execute("SELECT count(*) FROM member").fetchone()[0] == 15
        assert connection.execute("SELECT name FROM member WHERE id = 1").fetchone()[0] == "Changed by the first run"
