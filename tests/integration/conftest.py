from __future__ import annotations

import json
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from backend.config import get_settings


@pytest.fixture(scope="session")
async def migrated() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from backend.database import engine, is_sqlite

    if not is_sqlite():
        # A throwaway PostgreSQL database: start from an empty schema.
        await engine().run_ddl("DROP SCHEMA public CASCADE")
        await engine().run_ddl("CREATE SCHEMA public")
    result = await run_forwards(app_name="all")
    assert result.success, result.message


@pytest.fixture(scope="session")
async def app(migrated: None) -> Any:
    from backend.app import create_app

    return create_app()


@pytest.fixture(scope="session")
async def client(app: Any) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as c:
        yield c


@pytest.fixture(scope="session")
async def api_key(migrated: None) -> str:
    from backend.orgs.services import seed_demo

    return await seed_demo(get_settings().data_dir / "demo-api-key")


@pytest.fixture
def auth(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


class Outbox:
    """Reads the SMS outbox file the way a person reads their phone."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        rows = [json.loads(line) for line in self.path.read_text().splitlines() if line]
        return [r for r in rows if to is None or r["to"] == to]

    def last(self, to: str) -> dict[str, Any]:
        found = self.messages(to)
        assert found, f"no SMS to {to}"
        return found[-1]

    def link_for(self, to: str) -> str:
        texts = [m["text"] for m in self.messages(to) if "/s/" in m["text"]]
        assert texts, f"no signing link sent to {to}"
        match = re.search(r"https?://\S+?/s/([A-Za-z0-9_-]+)", texts[-1])
        assert match
        return f"/s/{match.group(1)}"

    def code_for(self, to: str) -> str:
        match = re.search(r"验证码为(\d{6})", self.last(to)["text"])
        assert match, "last SMS carries no code"
        return match.group(1)


@pytest.fixture(scope="session")
def outbox() -> Outbox:
    return Outbox(get_settings().sms_outbox_path)


@pytest.fixture(scope="session")
def pdfsig() -> str:
    path = shutil.which("pdfsig")
    assert path, "pdfsig (poppler-utils) is required: run `make test`, which installs it"
    return path
