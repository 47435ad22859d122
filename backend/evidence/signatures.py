"""What the evidence needs to know about the signatures inside a signed PDF.

For each signature: field, signer certificate (serial, subject, issuer, validity), the
SHA-256 of the signature value, and the time its RFC 3161 token states; plus every
certificate involved, so a bundle carries all it needs to be checked offline.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from dataclasses import dataclass
from typing import Any

from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from pyhanko.pdf_utils.reader import PdfFileReader


@dataclass(frozen=True)
class SignatureFacts:
    field: str
    signer_name: str
    certificate_serial: str
    subject: str
    issuer: str
    not_before: str
    not_after: str
    signature_sha256: str
    timestamp_time: str
    """genTime of the embedded signature timestamp (UTC ISO), '' if there is none."""
    certificates: tuple[x509.Certificate, ...]

    def to_event_data(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "certificate_serial": self.certificate_serial,
            "signature_sha256": self.signature_sha256,
            "timestamp_time": self.timestamp_time,
        }


def name_text(name: x509.Name) -> str:
    """``CN=张三, O=SignLink signer, serialNumber=…``: readable, most specific first."""
    return ", ".join(
        f"{_NAMES.get(attr.oid, attr.oid.dotted_string)}={attr.value!s}"
        for attr in reversed(list(name))
    )


_NAMES = {
    x509.NameOID.COMMON_NAME: "CN",
    x509.NameOID.ORGANIZATION_NAME: "O",
    x509.NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    x509.NameOID.COUNTRY_NAME: "C",
    x509.NameOID.SERIAL_NUMBER: "serialNumber",
}


def _cert(value: Any) -> x509.Certificate:
    return x509.load_der_x509_certificate(value.dump())


def _timestamp(signer_info: cms.SignerInfo) -> tuple[str, list[x509.Certificate]]:
    for attr in signer_info["unsigned_attrs"] or []:
        if attr["type"].native != "signature_time_stamp_token":
            continue
        token = attr["values"][0]
        signed = token["content"]
        info = signed["encap_content_info"]["content"].parsed
        certs = [_cert(c.chosen) for c in signed["certificates"] or [] if c.name == "certificate"]
        return info["gen_time"].native.isoformat(), certs
    return "", []


def signature_facts(pdf: bytes) -> list[SignatureFacts]:
    """Facts of every signature in ``pdf``, in file order. Nothing here is a verdict."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    found = []
    for sig in reader.embedded_regular_signatures:
        signer_info = sig.signer_info
        cert = _cert(sig.signer_cert)
        stamped_at, tsa_certs = _timestamp(signer_info)
        embedded = [
            _cert(c.chosen)
            for c in sig.signed_data["certificates"] or []
            if c.name == "certificate"
        ]
        names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        found.append(
            SignatureFacts(
                field=str(sig.field_name),
                signer_name=str(names[0].value) if names else "",
                certificate_serial=format(cert.serial_number, "032x"),
                subject=name_text(cert.subject),
                issuer=name_text(cert.issuer),
                not_before=cert.not_valid_before_utc.isoformat(),
                not_after=cert.not_valid_after_utc.isoformat(),
                signature_sha256=hashlib.sha256(signer_info["signature"].native).hexdigest(),
                timestamp_time=stamped_at,
                certificates=tuple(_unique([cert, *embedded, *tsa_certs])),
            )
        )
    return found


async def async_signature_facts(pdf: bytes) -> list[SignatureFacts]:
    return await asyncio.to_thread(signature_facts, pdf)


async def signatures_for_event(pdf: bytes) -> list[dict[str, Any]]:
    """The list put into ``envelope.completed``: each signature's serial, hash and time."""
    return [facts.to_event_data() for facts in await async_signature_facts(pdf)]


def _unique(certs: list[x509.Certificate]) -> list[x509.Certificate]:
    seen: set[bytes] = set()
    out = []
    for cert in certs:
        key = cert.fingerprint(hashes.SHA256())
        if key not in seen:
            seen.add(key)
            out.append(cert)
    return out
