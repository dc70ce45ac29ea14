"""One writer per data directory: an advisory file lock held for a whole ingest (facts, scores, card index).

Two ingests at once on one data directory raced on new model ids (`UNIQUE models.id`) and embedded the same
card chunks twice. The lock is an OS lock on a file in the data directory (`fcntl.flock`): it is released
when the process exits, however it exits, so a killed ingest never leaves it stuck.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock, as before
    fcntl = None  # type: ignore[assignment]

INGEST_LOCK = "ingest.lock"


class LockTimeout(Exception):
    """Another process held the lock for longer than the caller would wait."""


@contextmanager
def data_lock(
    home: Path, name: str = INGEST_LOCK, *, timeout_s: float = 3600.0, say: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold `home/name` exclusively; wait (saying so once) while another process holds it.

    Raises:
        LockTimeout: still held by another process after `timeout_s` seconds.
    """
    home.mkdir(parents=True, exist_ok=True)
    path = home / name
    with path.open("a+") as handle:
        if fcntl is not None:
            _acquire(handle, path, timeout_s, say)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _acquire(handle, path: Path, timeout_s: float, say: Callable[[str], None] | None) -> None:
    deadline = time.monotonic() + timeout_s
    told = False
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        if not told and say:
            holder = path.read_text().strip() or "another process"
            say(f"another ingest (pid {holder}) is writing to {path.parent}; waiting for it to finish")
            told = True
        if time.monotonic() >= deadline:
            raise LockTimeout(f"{path.parent} is locked by another ingest ({path}); gave up after {timeout_s:.0f} s")
        time.sleep(0.2)
