"""Long-term validation: PAdES B-LT (validation data in the DSS) and B-LTA (document timestamp).

When an envelope completes, :func:`make_long_term` appends one incremental update holding
every certificate, the CA's CRLs and an OCSP response for each certificate under the
signatures and their timestamps, and then a document timestamp from the CA's TSA over the
whole file. The revocation data is asked from the CA in-process (no HTTP round trip), as
the app would serve it at ``/pki/crl`` and ``/pki/ocsp``.

Years later, a validator needs only the root: the document timestamp proves the validation
data existed while everything was valid. Before the TSA certificate behind the newest
document timestamp expires (five years), call :func:`make_long_term` again: it adds the
validation data for that timestamp and a fresh one (the archive timestamp chain).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterable

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore, collect_validation_info
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError

from backend.signing.ca import CertificateAuthority
from backend.signing.errors import InvalidPdf, SigningError
from backend.signing.validation import run_blocking

__all__ = ["async_make_long_term", "make_long_term"]


def make_long_term(
    pdf: bytes, ca: CertificateAuthority, *, timestamper: TimeStamper | None = None
) -> bytes:
    """Return ``pdf`` with validation data for every signature (B-LT) and a document
    timestamp over it (B-LTA), appended as one incremental update.

    Every signature must chain to ``ca`` (foreign signatures raise :class:`SigningError`:
    their revocation data is not ours to vouch for). ``timestamper`` defaults to
    ``ca.tsa``. Blocking; from async code use :func:`async_make_long_term`.
    """
    return run_blocking(_make_long_term(pdf, ca, timestamper))


async def async_make_long_term(
    pdf: bytes, ca: CertificateAuthority, *, timestamper: TimeStamper | None = None
) -> bytes:
    """:func:`make_long_term` in a worker thread, so the event loop keeps serving requests."""
    return await asyncio.to_thread(make_long_term, pdf, ca, timestamper=timestamper)


async def _make_long_term(
    pdf: bytes, ca: CertificateAuthority, timestamper: TimeStamper | None
) -> bytes:
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        reader: PdfFileReader = writer.prev
        signatures = list(reader.embedded_signatures)
    except (PdfError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise InvalidPdf("the document is not a readable PDF") from exc
    if not signatures:
        raise SigningError("the document has no signatures to make long-term verifiable")
    context = _validation_context(ca, signatures)
    for signature in signatures:
        try:
            paths = await collect_validation_info(signature, context)
        except (PathBuildingError, PathValidationError) as exc:
            raise SigningError(
                f"signature {signature.field_name!r} does not chain to this CA or its "
                f"certificate is revoked: {exc}"
            ) from exc
        DocumentSecurityStore.supply_dss_in_writer(
            writer,
            signature.pkcs7_content.hex().encode("ascii"),
            paths=paths,
            validation_context=context,
            embed_roots=True,
        )
    output = io.BytesIO()
    try:
        await PdfTimeStamper(timestamper or ca.tsa.timestamper()).async_timestamp_pdf(
            writer, "sha256", validation_context=context, output=output
        )
    except (PdfError, ValueError, OSError) as exc:
        raise SigningError(f"could not add the document timestamp: {exc}") from exc
    return output.getvalue()


def _validation_context(
    ca: CertificateAuthority, signatures: Iterable[EmbeddedPdfSignature]
) -> ValidationContext:
    """Revocation data for every certificate the signatures and the new timestamp rely on."""
    certificates = {ca.tsa.certificate.serial_number: ca.tsa.certificate}
    for signature in signatures:
        for certificate in _certificates_in(signature.signed_data):
            if certificate.issuer == ca.issuing_certificate.subject:
                certificates[certificate.serial_number] = certificate
    # The issuing CA is covered by the root's CRL: a root-signed OCSP response would need a
    # proof of existence for the root itself, which pyHanko's past validation cannot find.
    ocsps = [
        _ocsp(ca, certificate, ca.issuing_certificate) for certificate in certificates.values()
    ]
    return ValidationContext(
        trust_roots=[_to_asn1(ca.root_certificate)],
        other_certs=[_to_asn1(ca.issuing_certificate), _to_asn1(ca.tsa.certificate)],
        crls=[ca.crl_der(), ca.root_crl_der()],
        ocsps=ocsps,
        allow_fetching=False,
        revocation_mode="hard-fail",
    )


def _certificates_in(signed_data: cms.SignedData) -> Iterable[x509.Certificate]:
    """Certificates in a CMS signature and in the timestamp tokens inside its attributes."""
    for choice in signed_data["certificates"] or ():
        if choice.name == "certificate":
            yield x509.load_der_x509_certificate(choice.chosen.dump())
    for signer_info in signed_data["signer_infos"]:
        for attribute in signer_info["unsigned_attrs"] or ():
            if attribute["type"].native == "signature_time_stamp_token":
                for token in attribute["values"]:
                    yield from _certificates_in(token["content"])


def _ocsp(
    ca: CertificateAuthority, certificate: x509.Certificate, issuer: x509.Certificate
) -> bytes:
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(certificate, issuer, hashes.SHA1())
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    response = ca.ocsp_response(request)
    status = ocsp.load_der_ocsp_response(response).response_status
    if status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise SigningError(f"the CA's OCSP responder answered {status.name}")
    return response


def _to_asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))
