"""A fresh organisation per test module, so webhook endpoints and lists stay its own."""

from __future__ import annotations

import uuid

from backend.orgs.services import create_api_key, create_organisation


async def new_org_auth(name: str) -> dict[str, str]:
    org = await create_organisation(f"{name}-{uuid.uuid4().hex[:6]}")
    key = await create_api_key(org.id, label="test")
    return {"Authorization": f"Bearer {key}"}
