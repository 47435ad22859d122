"""A webhook receiver on loopback, the way a customer should write one: verify the
signature, then process each event id once (deliveries are at least once)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    def __init__(self) -> None:
        self.hits: list[dict[str, Any]] = []  # every request, duplicates included
        self.processed: Counter[str] = Counter()  # event id -> times processed (after dedupe)
        self.statuses: list[int] = []  # answers to give, in order; then 200
        self.hang_on_hit: int | None = None  # process this hit, then hold the answer
        self.hanging = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                with receiver._lock:
                    receiver.hits.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body}
                    )
                    n = len(receiver.hits)
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    if status == 200:
                        event_id = json.loads(body)["id"]
                        if event_id not in receiver.processed:  # the dedupe
                            receiver.processed[event_id] += 1
                hang = n == receiver.hang_on_hit
                if hang:
                    receiver.hanging.set()
                    receiver.release.wait(60)
                with contextlib.suppress(OSError):  # a killed sender hung up
                    self.send_response(status)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def events(self, path: str | None = None) -> list[dict[str, Any]]:
        return [json.loads(h["body"]) for h in self.hits if path is None or h["path"] == path]

    async def wait_for(self, predicate: Any, timeout: float = 60) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            assert loop.time() < deadline, f"receiver: condition not met; hits={len(self.hits)}"
            await asyncio.sleep(0.05)
