"""Organisations and their API keys."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

from backend.database import fetch_point, transaction, utcnow
from backend.errors import AppError
from backend.keys import sha256_hex
from backend.orgs.tables import ApiKey, Organisation

DEMO_ORGANISATION = "演示汽车销售服务有限公司"
KEY_PREFIX = "sl_"


@dataclass(frozen=True)
class Caller:
    """Who is calling the API: the organisation behind a valid key."""

    organisation_id: uuid.UUID
    organisation_name: str
    api_key_id: uuid.UUID


async def create_organisation(name: str) -> Organisation:
    org = Organisation(id=uuid.uuid4(), name=name, created_at=utcnow())
    await org.save()
    return org


async def create_api_key(organisation_id: uuid.UUID, label: str = "") -> str:
    """Create a key and return it in clear, the only time it is ever visible."""
    _, plain = await issue_api_key(organisation_id, label)
    return plain


async def issue_api_key(organisation_id: uuid.UUID, label: str = "") -> tuple[ApiKey, str]:
    """A new key: the stored row (hash only) and the key in clear, shown this once."""
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id=uuid.uuid4(),
        organisation=organisation_id,
        label=label,
        prefix=plain[:10],
        key_hash=sha256_hex(plain),
        created_at=utcnow(),
    )
    await ApiKey.insert(key)
    return key, plain


async def list_api_keys(organisation_id: uuid.UUID) -> list[ApiKey]:
    return list(
        await ApiKey.objects()
        .where(ApiKey.organisation == organisation_id)
        .order_by(ApiKey.created_at)
    )


async def revoke_api_key(caller: Caller, key_id: uuid.UUID) -> ApiKey:
    """Revoke one of the caller's organisation's keys; the last working key cannot go."""
    async with transaction():
        key = (
            await ApiKey.objects()
            .where((ApiKey.id == key_id) & (ApiKey.organisation == caller.organisation_id))
            .first()
        )
        if key is None:
            raise AppError("not_found", "找不到该 API 密钥。", "No such API key.", 404)
        if key.revoked_at is None:
            active = await ApiKey.count().where(
                (ApiKey.organisation == caller.organisation_id) & ApiKey.revoked_at.is_null()
            )
            if active <= 1:
                raise AppError(
                    "last_api_key",
                    "这是最后一个有效的 API 密钥，请先创建新密钥再吊销它。",
                    "This is the last working API key: create a new one before revoking it.",
                    409,
                )
            key.revoked_at = utcnow()
            await ApiKey.update({ApiKey.revoked_at: key.revoked_at}).where(ApiKey.id == key.id)
    return key


_KEY_SQL = (
    'SELECT k."id", k."organisation", o."name", k."revoked_at" FROM "api_key" k '
    'JOIN "organisation" o ON o."id" = k."organisation" WHERE k."key_hash" = {}'
)


async def authenticate(plain_key: str) -> Caller | None:
    """The caller behind a Bearer key: one indexed look-up by the key's SHA-256.

    Keys carry 256 random bits, so an unsalted SHA-256 is as good as a keyed hash and
    needs no per-key salt to find the row. Nothing is cached: a revoked key is refused
    on its next request. Read on the kept connection (``database.fetch_point``), so an API
    request opens no connection of its own."""
    if not plain_key.startswith(KEY_PREFIX) or len(plain_key) > 200:
        return None
    rows = await fetch_point(_KEY_SQL, sha256_hex(plain_key))
    if not rows or rows[0]["revoked_at"] is not None:
        return None
    row = rows[0]
    return Caller(
        organisation_id=_uuid(row["organisation"]),
        organisation_name=row["name"],
        api_key_id=_uuid(row["id"]),
    )


def _uuid(value: uuid.UUID | str) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


async def seed_demo(key_file: Path) -> str:
    """Make sure the demo organisation exists and `key_file` holds a working key for it."""
    if key_file.exists():
        existing = key_file.read_text().strip()
        caller = await authenticate(existing)
        if caller is not None and caller.organisation_name == DEMO_ORGANISATION:
            return existing
    async with transaction():
        org = await Organisation.objects().where(Organisation.name == DEMO_ORGANISATION).first()
        if org is None:
            org = await create_organisation(DEMO_ORGANISATION)
        plain = await create_api_key(org.id, label="demo")
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(plain + "\n")
    key_file.chmod(0o600)
    return plain
