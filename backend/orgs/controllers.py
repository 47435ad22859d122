"""HTTP for an organisation's API keys: list, create (rotate), revoke."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post

from backend.errors import FieldProblem, validation_error
from backend.orgs import members, schemas, services, urls
from backend.orgs.services import Caller
from backend.orgs.tables import ApiKey, Member


def _out(key: ApiKey) -> schemas.ApiKeyOut:
    return schemas.ApiKeyOut(
        id=str(key.id),
        label=key.label,
        prefix=key.prefix,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )


class ApiKeyApi(Controller):
    tags = ("keys",)
    security = ({"BearerAuth": []},)

    @get(urls.API_KEYS, summary="The organisation's API keys (never the keys themselves)")
    async def list_keys(self, caller: Caller) -> list[schemas.ApiKeyOut]:
        return [_out(k) for k in await services.list_api_keys(caller.organisation_id)]

    @post(urls.API_KEYS, status_code=201, summary="Create an API key (rotate: create, then revoke)")
    async def create(self, data: schemas.ApiKeyIn, caller: Caller) -> schemas.ApiKeyCreated:
        if len(data.label) > 100:
            raise validation_error(
                [FieldProblem("label", "名称不超过 100 个字符。", "At most 100 characters.")]
            )
        key, plain = await services.issue_api_key(caller.organisation_id, data.label)
        return schemas.ApiKeyCreated(
            id=str(key.id), label=key.label, prefix=key.prefix, created_at=key.created_at, key=plain
        )

    @post(urls.API_KEY_REVOKE, status_code=200, summary="Revoke an API key at once")
    async def revoke(self, key_id: uuid.UUID, caller: Caller) -> schemas.ApiKeyOut:
        return _out(await services.revoke_api_key(caller, key_id))


def _member_out(member: Member) -> schemas.MemberOut:
    return schemas.MemberOut(
        id=str(member.id),
        name=member.name,
        phone=member.phone_masked,
        roles=member.roles.split(","),
        created_at=member.created_at,
    )


class MemberApi(Controller):
    tags = ("members",)
    security = ({"BearerAuth": []},)

    @get(urls.API_MEMBERS, summary="The organisation's members (phone login on /app)")
    async def list_members(self, caller: Caller) -> list[schemas.MemberOut]:
        return [_member_out(m) for m in await members.list_members(caller.organisation_id)]

    @post(
        urls.API_MEMBERS,
        status_code=201,
        summary="Add a member: admin, sender, stamper, reviewer, verifier",
    )
    async def add(self, data: schemas.MemberIn, caller: Caller) -> schemas.MemberOut:
        return _member_out(await members.add_member(caller, data.name, data.phone, data.roles))
