"""RFC 3161 timestamps of evidence hashes: obtain a token, check a token offline.

A token is requested through pyHanko's :class:`TimeStamper` interface (the CA's own
authority in-process, or any HTTP TSA), with the 32 bytes of a SHA-256 hash as the
message imprint. Checking needs only the token and a trusted root certificate.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko.sign.validation.status import TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext


async def request_token(stamper: TimeStamper, digest_hex: str) -> bytes:
    """A DER ``TimeStampToken`` (CMS ContentInfo) whose imprint is ``digest_hex``."""
    token = await stamper.async_timestamp(bytes.fromhex(digest_hex), "sha256")
    return bytes(token.dump())


@dataclass(frozen=True)
class TokenCheck:
    ok: bool
    gen_time: datetime | None
    tsa_subject: str
    tsa_serial: str
    problem: str
    problem_en: str


def token_info(token_der: bytes) -> tuple[datetime, str, str]:
    """``(genTime, imprint hex, TSA certificate serial hex)`` without checking anything."""
    info = cms.ContentInfo.load(token_der)["content"]["encap_content_info"]["content"].parsed
    signed = cms.ContentInfo.load(token_der)["content"]
    sid = signed["signer_infos"][0]["sid"].chosen
    serial = format(sid["serial_number"].native, "032x") if "serial_number" in sid else ""
    return info["gen_time"].native, info["message_imprint"]["hashed_message"].native.hex(), serial


async def async_verify_token(
    token_der: bytes, digest_hex: str, roots: list[x509.Certificate]
) -> TokenCheck:
    """Whether ``token_der`` is a valid, trusted timestamp over ``digest_hex``."""
    try:
        content = cms.ContentInfo.load(token_der)
        signed_data = content["content"]
        gen_time, imprint, serial = token_info(token_der)
    except Exception:
        return TokenCheck(False, None, "", "", "时间戳令牌无法解析", "the token cannot be parsed")
    context = ValidationContext(
        trust_roots=[
            asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in roots
        ],
        allow_fetching=False,
        revocation_mode="soft-fail",
    )
    expected = bytes.fromhex(digest_hex)
    try:
        status = TimestampSignatureStatus(
            **await validate_tst_signed_data(
                signed_data, context, expected_tst_imprint=lambda algo: expected
            )
        )
    except Exception as exc:
        return TokenCheck(
            False, gen_time, "", serial, "时间戳令牌签名无效", f"the token does not verify: {exc}"
        )
    cert = status.signing_cert
    subject = cert.subject.human_friendly if cert is not None else ""
    if imprint != digest_hex or not status.intact:
        return TokenCheck(
            False,
            gen_time,
            subject,
            serial,
            "时间戳所证明的哈希与现有数据不符",
            f"the token vouches for {imprint}, not {digest_hex}",
        )
    if not status.valid:
        return TokenCheck(
            False, gen_time, subject, serial, "时间戳令牌签名无效", "the token signature is invalid"
        )
    if not status.trusted:
        return TokenCheck(
            False,
            gen_time,
            subject,
            serial,
            "时间戳机构证书不受信任（未链接到根证书）",
            "the TSA certificate does not chain to the trusted root",
        )
    return TokenCheck(True, gen_time, subject, serial, "", "")


def verify_token(token_der: bytes, digest_hex: str, roots: list[x509.Certificate]) -> TokenCheck:
    """Blocking twin of :func:`async_verify_token`, for the command line."""
    return asyncio.run(async_verify_token(token_der, digest_hex, roots))


def token_certificates(token_der: bytes) -> list[x509.Certificate]:
    """The certificates embedded in a token (the TSA's, and its issuing CA)."""
    signed = cms.ContentInfo.load(token_der)["content"]
    found = []
    for choice in signed["certificates"] or []:
        if choice.name == "certificate":
            found.append(x509.load_der_x509_certificate(choice.chosen.dump()))
    return found
