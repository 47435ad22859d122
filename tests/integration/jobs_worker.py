"""The real worker command (`python -m backend.jobs`) plus job kinds only tests use.

The web process in the test session does not know these kinds, so it leaves them alone:
a worker claims only the kinds it has handlers for.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path
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


@jobs.handler("test.bulk")  # bulk lane: holds its place until the test releases it
async def bulk(payload: dict[str, Any]) -> None:
    release = Path(payload["release"])
    for _ in range(600):
        if release.exists():
            break
        await asyncio.sleep(0.1)
    with open(payload["path"], "a") as fh:
        fh.write(f"bulk {payload['n']}\n")


@jobs.handler("sms.test")  # prompt lane, by its prefix
async def prompt(payload: dict[str, Any]) -> None:
    with open(payload["path"], "a") as fh:
        fh.write("sms\n")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
