"""Reading a request body in ASGI middleware and handing it on to the app unchanged."""

from __future__ import annotations

from typing import Any

from litestar.types import Receive


async def read_body(receive: Receive, limit: int) -> tuple[bytes, bool, bool] | None:
    """(body, more, whole): the body up to the first chunk past ``limit`` bytes, whether
    more follows, and whether that is the whole body within the limit.

    None if the client went away.
    """
    chunks: list[bytes] = []
    size, more = 0, True
    while more and size <= limit:
        message: Any = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        more = bool(message.get("more_body", False))
    body = b"".join(chunks)
    return body, more, not more and len(body) <= limit


def replay_then(body: bytes, more: bool, receive: Receive) -> Any:
    """A receive() that first hands out the body already read, then the real stream."""
    done = False

    async def replay() -> Any:
        nonlocal done
        if not done:
            done = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return replay
