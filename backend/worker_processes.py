"""Process pools whose workers end with the process that started them.

A pool process waits for work forever. If its parent is killed (SIGKILL, OOM), nothing
reaps it and nobody will send it work: it would hold its memory (models, fonts) until the
machine restarts. :func:`spawn_pool` starts workers that look at their parent every two
seconds and exit once it is gone.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

PARENT_CHECK_SECONDS = 2.0


def spawn_pool(workers: int, warm_up: Callable[[], object] | None = None) -> ProcessPoolExecutor:
    """``workers`` spawned processes (not forked: the parent runs an event loop and
    threads), each running ``warm_up`` (a module-level function) first."""
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start,
        initargs=(os.getpid(), warm_up),
    )


def _start(parent: int, warm_up: Callable[[], object] | None) -> None:
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    if warm_up is not None:
        warm_up()


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)
