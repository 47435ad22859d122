"""Revocation of certificates the CA issued: the store, CRLs and OCSP responses.

A :class:`RevocationStore` keeps two registers: the serial numbers the CA issued and the
ones it revoked. OCSP answers ``good`` only for a serial the CA issued and did not revoke,
``revoked`` for a revoked one, and ``unknown`` for a serial it never issued (RFC 6960
§ 2.2), so a forged certificate carrying our issuer name is never vouched for.

:class:`FileRevocationStore`, the default, keeps both in the CA directory: ``revoked.json``
rewritten atomically under an exclusive lock, and ``issued.log``, one hex serial per line,
appended (``O_APPEND``) for every certificate issued; several processes on one machine can
issue, revoke and answer at the same time. Several machines share a database instead: the
store is a protocol, and the application provides a database-backed one. Both answers are
signed by the authority that issued the certificate (no delegated responder), so a
validator needs nothing beyond the chain it already has.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import secrets
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp

__all__ = [
    "CRL_LIFETIME",
    "ISSUED_FILE",
    "OCSP_REQUEST_CONTENT_TYPE",
    "OCSP_RESPONSE_CONTENT_TYPE",
    "REVOCATION_REASONS",
    "REVOKED_FILE",
    "FileRevocationStore",
    "RevocationStore",
    "Revoked",
    "build_crl",
    "build_ocsp_response",
]

logger = logging.getLogger(__name__)

REVOKED_FILE = "revoked.json"
ISSUED_FILE = "issued.log"
CRL_LIFETIME = timedelta(days=1)
OCSP_REQUEST_CONTENT_TYPE = "application/ocsp-request"
OCSP_RESPONSE_CONTENT_TYPE = "application/ocsp-response"
MAX_OCSP_REQUEST_BYTES = 16 * 1024
# A CRL or OCSP answer produced now is dated a little earlier, for validators whose clock
# runs behind, and never before the moment the revocation took effect.
_BACKDATE = timedelta(minutes=5)

REVOCATION_REASONS = {flag.name: flag for flag in x509.ReasonFlags}
"""``cryptography`` reason names, e.g. ``key_compromise``, ``superseded``, ``unspecified``."""

CAPrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class Revoked:
    serial_number: int
    revoked_at: datetime
    reason: x509.ReasonFlags


class RevocationStore(Protocol):
    """Where a CA records the certificates it issued and the ones it revoked.

    Blocking calls (the CA runs in worker threads); each must see every other process's
    writes at once, since an OCSP answer about a certificate issued a moment ago by
    another process must not be ``unknown``.
    """

    def record_issued(self, serial_number: int, not_after: datetime) -> None:
        """Remember a certificate the CA just issued (before it is used)."""

    def is_issued(self, serial_number: int) -> bool:
        """Whether the CA issued a certificate with this serial number."""

    def revoke(
        self, serial_number: int, reason: x509.ReasonFlags, at: datetime | None = None
    ) -> Revoked:
        """Record the revocation; revoking twice keeps the first record."""

    def get(self, serial_number: int) -> Revoked | None:
        """The revocation of this serial number, if any."""

    def all(self) -> dict[int, Revoked]:
        """Every revocation, by serial number."""

    def version(self) -> Hashable:
        """A value that changes whenever a revocation is added (the CRL is cached on it)."""


class FileRevocationStore:
    """Both registers as files in the CA directory: ``revoked.json`` and ``issued.log``."""

    def __init__(self, directory: Path) -> None:
        self._path = directory / REVOKED_FILE
        self._issued_path = directory / ISSUED_FILE
        self._lock_path = directory / ".revoked.lock"
        self._cache: tuple[tuple[int, int], dict[int, Revoked]] | None = None
        self._guard = threading.Lock()
        self._issued: set[int] = set()
        self._issued_read = 0  # bytes of issued.log already in self._issued

    def record_issued(self, serial_number: int, not_after: datetime) -> None:
        # One write of one short line with O_APPEND: concurrent writers never interleave.
        fd = os.open(self._issued_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"{serial_number:032x}\n".encode())
        finally:
            os.close(fd)

    def is_issued(self, serial_number: int) -> bool:
        with self._guard:
            if serial_number not in self._issued:
                self._read_appended()
            return serial_number in self._issued

    def issued(self) -> list[int]:
        """Every serial number in ``issued.log``, oldest first."""
        try:
            lines = self._issued_path.read_bytes()
        except FileNotFoundError:
            return []
        return [int(line, 16) for line in lines[: lines.rfind(b"\n") + 1].split()]

    def _read_appended(self) -> None:
        try:
            with open(self._issued_path, "rb") as handle:
                handle.seek(self._issued_read)
                appended = handle.read()
        except FileNotFoundError:
            return
        complete = appended[: appended.rfind(b"\n") + 1]  # a line being written waits
        self._issued_read += len(complete)
        self._issued.update(int(line, 16) for line in complete.split())

    @property
    def path(self) -> Path:
        return self._path

    def version(self) -> tuple[int, int]:
        """Changes whenever the file is rewritten (mtime in ns, size)."""
        try:
            stat = self._path.stat()
        except FileNotFoundError:
            return (0, 0)
        return (stat.st_mtime_ns, stat.st_size)

    def all(self) -> dict[int, Revoked]:
        """Every revoked serial; re-read only after another process changed the file."""
        version = self.version()
        with self._guard:
            if self._cache is not None and self._cache[0] == version:
                return self._cache[1]
            entries = self._read()
            self._cache = (version, entries)
            return entries

    def get(self, serial_number: int) -> Revoked | None:
        return self.all().get(serial_number)

    def revoke(
        self, serial_number: int, reason: x509.ReasonFlags, at: datetime | None = None
    ) -> Revoked:
        """Record the revocation; revoking twice keeps the first record."""
        with self._locked():
            entries = self._read()
            if serial_number in entries:
                return entries[serial_number]
            entry = Revoked(serial_number, (at or datetime.now(UTC)).astimezone(UTC), reason)
            entries[serial_number] = entry
            self._write(entries)
        return entry

    @contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _read(self) -> dict[int, Revoked]:
        try:
            raw = json.loads(self._path.read_text())
        except FileNotFoundError:
            return {}
        entries = {}
        for serial, item in raw.get("revoked", {}).items():
            entries[int(serial, 16)] = Revoked(
                serial_number=int(serial, 16),
                revoked_at=datetime.fromisoformat(item["revoked_at"]),
                reason=REVOCATION_REASONS.get(item["reason"], x509.ReasonFlags.unspecified),
            )
        return entries

    def _write(self, entries: dict[int, Revoked]) -> None:
        document = {
            "revoked": {
                format(e.serial_number, "032x"): {
                    "revoked_at": e.revoked_at.isoformat(),
                    "reason": e.reason.name,
                }
                for e in sorted(entries.values(), key=lambda e: e.revoked_at)
            }
        }
        temporary = self._path.with_name(f".{self._path.name}.{secrets.token_hex(4)}")
        with open(temporary, "w") as handle:
            json.dump(document, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self._path)


def build_crl(
    issuer: x509.Certificate,
    issuer_key: CAPrivateKey,
    revoked: list[Revoked],
    *,
    now: datetime | None = None,
) -> x509.CertificateRevocationList:
    """A full CRL of ``issuer`` valid for :data:`CRL_LIFETIME`, numbered by its issue time."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(now - _BACKDATE)
        .next_update(now + CRL_LIFETIME)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        # Strictly increasing across processes and restarts without shared state.
        .add_extension(x509.CRLNumber(int(now.timestamp() * 1000)), critical=False)
    )
    for entry in revoked:
        item = (
            x509.RevokedCertificateBuilder()
            .serial_number(entry.serial_number)
            .revocation_date(entry.revoked_at)
        )
        if entry.reason is not x509.ReasonFlags.unspecified:
            item = item.add_extension(x509.CRLReason(entry.reason), critical=False)
        builder = builder.add_revoked_certificate(item.build())
    return builder.sign(issuer_key, hashes.SHA256())


