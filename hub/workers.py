"""Forked worker processes: when a process may fork them, how many, and how a worker ends with its parent.

The rule, shared by every pool whichmodel starts: fork only from a process that runs no other thread (another
thread, a UI's say, may hold a lock that the child's copy would keep forever), only where `fork` exists, and
one worker per core this process may run on.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
import time


def worker_count(workers: int | None) -> int:
    """`workers` itself (at least 1), or with None one per core this process may run on."""
    if workers is not None:
        return max(1, workers)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def forkable() -> bool:
    """Whether this process may fork workers: the platform has `fork` and no other thread is running."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def start_worker(parent: int) -> None:
    """Set up a freshly forked worker, which ends once `parent` is gone.

    The inherited objects go to the garbage collector's permanent generation: a worker only adds short-lived
    ones, and full collections would otherwise walk everything the parent held, again and again.
    """
    gc.freeze()
    threading.Thread(target=_exit_with_parent, args=(parent,), name="parent-watch", daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """End this worker once its parent is gone (killed).

    A forked worker holds the parent's open files (its ingest lock among them), and waiting on a task queue
    whose write end it also holds, it would never notice the parent's death on its own.
    """
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)
