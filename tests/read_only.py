"""A folder nobody may write to, root included: permissions do not stop root, so for root it
is a small file system of its own, mounted read-only once `prepare` has put what it needs
there; for anyone else, the folder's permissions."""

from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator


@contextmanager
def read_only_folder(folder: Path, prepare: Callable[[Path], None] = lambda folder: None) -> Iterator[Path]:
    folder.mkdir()
    if os.geteuid() != 0:
        prepare(folder)
        folder.chmod(0o500)
        try:
            yield folder
        finally:
            folder.chmod(0o700)
        return
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], check=True)
    try:
        prepare(folder)
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)
