"""Real-browser fixtures: the real server in a subprocess, and Debian's Chromium.

The server runs exactly as `make run` would (migrate, seed, uvicorn) but on a free port and
with a throwaway data dir, so the SMS outbox, the CA and the database belong to this run.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = REPO / "var" / "screenshots"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_env(data_dir: Path, base_url: str) -> dict[str, str]:
    env = dict(os.environ)
    # `env -u DATABASE_URL` unless the caller really points the suite at PostgreSQL.
    if not env.get("DATABASE_URL"):
        env.pop("DATABASE_URL", None)
    env.update(
        SIGNLINK_DATA_DIR=str(data_dir),
        SIGNLINK_PUBLIC_URL=base_url,
        SIGNLINK_SMS_PROVIDER="outbox",  # the tests read the codes from the outbox file
        SIGNLINK_SECURE_COOKIES="false",  # plain http on 127.0.0.1
        SIGNLINK_RUN_WORKER="true",  # the dealer's SMS goes out through the job worker
        SIGNLINK_LOG_FORMAT="text",
        SIGNLINK_LOG_LEVEL=env.get("SIGNLINK_E2E_LOG_LEVEL", "WARNING"),
        PICCOLO_CONF="backend.piccolo_conf",
        PYTHONUNBUFFERED="1",
    )
    return env


@dataclass
class Server:
    base_url: str
    data_dir: Path
    api_key: str
    log_path: Path

    @property
    def outbox_path(self) -> Path:
        return self.data_dir / "sms-outbox.jsonl"

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=30,
        )

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # -- the SMS outbox, read the way a person reads their phone --

    def messages(self, to: str) -> list[dict[str, Any]]:
        try:
            text = self.outbox_path.read_text()
        except FileNotFoundError:
            return []
        rows = []
        for line in text.splitlines():
            with contextlib.suppress(ValueError):  # a line still being written
                rows.append(json.loads(line))
        return [r for r in rows if r.get("to") == to]

    def wait_for_link(self, to: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while True:
            for m in reversed(self.messages(to)):
                found = re.search(r"https?://\S+?/s/[A-Za-z0-9_-]+", m["text"])
                if found:
                    return found.group(0)
            assert time.monotonic() < deadline, (
                f"no signing SMS to {to} within {timeout}s\n{self.log_tail()}"
            )
            time.sleep(0.05)

    def wait_for_code(self, to: str, after: int, timeout: float = 15) -> str:
        """The 6-digit code of the first SMS to `to` beyond the first `after` messages."""
        deadline = time.monotonic() + timeout
        while True:
            for m in self.messages(to)[after:]:
                found = re.search(r"验证码为?\D{0,3}(\d{6})", m["text"])
                if found:
                    return found.group(1)
            assert time.monotonic() < deadline, (
                f"no SMS code to {to} within {timeout}s\n{self.log_tail()}"
            )
            time.sleep(0.05)


def _run(cmd: list[str], env: dict[str, str], log: Path) -> None:
    with log.open("ab") as out:
        done = subprocess.run(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{log.read_text(errors='replace')}"


# Package scope (tests/e2e has an __init__.py, so it is a real package): the server and the
# browser stop as soon as the browser tests are done, before other packages run. With
# DATABASE_URL set the integration tests reset that same database, and a server still running
# would drain their job outbox; and sync Playwright marks its event loop as running in this
# thread while it lives, which would stop pytest-asyncio's tests that follow.
@pytest.fixture(scope="package")
def server() -> Iterator[Server]:
    with serve() as srv:
        yield srv


@contextlib.contextmanager
def serve(extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    """A server of its own, with ``extra_env`` settings (e.g. a test-only face challenge)."""
    data_dir = Path(tempfile.mkdtemp(prefix="signlink-e2e-"))
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {**_server_env(data_dir, base_url), **(extra_env or {})}
    log = data_dir / "server.log"
    py = sys.executable
    _run([py, "-m", "backend.manage", "migrate"], env, log)
    _run([py, "-m", "backend.manage", "seed"], env, log)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                py,
                "-m",
                "uvicorn",
                "backend.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    srv = Server(base_url, data_dir, "", log)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"server exited with {proc.returncode}:\n{srv.log_tail()}"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, f"no /healthz within 60 s:\n{srv.log_tail()}"
            time.sleep(0.1)
        srv.api_key = (data_dir / "demo-api-key").read_text().strip()
        assert srv.api_key, "seed wrote an empty API key"
        yield srv
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="package")
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Any) -> Iterator[Any]:
    # Never skip: a missing browser must fail the run so that nobody mistakes it for a pass.
    assert os.path.exists(CHROMIUM), (
        f"{CHROMIUM} is missing: `make test` installs it (scripts/system-packages.sh, "
        "Debian package `chromium`); never `playwright install`"
    )
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture(scope="package")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
