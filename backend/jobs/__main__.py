"""`python -m backend.jobs`: a standalone worker that runs the same handlers as the web
process. Start as many as needed (on PostgreSQL they share the queue safely); SIGTERM or
Ctrl-C lets the jobs in hand finish. Set SIGNLINK_RUN_WORKER=false on the web processes
when dedicated workers run the queue.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from datetime import timedelta

from backend.config import get_settings
from backend.logging_setup import configure_logging

logger = logging.getLogger("signlink.jobs")


async def serve() -> None:
    from backend.app import register_background_work
    from backend.database import prepare_sqlite
    from backend.documents.rendering import use_render_processes
    from backend.jobs.services import registered_kinds, worker_loop

    settings = get_settings()
    # A dedicated worker renders contracts in parallel processes (batches).
    use_render_processes(os.cpu_count() or 1)
    await prepare_sqlite()
    register_background_work(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    logger.info("worker started", extra={"fields": {"kinds": registered_kinds()}})
    await worker_loop(
        poll_seconds=0.5, lease=timedelta(seconds=settings.job_lease_seconds), stop=stop
    )
    logger.info("worker stopped")


def main(argv: list[str]) -> int:
    if argv:
        print("usage: python -m backend.jobs", file=sys.stderr)
        return 2
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
