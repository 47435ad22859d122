"""Pool workers (renders, face checks) end with the process that started them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

STARTER = textwrap.dedent(
    """
    import os, time
    from backend.worker_processes import spawn_pool

    pool = spawn_pool(2)
    print(*sorted({pool.submit(os.getpid).result() for _ in range(8)}), flush=True)
    time.sleep(600)
    """
)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie has exited; only its parent (now init) has to reap it


def test_pool_workers_exit_when_their_parent_is_killed() -> None:
    starter = subprocess.Popen([sys.executable, "-c", STARTER], stdout=subprocess.PIPE, text=True)
    try:
        assert starter.stdout is not None
        workers = [int(pid) for pid in starter.stdout.readline().split()]
        assert workers and all(_running(pid) for pid in workers)
    finally:
        os.kill(starter.pid, signal.SIGKILL)  # no shutdown, no atexit: as the OOM killer does
        starter.wait()
    deadline = time.monotonic() + 30
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_running(pid) for pid in workers), "pool workers outlived their parent"
