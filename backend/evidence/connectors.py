"""Depositing a day's Merkle root with an external notary or judicial-blockchain service.

One protocol, :class:`NotaryConnector`; :class:`LocalFileNotary` writes each deposit as a
JSON file into a directory (a WORM share, or a folder another system ships on). Remote
services (公证处 notary APIs, 司法区块链 judicial chains such as 北京互联网法院天平链 or
杭州互联网法院司法区块链) need a contract and credentials with the operator; each gets a
class implementing the protocol that returns a receipt only when the service has
confirmed the deposit and raises :class:`DepositError` otherwise. None is bundled: a
connector that pretends to deposit would be worse than none.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class AnchorRecord:
    """What is deposited: the day's root and the TSA token over it."""

    day: str
    root: str
    size: int
    token: bytes
    gen_time: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "signlink-anchor/v1",
            "day": self.day,
            "root": self.root,
            "size": self.size,
            "timestamp_token": base64.b64encode(self.token).decode(),
            "gen_time": self.gen_time.astimezone(UTC).isoformat(),
        }


@dataclass(frozen=True)
class DepositReceipt:
    connector: str
    reference: str
    """Where the deposit can be found again: a path, a transaction id, a certificate no."""
    deposited_at: datetime
    detail: dict[str, Any] = field(default_factory=dict)


class DepositError(Exception):
    """The service did not confirm the deposit; the job retries later."""


@runtime_checkable
class NotaryConnector(Protocol):
    name: str

    async def deposit(self, anchor: AnchorRecord) -> DepositReceipt: ...


class LocalFileNotary:
    """Writes ``<day>.json`` into ``directory``; never overwrites a different deposit."""

    name = "local-file"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def deposit(self, anchor: AnchorRecord) -> DepositReceipt:
        self.directory.mkdir(parents=True, exist_ok=True)
        body = json.dumps(anchor.to_json(), ensure_ascii=False, indent=2).encode()
        target = self.directory / f"{anchor.day}.json"
        if target.exists():
            if target.read_bytes() != body:
                raise DepositError(f"{target} already holds a different root for {anchor.day}")
        else:
            temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
            temporary.write_bytes(body)
            try:
                os.link(temporary, target)
            except FileExistsError:
                if target.read_bytes() != body:
                    raise DepositError(f"{target} was written by another process") from None
            finally:
                temporary.unlink(missing_ok=True)
        return DepositReceipt(
            connector=self.name,
            reference=str(target),
            deposited_at=datetime.now(UTC),
            detail={"sha256": hashlib.sha256(body).hexdigest()},
        )
