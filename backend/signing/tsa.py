"""SignLink's own RFC 3161 Time-Stamping Authority, and a pyHanko time stamper that uses it.

:meth:`TimeStampAuthority.respond` turns the DER of a ``TimeStampReq`` into the DER of a
``TimeStampResp``; the web layer serves it as ``POST /pki/tsa`` with the request body as
``application/timestamp-query`` and the reply as ``application/timestamp-reply``, so any
RFC 3161 client (``openssl ts``, ``curl --data-binary @req.tsq``, Adobe, pyHanko's
``HTTPTimeStamper``) can use it. It never raises for a bad request: the reply then carries
status ``rejection`` and a ``failInfo`` bit saying why.

:class:`LocalTimeStamper` lets pyHanko ask the same authority in-process while signing.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pyhanko.sign.timestamps import TimeStamper

from backend.signing import der

__all__ = [
    "MAX_REQUEST_BYTES",
    "TIMESTAMP_QUERY_CONTENT_TYPE",
    "TIMESTAMP_REPLY_CONTENT_TYPE",
    "TSA_POLICY_OID",
    "LocalTimeStamper",
    "TimeStampAuthority",
]

logger = logging.getLogger(__name__)

TIMESTAMP_QUERY_CONTENT_TYPE = "application/timestamp-query"
TIMESTAMP_REPLY_CONTENT_TYPE = "application/timestamp-reply"

# SignLink's TSA policy. The arc 2.25.<UUID> (ITU-T X.667) needs no registration; this UUID
# was generated once for SignLink. ".1.1" = time-stamp policy, version 1.
TSA_POLICY_OID = "2.25.237574358373988425854382402112843992962.1.1"

MAX_REQUEST_BYTES = 64 * 1024
"""A ``TimeStampReq`` is a few dozen bytes; anything far larger is refused unparsed."""

# Message imprint algorithms accepted, with the digest length each must have. SHA-1 and
# MD5 are refused (badAlg): a collision would let one timestamp vouch for two documents.
_IMPRINT_DIGEST_SIZES = {
    "sha224": 28,
    "sha256": 32,
    "sha384": 48,
    "sha512": 64,
    "sha3_256": 32,
    "sha3_384": 48,
    "sha3_512": 64,
}
_TST_INFO = "1.2.840.113549.1.9.16.1.4"


class _TimeStampResp(tsp.TimeStampResp):  # type: ignore[misc]
    """RFC 3161 ``TimeStampResp``: asn1crypto forgets that a rejection carries no token."""

    _fields = [  # noqa: RUF012 - asn1crypto's schema declaration
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


class _Rejection(Exception):
    def __init__(self, fail_info: str, text: str) -> None:
        super().__init__(text)
        self.fail_info = fail_info
        self.text = text


def _to_asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _rejection(fail_info: str, text: str) -> _TimeStampResp:
    return _TimeStampResp(
        {
            "status": tsp.PKIStatusInfo(
                {
                    "status": tsp.PKIStatus("rejection"),
                    "status_string": [text],
                    "fail_info": tsp.PKIFailureInfo({fail_info}),
                }
            )
        }
    )


# Served if building any other reply fails, so respond() has nothing left that can raise.
_SYSTEM_FAILURE = _rejection(
    "system_failure", "internal error of the time-stamping authority"
).dump()


class TimeStampAuthority:
    """An RFC 3161 time-stamping unit: an ECDSA or RSA key, a certificate with EKU timeStamping."""

    def __init__(
        self,
        certificate: x509.Certificate,
        private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
        *,
        chain: Iterable[x509.Certificate] = (),
        policy_oid: str = TSA_POLICY_OID,
    ) -> None:
        """``chain`` holds the issuing CA(s) first, then the root (the root is not embedded)."""
        self._certificate = certificate
        self._private_key = private_key
        self._chain = tuple(chain)
        self._policy_oid = policy_oid
        # The TSA's name as a GeneralName (directoryName), written into every TSTInfo.
        self._tsa_name_der = der.explicit(4, certificate.subject.public_bytes())
        embedded = [certificate, *(c for c in self._chain if c.issuer != c.subject)]
        self._certificates = tuple(c.public_bytes(serialization.Encoding.DER) for c in embedded)

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """The certificates above the TSA certificate: issuing CA first, then the root."""
        return self._chain

    @property
    def policy_oid(self) -> str:
        return self._policy_oid

    def certificate_pem(self) -> bytes:
        return self._certificate.public_bytes(serialization.Encoding.PEM)

    def timestamper(self) -> LocalTimeStamper:
        """A pyHanko time stamper that asks this authority directly, without HTTP."""
        return LocalTimeStamper(self)

    def respond(self, request_der: bytes, *, now: datetime | None = None) -> bytes:
        """Answer the DER ``TimeStampReq`` in ``request_der`` with a DER ``TimeStampResp``.

        Never raises for anything a client sends: a malformed request is answered with
        status ``rejection`` and failInfo ``badRequest``, ``badAlg`` (unsupported or weak
        hash), ``badDataFormat`` (digest of the wrong length), ``unacceptedPolicy`` or
        ``unacceptedExtension``. ``now`` (timezone-aware) overrides the clock, for tests.
        """
        if now is not None and now.utcoffset() is None:
            raise ValueError("TimeStampAuthority.respond(now=...) must be timezone-aware")
        try:
            return self._respond(request_der, now).dump()
        except Exception:  # last line of defence: an HTTP endpoint must always answer
            logger.exception("the time-stamping authority failed to answer a request")
            return _SYSTEM_FAILURE

    def _respond(self, request_der: bytes, now: datetime | None) -> _TimeStampResp:
        try:
            request = _parse_request(request_der)
            self._check(request)
        except _Rejection as rejection:
            return _rejection(rejection.fail_info, rejection.text)
        gen_time = _token_time(now)
        certificate = self._certificate
        if not certificate.not_valid_before_utc <= gen_time <= certificate.not_valid_after_utc:
            logger.error(
                "TSA certificate %s is not valid at %s: remove tsa.pem and tsa.key.pem from "
                "the PKI directory and restart to issue a new one",
                format(certificate.serial_number, "x"),
                gen_time.isoformat(),
            )
            return _rejection("system_failure", "the TSA certificate is not valid now")
        token = self._token(request, gen_time)
        return _TimeStampResp(
            {
                "status": tsp.PKIStatusInfo({"status": tsp.PKIStatus("granted")}),
                "time_stamp_token": token,
            }
        )

    def _check(self, request: tsp.TimeStampReq) -> None:
        if request["version"].native != "v1":
            raise _Rejection("bad_request", "unsupported TimeStampReq version")
        imprint = request["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        if algorithm not in _IMPRINT_DIGEST_SIZES:
            raise _Rejection(
                "bad_alg",
                f"hash algorithm {algorithm} is not accepted; use one of "
                f"{', '.join(sorted(_IMPRINT_DIGEST_SIZES))}",
            )
        if len(imprint["hashed_message"].native) != _IMPRINT_DIGEST_SIZES[algorithm]:
            raise _Rejection("bad_data_format", f"the message imprint is not a {algorithm} digest")
        policy = request["req_policy"]
        if policy.native is not None and policy.dotted != self._policy_oid:
            raise _Rejection(
                "unaccepted_policy",
                f"policy {policy.dotted} is not offered; use {self._policy_oid}",
            )
        extensions = request["extensions"]
        if extensions.native is not None and any(e["critical"].native for e in extensions):
            raise _Rejection(
                "unaccepted_extensions", "critical request extensions are not supported"
            )

    def _token(self, request: tsp.TimeStampReq, gen_time: datetime) -> cms.ContentInfo:
        nonce = request["nonce"].native
        return cms.ContentInfo.load(
            self._token_der(
                request["message_imprint"].dump(),
                gen_time,
                nonce=nonce,
                include_certificates=bool(request["cert_req"].native),
            )
        )

    def stamp(self, sha256_digest: bytes, *, now: datetime | None = None) -> bytes:
        """A timestamp token (DER ``ContentInfo``) over a SHA-256 digest, asked in-process.

        What :meth:`respond` puts into a granted reply, without the DER request and reply
        around it: signing calls this for the signature timestamp of every signature.
        Raises :class:`ValueError` when the TSA certificate is not valid at that time.
        """
        if len(sha256_digest) != _IMPRINT_DIGEST_SIZES["sha256"]:
            raise ValueError("stamp() takes a SHA-256 digest")
        gen_time = _token_time(now)
        certificate = self._certificate
        if not certificate.not_valid_before_utc <= gen_time <= certificate.not_valid_after_utc:
            raise ValueError("the TSA certificate is not valid now; renew tsa.pem")
        imprint = der.sequence(der.algorithm(der.SHA256), der.octets(sha256_digest))
        return self._token_der(imprint, gen_time, nonce=None, include_certificates=True)

    def _token_der(
        self, imprint: bytes, gen_time: datetime, *, nonce: int | None, include_certificates: bool
    ) -> bytes:
        tst_info = der.sequence(
            der.integer(1),
            der.oid(self._policy_oid),
            imprint,
            # Unique per token (RFC 3161 § 2.4.2); fixed at 16 octets, so every token of
            # the same request has the same size.
            der.integer(secrets.randbits(127) | (1 << 126)),
            der.generalized_time(gen_time),
            der.sequence(der.integer(1)),  # accuracy: one second
            *((der.integer(nonce),) if nonce is not None else ()),
            der.explicit(0, self._tsa_name_der),
        )
        return der.signed_data(
            certificate=self._certificate,
            key=self._private_key,
            content_digest=hashlib.sha256(tst_info).digest(),
            certificates=self._certificates if include_certificates else (),
            content_type=_TST_INFO,
            encapsulated=tst_info,
        )


def _token_time(now: datetime | None) -> datetime:
    gen_time = (now or datetime.now(UTC)).astimezone(UTC)
    # Milliseconds are plenty next to an accuracy of one second.
    return gen_time.replace(microsecond=gen_time.microsecond // 1000 * 1000)


def _parse_request(request_der: bytes) -> tsp.TimeStampReq:
    if not request_der or len(request_der) > MAX_REQUEST_BYTES:
        raise _Rejection("bad_request", "the body is not a DER TimeStampReq of sensible size")
    try:
        request = tsp.TimeStampReq.load(bytes(request_der), strict=True)
        request.native  # noqa: B018 - asn1crypto parses lazily; force every field now
        request["message_imprint"]["hashed_message"].native  # noqa: B018
    except Exception as exc:  # asn1crypto raises ValueError, TypeError, KeyError, ...
        raise _Rejection("bad_request", "the body is not a DER-encoded TimeStampReq") from exc
    return request


class LocalTimeStamper(TimeStamper):
    """pyHanko's :class:`TimeStamper`, answered by a :class:`TimeStampAuthority` in-process.

    The request and the reply still go through DER exactly as over HTTP, so signing
    exercises the same code path as ``POST /pki/tsa``.
    """

    def __init__(self, authority: TimeStampAuthority, *, include_nonce: bool = True) -> None:
        super().__init__(include_nonce=include_nonce)
        self.authority = authority

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return _TimeStampResp.load(self.authority.respond(req.dump()))
