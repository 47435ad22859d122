"""The process's certificate authority, loaded once (web process and standalone worker).

On one machine (SQLite) the CA keeps its registers of issued and revoked certificates as
files in the PKI directory. With ``DATABASE_URL`` set (several app processes and workers,
possibly on several machines) they live in the database instead:
:class:`DatabaseRevocationStore`, tables in :mod:`backend.revocation.tables`. Revocations
and issued serials already in the files are copied into the database on first load.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine, Hashable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from cryptography import x509

from backend import signing
from backend.config import Settings
from backend.database import fetch, utcnow
from backend.revocation.tables import IssuedCertificate, RevokedCertificate
from backend.signing.revocation import REVOCATION_REASONS, FileRevocationStore, Revoked

__all__ = ["DatabaseRevocationStore", "load_ca"]

log = logging.getLogger(__name__)

_loaded: dict[Path, signing.CertificateAuthority] = {}
_T = TypeVar("_T")
_IMPORT_BATCH = 500


async def load_ca(settings: Settings) -> signing.CertificateAuthority:
    if settings.pki_dir not in _loaded:
        store = None
        if settings.database_url:
            store = DatabaseRevocationStore()
            await asyncio.to_thread(store.import_files, settings.pki_dir)
        options: dict[str, Any] = {
            "public_url": settings.public_url,
            "key_algorithm": settings.ca_key_algorithm,
            "revocations": store,
        }
        _loaded[settings.pki_dir] = await asyncio.to_thread(
            signing.CertificateAuthority.load_or_create,
            settings.pki_dir,
            settings.master_key_bytes(),
            **options,
        )
    return _loaded[settings.pki_dir]


def _hex(serial_number: int) -> str:
    return format(serial_number, "032x")


def _moment(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _Portal:
    """An event loop on a thread of its own, so blocking callers can run Piccolo queries.

    The signing core calls its store from worker threads (and the CA is a sync library);
    each call here waits for one query on this loop, which also keeps its own read
    connection (``database.fetch``).
    """

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        # Daemon: a pending query never keeps the process alive at exit.
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="pki-store", daemon=True
        )
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("the PKI store cannot be called from its own loop")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=60)


class DatabaseRevocationStore:
    """:class:`backend.signing.revocation.RevocationStore` on the application's database.

    Every call is one query, so every process sees every other's issuances and
    revocations at once. Blocking: call it from a worker thread, as the CA's callers do.
    """

    def __init__(self) -> None:
        self._portal = _Portal()

    def record_issued(self, serial_number: int, not_after: datetime) -> None:
        row = IssuedCertificate(serial=_hex(serial_number), not_after=not_after, issued_at=utcnow())
        self._portal.run(IssuedCertificate.insert(row).on_conflict(action="DO NOTHING").run())

    def is_issued(self, serial_number: int) -> bool:
        rows = self._portal.run(
            fetch(
                "SELECT 1 AS found FROM pki_issued_certificate WHERE serial = {}",
                _hex(serial_number),
            )
        )
        return bool(rows)

    def revoke(
        self, serial_number: int, reason: x509.ReasonFlags, at: datetime | None = None
    ) -> Revoked:
        row = RevokedCertificate(
            serial=_hex(serial_number),
            revoked_at=(at or utcnow()).astimezone(UTC),
            reason=reason.name,
        )
        self._portal.run(RevokedCertificate.insert(row).on_conflict(action="DO NOTHING").run())
        entry = self.get(serial_number)  # the first revocation wins
        assert entry is not None
        return entry

    def get(self, serial_number: int) -> Revoked | None:
        rows = self._portal.run(
            fetch(
                "SELECT serial, revoked_at, reason FROM pki_revoked_certificate WHERE serial = {}",
                _hex(serial_number),
            )
        )
        return _revoked(rows[0]) if rows else None

    def all(self) -> dict[int, Revoked]:
        rows = self._portal.run(
            fetch("SELECT serial, revoked_at, reason FROM pki_revoked_certificate")
        )
        return {entry.serial_number: entry for entry in map(_revoked, rows)}

    def version(self) -> Hashable:
        (row,) = self._portal.run(
            fetch("SELECT COUNT(*) AS n, MAX(revoked_at) AS last FROM pki_revoked_certificate")
        )
        return (row["n"], str(row["last"]))

    def import_files(self, directory: Path) -> None:
        """Copy ``revoked.json`` and ``issued.log`` of a PKI directory (idempotent).

        Revocations are copied at every start (a few); issued serials only when the newest
        one in the log is not in the database yet, i.e. once, when a deployment moves.
        """
        files = FileRevocationStore(directory)
        for entry in files.all().values():
            self.revoke(entry.serial_number, entry.reason, entry.revoked_at)
        issued = files.issued()
        if not issued or self.is_issued(issued[-1]):
            return  # nothing to copy, or copied by an earlier start (the log only grows)
        now = utcnow()  # their validity end is not in the file; not_after is informative
        for start in range(0, len(issued), _IMPORT_BATCH):
            rows = [
                IssuedCertificate(serial=_hex(serial), not_after=now, issued_at=now)
                for serial in issued[start : start + _IMPORT_BATCH]
            ]
            self._portal.run(IssuedCertificate.insert(*rows).on_conflict(action="DO NOTHING").run())
        log.info("copied %d issued certificate serials into the database", len(issued))


def _revoked(row: dict[str, Any]) -> Revoked:
    return Revoked(
        serial_number=int(row["serial"], 16),
        revoked_at=_moment(row["revoked_at"]),
        reason=REVOCATION_REASONS.get(row["reason"], x509.ReasonFlags.unspecified),
    )
