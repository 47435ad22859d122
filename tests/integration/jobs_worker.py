"""The real worker command (`python -m backend.jobs`) plus two job kinds only tests use.

The web process in the test session does not know these kinds, so it leaves them alone:
a worker claims only the kinds it has handlers for.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from typing import Any

from backend.jobs import services as jobs
from backend.jobs.__main__ import main


@jobs.handler("test.deliver")
async def deliver(payload: dict[str, Any]) -> None:
    from backend.webhooks.services import deliver

    await deliver(uuid.UUID(payload["delivery_id"]), allow_private=True)


@jobs.handler("test.record")
async def record(payload: dict[str, Any]) -> None:
    await asyncio.sleep(payload.get("seconds", 0.02))
    with open(payload["path"], "a") as fh:
        fh.write(f"{payload['n']} {os.getpid()}\n")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
