"""The project's own certificate authority: a root, an issuing CA, a time-stamping authority
and one-use signer certificates.

Layout of the CA directory (private keys are PKCS#8, encrypted with the master key, mode 0600)::

    root.pem  root.key.pem  issuing.pem  issuing.key.pem  tsa.pem  tsa.key.pem
    revoked.json, issued.log (revoked and issued serial numbers, see
    :mod:`backend.signing.revocation`; a database can hold them instead)

Creation is first-writer-wins: each file is written to a private temporary name and then
hard-linked into place, which fails if another process got there first. The process that
loses the race for ``root.key.pem`` throws its material away and loads the winner's. The TSA
pair is created the same way, after the issuing CA is on disk (``tsa.key.pem`` is the claim,
``tsa.pem`` marks completion), so directories made before the TSA existed get one on load.

Keys are ECDSA P-256 unless the CA is created with ``key_algorithm="rsa-2048"`` or
``"rsa-3072"`` (root, issuing CA and TSA; an existing directory keeps the keys it has).
Event certificates always get a fresh P-256 key: an RSA key per signature would cost
~0.1 s. Given the public base URL, every certificate issued carries a CRL distribution
point and an AIA (OCSP responder, caIssuers) that point at the app's ``/pki/`` routes.

Rotation: issue a new CA into a new directory and point ``SIGNLINK_DATA_DIR``/pki at it;
documents signed earlier keep validating against the old root, which validators keep in
their trust list (and B-LTA documents carry the old chain's validation data).
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal, TypeAlias, get_args

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from backend.signing.errors import MasterKeyError, SigningError
from backend.signing.intent import SigningIntent
from backend.signing.revocation import (
    REVOCATION_REASONS,
    CAPrivateKey,
    FileRevocationStore,
    RevocationStore,
    Revoked,
    build_crl,
    build_ocsp_response,
)
from backend.signing.tsa import TimeStampAuthority

__all__ = [
    "KEY_ALGORITHMS",
    "CAPrivateKey",
    "CertificateAuthority",
    "EventCertificate",
    "KeyAlgorithm",
    "PkiUrls",
    "serial_hex",
]

KeyAlgorithm: TypeAlias = Literal["ecdsa-p256", "rsa-2048", "rsa-3072"]
KEY_ALGORITHMS: tuple[str, ...] = get_args(KeyAlgorithm)

ROOT_CERT = "root.pem"
ROOT_KEY = "root.key.pem"
ISSUING_CERT = "issuing.pem"
ISSUING_KEY = "issuing.key.pem"
TSA_CERT = "tsa.pem"
TSA_KEY = "tsa.key.pem"
# Written in this order; the first file is the claim, the last one marks completion.
_CREATION_ORDER = (ROOT_KEY, ROOT_CERT, ISSUING_KEY, ISSUING_CERT)
_TSA_CREATION_ORDER = (TSA_KEY, TSA_CERT)

ROOT_LIFETIME = timedelta(days=365 * 20 + 5)
ISSUING_LIFETIME = timedelta(days=365 * 10 + 2)
EVENT_LIFETIME = timedelta(days=1)
TSA_LIFETIME = timedelta(days=365 * 5 + 1)
# Tolerates clocks of validators that run slightly behind ours.
CLOCK_SKEW = timedelta(minutes=5)
_WAIT_FOR_PEER_SECONDS = 30.0
CRL_REFRESH = timedelta(hours=1)

SIGNER_ORGANISATION = "SignLink signer"
ORGANISATION_UNIT = "SignLink company seal"
# id-kp-documentSigning (RFC 9336) is deliberately not set: with no EKU at all every
# PDF reader accepts the certificate for signing.


_NOT_PRINTABLE = re.compile(r"[^A-Za-z0-9 '()+,\-./:=?]")


def printable(value: str) -> str:
    """X.520 serialNumber is a PrintableString: map anything else (``_``, CJK) to ``-``."""
    return _NOT_PRINTABLE.sub("-", value)[:64] or "-"


def serial_hex(serial_number: int) -> str:
    """A certificate serial number as lower-case hex, zero-padded to 128 bits."""
    return format(serial_number, "032x")


@dataclass(frozen=True)
class PkiUrls:
    """Where the app publishes the CA's certificates and revocation data."""

    base: str
    """Public base URL without a trailing slash, e.g. ``https://sign.example.com``."""

    @property
    def crl(self) -> str:
        return f"{self.base}/pki/crl"

    @property
    def root_crl(self) -> str:
        return f"{self.base}/pki/root.crl"

    @property
    def ocsp(self) -> str:
        return f"{self.base}/pki/ocsp"

    @property
    def issuing_certificate(self) -> str:
        return f"{self.base}/pki/issuing.cer"

    @property
    def root_certificate(self) -> str:
        return f"{self.base}/pki/root.cer"

    def issued_by_issuing_ca(self) -> list[x509.ExtensionType]:
        """CRL distribution point and AIA for certificates the issuing CA signs."""
        return [
            _crl_distribution_point(self.crl),
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP,
                        x509.UniformResourceIdentifier(self.ocsp),
                    ),
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(self.issuing_certificate),
                    ),
                ]
            ),
        ]

    def issued_by_root(self) -> list[x509.ExtensionType]:
        return [
            _crl_distribution_point(self.root_crl),
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(self.root_certificate),
                    )
                ]
            ),
        ]


