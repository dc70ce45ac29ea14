"""Progress of long CLI phases on stderr: a tqdm bar on a terminal, plain lines (count, rate, ETA) otherwise.

Lines suit logs and pipes (CI, `nohup`, a service manager): one when a phase starts, one at most every
`every` seconds, one when it ends.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


class LineProgress:
    """Counts work and prints "scoring: 5,000 / 12,000 (42%), 850/s, ETA 8 s" lines to a stream."""

    def __init__(self, desc: str, total: int | None = None, every: float = 10.0, stream: TextIO | None = None,
                 unit: str = "models"):  # fmt: skip
        self.desc, self.total, self.every, self.unit = desc, total, every, unit
        self.stream = stream or sys.stderr
        self.done = 0
        self.started = self.last = time.monotonic()
        self.closed = False
        if total is not None:
            self.set_total(total)

    def set_total(self, total: int) -> None:
        """Record (or correct) how much work the phase holds."""
        self.total = total
        self._print(f"{self.desc}: {total:,} {self.unit} to do")

    def update(self, count: int) -> None:
        """Record `count` more done; print a line when `every` seconds have passed since the last."""
        self.done += count
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self._print(self.line(now))

    def line(self, now: float | None = None) -> str:
        """The current state as one line."""
        elapsed = max(1e-9, (now or time.monotonic()) - self.started)
        rate = self.done / elapsed
        if self.total:
            left = max(0, self.total - self.done)
            eta = f", ETA {_duration(left / rate)}" if rate > 0 and left else ""
            return (f"{self.desc}: {self.done:,} / {self.total:,} {self.unit} ({100 * self.done / self.total:.0f}%), "
                    f"{rate:,.0f}/s{eta}")  # fmt: skip
        return f"{self.desc}: {self.done:,} {self.unit}, {rate:,.0f}/s"

    def close(self) -> None:
        """Print the final line (once), if anything was done."""
        if self.closed:
            return
        self.closed = True
        if self.done:
            elapsed = time.monotonic() - self.started
            self._print(f"{self.desc}: {self.done:,} {self.unit} in {_duration(elapsed)} "
                        f"({self.done / max(elapsed, 1e-9):,.0f}/s)")  # fmt: skip

    def _print(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s" if seconds >= 1 else f"{seconds:.1f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


class BarProgress:
    """The same interface over a tqdm bar (terminals)."""

    def __init__(self, desc: str, total: int | None = None, unit: str = "models"):
        from tqdm import tqdm

        # No monitor thread: scoring forks worker processes only from a single-threaded process.
        tqdm.monitor_interval = 0
        self.bar = tqdm(desc=desc, total=total, unit=f" {unit}", file=sys.stderr, leave=False)

    def set_total(self, total: int) -> None:
        """Record how much work the phase holds."""
        self.bar.total = total
        self.bar.refresh()

    def update(self, count: int) -> None:
        """Record `count` more done."""
        self.bar.update(count)

    def close(self) -> None:
        """Remove the bar."""
        self.bar.close()


def reporter(desc: str, total: int | None = None, unit: str = "models") -> LineProgress | BarProgress:
    """A bar on a terminal, lines otherwise."""
    if sys.stderr.isatty():
        return BarProgress(desc, total, unit)
    return LineProgress(desc, total, unit=unit)


def count_lines(path) -> int:
    """Lines in a file, read in 1 MiB blocks (100k snapshot records: a few hundredths of a second)."""
    lines = 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            lines += block.count(b"\n")
    return lines


def echo_card_sync(home, every: float = 30.0) -> threading.Thread:
    """Print the background card sync's progress line to stderr every `every` seconds until it ends.

    For `whichmodel ui` run from a script or a service manager, whose output is read as a log.
    """
    from whichmodel.store.vectors import background_sync

    def loop() -> None:
        last = None
        while True:
            time.sleep(every if last else 2.0)
            state = background_sync(home)
            if state is None:
                continue
            line = state.describe()
            if line != last:
                sys.stderr.write(line + "\n")
                sys.stderr.flush()
                last = line
            if state.finished or state.error:
                return

    thread = threading.Thread(target=loop, name="card-sync-echo", daemon=True)
    thread.start()
    return thread
