"""Just enough DER to write the CMS structures a signature needs, without asn1crypto.

asn1crypto builds a tree of Python objects for every structure and re-serialises parsed
certificates put into it; for one PAdES signature that was most of the signing time. The
structures SignLink writes (CMS SignedData with signed attributes, RFC 3161 TSTInfo) have a
fixed shape, so they are written here as bytes from parts that are mostly constant.
Parsing (validation, the TSA's request) still goes through asn1crypto.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

__all__ = [
    "SHA256",
    "algorithm",
    "attribute",
    "boolean",
    "explicit",
    "generalized_time",
    "implicit",
    "integer",
    "null",
    "octets",
    "oid",
    "sequence",
    "set_of",
    "sign_with",
    "signed_data",
    "signing_certificate_v2",
    "tlv",
]


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes((size,))
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def tlv(tag: int, *parts: bytes) -> bytes:
    """One DER element: ``tag``, definite length, then ``parts`` concatenated."""
    content = b"".join(parts)
    return bytes((tag,)) + _length(len(content)) + content


def sequence(*parts: bytes) -> bytes:
    return tlv(0x30, *parts)


def set_of(*parts: bytes) -> bytes:
    """A SET OF: DER orders the encoded elements (X.690 § 11.6)."""
    return tlv(0x31, *sorted(parts))


def explicit(number: int, *parts: bytes) -> bytes:
    """``[number] EXPLICIT`` (constructed context tag around the element)."""
    return tlv(0xA0 | number, *parts)


def implicit(number: int, element: bytes) -> bytes:
    """``[number] IMPLICIT`` of a constructed element: retag it, keep its content."""
    return bytes((0xA0 | number,)) + element[1:]


def integer(value: int) -> bytes:
    size = value.bit_length() // 8 + 1  # room for the sign bit
    return tlv(0x02, value.to_bytes(size, "big", signed=True))


def octets(value: bytes) -> bytes:
    return tlv(0x04, value)


def null() -> bytes:
    return b"\x05\x00"


def boolean(value: bool) -> bytes:
    return b"\x01\x01\xff" if value else b"\x01\x01\x00"


@cache
def oid(dotted: str) -> bytes:
    first, second, *rest = (int(part) for part in dotted.split("."))
    body = bytearray()
    for arc in (40 * first + second, *rest):
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return tlv(0x06, bytes(body))


def generalized_time(moment: datetime) -> bytes:
    """GeneralizedTime in UTC; the fraction without trailing zeros, as DER requires."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y%m%d%H%M%S")
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    if fraction:
        text += "." + fraction
    return tlv(0x18, (text + "Z").encode("ascii"))


@cache
def algorithm(dotted: str, *, with_null: bool = False) -> bytes:
    """An AlgorithmIdentifier; ``with_null`` for RSA signatures' NULL parameters."""
    return sequence(oid(dotted), null()) if with_null else sequence(oid(dotted))


SHA256 = "2.16.840.1.101.3.4.2.1"
_ECDSA_SHA256 = "1.2.840.10045.4.3.2"
_RSA_SHA256 = "1.2.840.113549.1.1.11"
_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47"


def attribute(dotted: str, *values: bytes) -> bytes:
    """A CMS Attribute: its type and the SET of its values."""
    return sequence(oid(dotted), set_of(*values))


def signing_certificate_v2(certificate: x509.Certificate) -> bytes:
    """The ESS signing-certificate-v2 attribute naming ``certificate`` (RFC 5035).

    SHA-256 is the default hash algorithm, so DER leaves it out.
    """
    der = certificate.public_bytes(serialization.Encoding.DER)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    issuer_serial = sequence(
        sequence(explicit(4, certificate.issuer.public_bytes())),  # GeneralNames
        integer(certificate.serial_number),
    )
    ess_cert_id = sequence(octets(digest.finalize()), issuer_serial)
    return attribute(_SIGNING_CERTIFICATE_V2, sequence(sequence(ess_cert_id)))


def sign_with(
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, data: bytes
) -> tuple[bytes, bytes]:
    """(signatureAlgorithm DER, signature) of ``data`` with SHA-256."""
    if isinstance(key, rsa.RSAPrivateKey):
        return algorithm(_RSA_SHA256, with_null=True), key.sign(
            data, padding.PKCS1v15(), hashes.SHA256()
        )
    return algorithm(_ECDSA_SHA256), key.sign(data, ec.ECDSA(hashes.SHA256()))


_DATA = "1.2.840.113549.1.7.1"
_SIGNED_DATA = "1.2.840.113549.1.7.2"
_CONTENT_TYPE = "1.2.840.113549.1.9.3"
_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"


def signed_data(
    *,
    certificate: x509.Certificate,
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    content_digest: bytes,
    certificates: tuple[bytes, ...],
    content_type: str = _DATA,
    encapsulated: bytes | None = None,
    unsigned_attributes: Callable[[bytes], tuple[bytes, ...]] | None = None,
) -> bytes:
    """A CMS ``ContentInfo`` holding ``SignedData`` with one SHA-256 signer (RFC 5652).

    ``content_digest``: SHA-256 of the signed content (the PDF byte range, or the TSTInfo
    in ``encapsulated``; without it the signature is detached). The signed attributes are
    content-type, message-digest and signing-certificate-v2, as PAdES and RFC 3161 ask;
    ``unsigned_attributes`` gets the signature value (for its timestamp token).
    ``certificates``: DER certificates to embed.
    """
    signed_attributes = set_of(
        attribute(_CONTENT_TYPE, oid(content_type)),
        attribute(_MESSAGE_DIGEST, octets(content_digest)),
        signing_certificate_v2(certificate),
    )
    signature_algorithm, signature = sign_with(key, signed_attributes)
    unsigned = unsigned_attributes(signature) if unsigned_attributes else ()
    signer_info = sequence(
        integer(1),
        sequence(certificate.issuer.public_bytes(), integer(certificate.serial_number)),
        algorithm(SHA256),
        implicit(0, signed_attributes),
        signature_algorithm,
        octets(signature),
        *((implicit(1, set_of(*unsigned)),) if unsigned else ()),
    )
    content_info = (
        sequence(oid(content_type), explicit(0, octets(encapsulated)))
        if encapsulated is not None
        else sequence(oid(content_type))
    )
    body = sequence(
        # RFC 5652 § 5.1: version 3 when the content is not id-data.
        integer(1 if content_type == _DATA else 3),
        set_of(algorithm(SHA256)),
        content_info,
        *((tlv(0xA0, *sorted(certificates)),) if certificates else ()),  # a SET OF in DER
        set_of(signer_info),
    )
    return sequence(oid(_SIGNED_DATA), explicit(0, body))