def _crl_distribution_point(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints(
        [
            x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(url)],
                relative_name=None,
                reasons=None,
                crl_issuer=None,
            )
        ]
    )


def _urls(public_url: str | None) -> PkiUrls | None:
    return PkiUrls(public_url.rstrip("/")) if public_url else None


def _with_extensions(
    builder: x509.CertificateBuilder, extensions: list[x509.ExtensionType]
) -> x509.CertificateBuilder:
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    return builder


@dataclass(frozen=True)
class EventCertificate:
    """A short-lived certificate and key issued for exactly one signing event."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey
    chain: tuple[x509.Certificate, ...]
    """Issuing CA first, then the root."""
    # Organisation certificates (company seals) are EventCertificates as well: one key
    # per sealing, destroyed after it, the organisation named in the subject.

    @property
    def serial_hex(self) -> str:
        return serial_hex(self.certificate.serial_number)

    def chain_der(self) -> tuple[bytes, ...]:
        """The certificate, then its chain, as DER: what a signature embeds."""
        return tuple(
            c.public_bytes(serialization.Encoding.DER) for c in (self.certificate, *self.chain)
        )


@dataclass(frozen=True)
class _Authority:
    certificate: x509.Certificate
    private_key: CAPrivateKey


class CertificateAuthority:
    """Root and issuing CA loaded from (or created in) a directory."""

    def __init__(
        self,
        root: _Authority,
        issuing: _Authority,
        tsa: _Authority,
        *,
        revocations: RevocationStore | None = None,
        public_url: str | None = None,
    ) -> None:
        self._root = root
        self._issuing = issuing
        self._tsa = TimeStampAuthority(
            tsa.certificate, tsa.private_key, chain=(issuing.certificate, root.certificate)
        )
        self._revocations = revocations
        self._urls = _urls(public_url)
        self._crl_cache: dict[str, tuple[Hashable, datetime, bytes]] = {}

    @property
    def root_certificate(self) -> x509.Certificate:
        return self._root.certificate

    @property
    def issuing_certificate(self) -> x509.Certificate:
        return self._issuing.certificate

    @property
    def tsa(self) -> TimeStampAuthority:
        """The RFC 3161 time-stamping authority whose certificate this CA issued."""
        return self._tsa

    @property
    def urls(self) -> PkiUrls | None:
        """Where certificates point for revocation data; ``None`` without a public URL."""
        return self._urls

    def root_pem(self) -> bytes:
        return self._root.certificate.public_bytes(serialization.Encoding.PEM)

    def issuing_der(self) -> bytes:
        """The issuing CA certificate as DER (what AIA caIssuers points at)."""
        return self._issuing.certificate.public_bytes(serialization.Encoding.DER)

    def root_der(self) -> bytes:
        return self._root.certificate.public_bytes(serialization.Encoding.DER)

    # -- revocation -------------------------------------------------------------------

    def revoke(
        self, serial: int | str, reason: str = "unspecified", *, at: datetime | None = None
    ) -> None:
        """Revoke a certificate this CA issued (serial as int or hex, as in ``serial_hex``).

        ``reason`` is a ``cryptography.x509.ReasonFlags`` name, e.g. ``key_compromise``,
        ``superseded``, ``cessation_of_operation``. The CRL and OCSP answer it at once.
        """
        number = int(serial, 16) if isinstance(serial, str) else serial
        if reason not in REVOCATION_REASONS or reason == "remove_from_crl":
            raise ValueError(
                f"unknown revocation reason {reason!r}; use one of "
                f"{', '.join(sorted(set(REVOCATION_REASONS) - {'remove_from_crl'}))}"
            )
        if number == self._root.certificate.serial_number:
            raise ValueError("the root certificate cannot be revoked; replace the CA instead")
        self._store().revoke(number, REVOCATION_REASONS[reason], at)

    def is_revoked(self, serial: int | str) -> bool:
        number = int(serial, 16) if isinstance(serial, str) else serial
        return self._store().get(number) is not None

    def crl_der(self) -> bytes:
        """The issuing CA's current CRL (DER), valid for a day; re-signed hourly or on change."""
        return self._cached_crl("issuing", self._issuing, self._revoked_by(self._issuing))

    def root_crl_der(self) -> bytes:
        """The root's CRL (DER): covers the issuing CA certificate."""
        return self._cached_crl("root", self._root, self._revoked_by(self._root))

    def ocsp_response(self, request_der: bytes) -> bytes:
        """Answer a DER OCSP request (RFC 6960) about a certificate issued by this CA.

        The issuing CA signs answers about the certificates it issued, the root about the
        issuing CA. Never raises for bad input (the reply carries an error status).
        """
        issuing_serial = self._issuing.certificate.serial_number
        return build_ocsp_response(
            request_der,
            [
                (
                    self._issuing.certificate,
                    self._issuing.private_key,
                    self._revoked_by(self._issuing),
                    self._issued_by_issuing_ca,
                ),
                (
                    self._root.certificate,
                    self._root.private_key,
                    self._revoked_by(self._root),
                    issuing_serial.__eq__,  # the root issued only the issuing CA
                ),
            ],
        )

    def register_issued(self, certificate: x509.Certificate) -> None:
        """Record a certificate the issuing CA signed outside this class (the platform's)."""
        if self._revocations is not None and not self._revocations.is_issued(
            certificate.serial_number
        ):
            self._revocations.record_issued(
                certificate.serial_number, certificate.not_valid_after_utc
            )

    def _issued_by_issuing_ca(self, serial: int) -> bool:
        if serial == self._tsa.certificate.serial_number:
            return True
        return self._revocations is not None and self._revocations.is_issued(serial)

    def _store(self) -> RevocationStore:
        if self._revocations is None:
            raise SigningError("this CA was not loaded from a directory; it cannot revoke")
        return self._revocations

    def _revoked_by(self, authority: _Authority) -> dict[int, Revoked]:
        if self._revocations is None:
            return {}
        everything = self._revocations.all()
        if authority is self._root:
            serial = self._issuing.certificate.serial_number
            return {serial: everything[serial]} if serial in everything else {}
        return {k: v for k, v in everything.items() if k != self._issuing.certificate.serial_number}

    def _cached_crl(self, name: str, authority: _Authority, revoked: dict[int, Revoked]) -> bytes:
        version = self._revocations.version() if self._revocations else (0, 0)
        now = datetime.now(UTC)
        cached = self._crl_cache.get(name)
        if cached is not None and cached[0] == version and now - cached[1] < CRL_REFRESH:
            return cached[2]
        crl = build_crl(
            authority.certificate,
            authority.private_key,
            sorted(revoked.values(), key=lambda r: r.serial_number),
            now=now,
        )
        der = crl.public_bytes(serialization.Encoding.DER)
        self._crl_cache[name] = (version, now, der)
        return der

    @classmethod
    def load_or_create(
        cls,
        directory: Path,
        master_key: bytes,
        *,
        organisation: str = "SignLink",
        public_url: str | None = None,
        key_algorithm: KeyAlgorithm = "ecdsa-p256",
        revocations: RevocationStore | None = None,
    ) -> CertificateAuthority:
        """Load the CA from ``directory``, creating a new root, issuing CA and TSA on first use.

        A directory that holds a CA but no TSA yet gets a TSA certificate from its issuing CA.
        ``public_url`` (e.g. ``https://sign.example.com``) makes every certificate issued
        from now on point at ``/pki/crl``, ``/pki/ocsp`` and ``/pki/issuing.cer`` there.
        ``key_algorithm`` applies only when the CA is created. ``revocations``: where
        issued and revoked serials are kept (default: files in ``directory``).
        Raises :class:`MasterKeyError` if the stored keys do not open with ``master_key``.
        """
        if not master_key:
            raise MasterKeyError("the master key must not be empty")
        if key_algorithm not in KEY_ALGORITHMS:
            raise ValueError(
                f"unknown CA key algorithm {key_algorithm!r}; "
                f"use one of {', '.join(KEY_ALGORITHMS)}"
            )
        directory.mkdir(parents=True, exist_ok=True)
        urls = _urls(public_url)
        if not (directory / ISSUING_CERT).exists():
            _create(directory, master_key, organisation, key_algorithm, urls)
        root = _load_authority(directory, ROOT_CERT, ROOT_KEY, master_key)
        issuing = _load_authority(directory, ISSUING_CERT, ISSUING_KEY, master_key)
        if not (directory / TSA_CERT).exists():
            _create_tsa(directory, master_key, issuing, urls)
        tsa = _load_authority(directory, TSA_CERT, TSA_KEY, master_key)
        return cls(
            root=root,
            issuing=issuing,
            tsa=tsa,
            revocations=revocations or FileRevocationStore(directory),
            public_url=public_url,
        )

    def issue_event_certificate(
        self, intent: SigningIntent, *, public_url: str | None = None
    ) -> EventCertificate:
        """Issue a fresh P-256 key and a one-day certificate naming the signer.

        ``public_url`` overrides the CA's own for the CRL/AIA pointers.
        """
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, intent.signer_name),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, SIGNER_ORGANISATION),
                # The platform's opaque signer id tells two people of the same name apart;
                # never a national ID number.
                x509.NameAttribute(NameOID.SERIAL_NUMBER, printable(intent.signer_id)),
            ]
        )
        return self._issue_one_use(subject, public_url)

    def issue_organisation_certificate(
        self, org_name: str, credit_code_hash: str, *, public_url: str | None = None
    ) -> EventCertificate:
        """A one-use certificate for sealing on behalf of an organisation (公司印章).

        ``credit_code_hash`` is a keyed hash of the unified social credit code (统一社会信用
        代码), never the code itself; it tells two organisations of the same name apart.
        """
        if not org_name.strip():
            raise ValueError("the organisation name must not be empty")
        if not credit_code_hash.strip():
            raise ValueError("the credit code hash must not be empty")
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, org_name),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, org_name),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ORGANISATION_UNIT),
                x509.NameAttribute(NameOID.SERIAL_NUMBER, printable(credit_code_hash)),
            ]
        )
        return self._issue_one_use(subject, public_url)

    def _issue_one_use(self, subject: x509.Name, public_url: str | None) -> EventCertificate:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        issuer = self._issuing.certificate
        not_after = min(now + EVENT_LIFETIME, issuer.not_valid_after_utc)
        urls = _urls(public_url) or self._urls
        builder = (
            _builder(subject, issuer.subject, key.public_key(), now - CLOCK_SKEW, not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                _key_usage(digital_signature=True, content_commitment=True), critical=True
            )
            .add_extension(_aki(issuer), critical=False)
        )
        if urls is not None:
            builder = _with_extensions(builder, urls.issued_by_issuing_ca())
        certificate = builder.sign(self._issuing.private_key, hashes.SHA256())
        if self._revocations is not None:
            self._revocations.record_issued(certificate.serial_number, not_after)
        return EventCertificate(
            certificate=certificate,
            private_key=key,
            chain=(issuer, self._root.certificate),
        )


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
    not_before: datetime,
    not_after: datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(secrets.randbits(128) | 1)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _key_usage(
    *, digital_signature: bool = False, content_commitment: bool = False, ca: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _aki(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _ca_name(organisation: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _new_key(algorithm: KeyAlgorithm) -> CAPrivateKey:
    if algorithm == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=int(algorithm[4:]))


def _new_authorities(
    organisation: str, algorithm: KeyAlgorithm, urls: PkiUrls | None
) -> tuple[_Authority, _Authority]:
    now = datetime.now(UTC)
    root_key = _new_key(algorithm)
    root_name = _ca_name(organisation, f"{organisation} Root CA")
    root_cert = (
        _builder(root_name, root_name, root_key.public_key(), now - CLOCK_SKEW, now + ROOT_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    issuing_key = _new_key(algorithm)
    builder = (
        _builder(
            _ca_name(organisation, f"{organisation} Issuing CA"),
            root_name,
            issuing_key.public_key(),
            now - CLOCK_SKEW,
            now + ISSUING_LIFETIME,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(_aki(root_cert), critical=False)
    )
    if urls is not None:
        builder = _with_extensions(builder, urls.issued_by_root())
    issuing_cert = builder.sign(root_key, hashes.SHA256())
    return _Authority(root_cert, root_key), _Authority(issuing_cert, issuing_key)


def _new_tsa(issuing: _Authority, urls: PkiUrls | None) -> _Authority:
    """A time-stamping unit certificate as RFC 3161 § 2.3 and ETSI EN 319 422 ask for."""
    now = datetime.now(UTC)
    issuer = issuing.certificate
    organisations = issuer.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    organisation = str(organisations[0].value) if organisations else "SignLink"
    # The TSA signs with the CA's algorithm family, as a validator policy may expect.
    key = _new_key(
        "ecdsa-p256"
        if isinstance(issuing.private_key, ec.EllipticCurvePrivateKey)
        else "rsa-2048"
        if issuing.private_key.key_size < 3072
        else "rsa-3072"
    )
    builder = (
        _builder(
            _ca_name(organisation, f"{organisation} Time-Stamping Authority"),
            issuer.subject,
            key.public_key(),
            now - CLOCK_SKEW,
            min(now + TSA_LIFETIME, issuer.not_valid_after_utc),
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
        # RFC 3161 § 2.3: exactly this one purpose, and the extension MUST be critical.
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(_aki(issuer), critical=False)
    )
    if urls is not None:
        builder = _with_extensions(builder, urls.issued_by_issuing_ca())
    return _Authority(builder.sign(issuing.private_key, hashes.SHA256()), key)


def _pem_files(
    names: tuple[str, str], authority: _Authority, master_key: bytes
) -> dict[str, bytes]:
    """``{key file: encrypted PKCS#8 PEM, certificate file: PEM}``."""
    key_name, cert_name = names
    key_pem = authority.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(master_key),
    )
    return {
        key_name: key_pem,
        cert_name: authority.certificate.public_bytes(serialization.Encoding.PEM),
    }


def _create(
    directory: Path,
    master_key: bytes,
    organisation: str,
    algorithm: KeyAlgorithm,
    urls: PkiUrls | None,
) -> None:
    root, issuing = _new_authorities(organisation, algorithm, urls)
    contents = _pem_files((ROOT_KEY, ROOT_CERT), root, master_key) | _pem_files(
        (ISSUING_KEY, ISSUING_CERT), issuing, master_key
    )
    _publish_all(directory, _CREATION_ORDER, contents)


def _create_tsa(
    directory: Path, master_key: bytes, issuing: _Authority, urls: PkiUrls | None
) -> None:
    contents = _pem_files((TSA_KEY, TSA_CERT), _new_tsa(issuing, urls), master_key)
    _publish_all(directory, _TSA_CREATION_ORDER, contents)


def _publish_all(directory: Path, order: tuple[str, ...], contents: dict[str, bytes]) -> None:
    """Publish ``contents`` in ``order``; on losing the race, wait for the winner's last file."""
    for name in order:
        if not _publish(directory / name, contents[name]):
            _wait_for_peer(directory / order[-1])
            return


def _publish(target: Path, data: bytes) -> bool:
    """Write ``data`` to ``target`` unless it exists; False if another writer was first."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, target)
    except FileExistsError:
        return False
    finally:
        temporary.unlink(missing_ok=True)
    return True


def _wait_for_peer(completion_marker: Path) -> None:
    deadline = time.monotonic() + _WAIT_FOR_PEER_SECONDS
    while not completion_marker.exists():
        if time.monotonic() > deadline:
            raise SigningError(
                f"CA directory {completion_marker.parent} is incomplete: another process "
                f"started creating it and did not write {completion_marker.name}; inspect "
                f"the directory and remove partial files"
            )
        time.sleep(0.05)


def _load_authority(
    directory: Path, cert_name: str, key_name: str, master_key: bytes
) -> _Authority:
    certificate = x509.load_pem_x509_certificate((directory / cert_name).read_bytes())
    try:
        key = serialization.load_pem_private_key(
            (directory / key_name).read_bytes(), password=master_key
        )
    except (ValueError, TypeError) as exc:
        raise MasterKeyError(
            f"cannot decrypt {directory / key_name} with the configured master key "
            f"(SIGNLINK_MASTER_KEY changed?)"
        ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) or (
        key.public_key() != certificate.public_key()
    ):
        raise SigningError(f"{directory / key_name} does not belong to {directory / cert_name}")
    return _Authority(certificate, key)