def _key_hash(certificate: x509.Certificate, algorithm: hashes.HashAlgorithm) -> bytes:
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # The hash covers the BIT STRING contents of subjectPublicKey (RFC 6960 § 4.1.1).
    bits = asn1_keys.PublicKeyInfo.load(spki)["public_key"].contents[1:]
    return _digest(algorithm, bits)


def _digest(algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    return hashlib.new(algorithm.name, data).digest()


OcspAuthority = tuple[x509.Certificate, CAPrivateKey, dict[int, Revoked], Callable[[int], bool]]
"""(certificate, key, its revoked serials, whether it issued a serial)."""


def build_ocsp_response(
    request_der: bytes,
    authorities: list[OcspAuthority],
    *,
    now: datetime | None = None,
) -> bytes:
    """Answer a DER OCSP request about a certificate one of ``authorities`` issued.

    The status is ``revoked`` if revoked, ``good`` if the authority issued the serial,
    ``unknown`` otherwise.

    Never raises for client input: malformed requests get ``malformedRequest``, requests
    about another CA's certificates ``unauthorized``.
    """
    try:
        if not request_der or len(request_der) > MAX_OCSP_REQUEST_BYTES:
            raise ValueError("empty or oversized OCSP request")
        request = ocsp.load_der_ocsp_request(request_der)
        algorithm = request.hash_algorithm
        name_hash, key_hash, serial = (
            request.issuer_name_hash,
            request.issuer_key_hash,
            request.serial_number,
        )
        nonce = _nonce(request)
    except Exception:  # cryptography raises ValueError, UnsupportedAlgorithm, ...
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    try:
        for certificate, key, revoked, issued in authorities:
            own_name = _digest(algorithm, certificate.subject.public_bytes())
            if own_name != name_hash or _key_hash(certificate, algorithm) != key_hash:
                continue
            entry = revoked.get(serial)
            return _response(
                certificate,
                key,
                entry if entry is not None else None if issued(serial) else _UNKNOWN,
                (name_hash, key_hash, serial),
                algorithm,
                nonce,
                now,
            )
        return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
    except Exception:  # an HTTP endpoint must always answer
        logger.exception("the OCSP responder failed to answer a request")
        return _unsuccessful(ocsp.OCSPResponseStatus.INTERNAL_ERROR)


def _nonce(request: ocsp.OCSPRequest) -> bytes | None:
    try:
        return request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        return None


_UNKNOWN = "unknown"


def _response(
    issuer: x509.Certificate,
    key: CAPrivateKey,
    revoked: Revoked | str | None,
    cert_id: tuple[bytes, bytes, int],
    algorithm: hashes.HashAlgorithm,
    nonce: bytes | None,
    now: datetime | None,
) -> bytes:
    now = (now or datetime.now(UTC)).astimezone(UTC)
    name_hash, key_hash, serial = cert_id
    entry = revoked if isinstance(revoked, Revoked) else None
    builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
        issuer_name_hash=name_hash,
        issuer_key_hash=key_hash,
        serial_number=serial,
        algorithm=algorithm,
        cert_status=(
            ocsp.OCSPCertStatus.REVOKED
            if entry
            else ocsp.OCSPCertStatus.UNKNOWN
            if revoked == _UNKNOWN
            else ocsp.OCSPCertStatus.GOOD
        ),
        this_update=now - _BACKDATE,
        next_update=now + CRL_LIFETIME,
        revocation_time=entry.revoked_at if entry else None,
        revocation_reason=(
            entry.reason if entry and entry.reason is not x509.ReasonFlags.unspecified else None
        ),
    )
    builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, issuer)
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    response = builder.sign(key, hashes.SHA256())
    return response.public_bytes(serialization.Encoding.DER)


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(
        serialization.Encoding.DER
    )
