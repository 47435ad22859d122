"""PAdES B-T: the CA's TSA stamps every signature, which keeps it valid after the 1-day
event certificate has expired."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import cms, tsp

from backend.signing import (
    CertificateAuthority,
    SignedRevision,
    SigningIntent,
    async_validate_pdf,
    sign_intent,
    validate_pdf,
)

MakeIntent = Callable[..., SigningIntent]
PdfSig = Callable[[bytes], list[str]]
PDFSIG_VALID = "Signature is Valid."
LATER = timedelta(days=30)
REQUEST = tsp.TimeStampReq(
    {
        "version": "v1",
        "message_imprint": {
            "hash_algorithm": {"algorithm": "sha256"},
            "hashed_message": b"\1" * 32,
        },
        "nonce": 1,
        "cert_req": True,
    }
).dump()


@pytest.fixture(scope="module")
def unstamped(contract_pdf: bytes, make_intent: MakeIntent, ca: CertificateAuthority) -> bytes:
    """Signed with timestamping deliberately switched off (PAdES B-B)."""
    return sign_intent(contract_pdf, make_intent(contract_pdf), ca, timestamper=False).pdf


def signature_contents(pdf: bytes) -> list[tuple[int, bytes]]:
    """(offset of the hex digits, decoded CMS) for each /Contents <...> of a signature."""
    found = []
    for match in re.finditer(rb"/Contents\s*<([0-9A-Fa-f]+)>", pdf):
        found.append((match.start(1), bytes.fromhex(match.group(1).decode())))
    return found


def backdate_timestamp_token(pdf: bytes) -> bytes:
    """Rewrite the genTime in the first signature's timestamp token one year earlier.

    The token lives in the CMS unsigned attributes, outside the signed byte range: the
    document and the signer's own signature stay intact, only the TSA's signature breaks.
    """
    offset, der = signature_contents(pdf)[0]
    signer_info = cms.ContentInfo.load(der.rstrip(b"\x00"))["content"]["signer_infos"][0]
    (attribute,) = [
        a for a in signer_info["unsigned_attrs"] if a["type"].native == "signature_time_stamp_token"
    ]
    tst_info = attribute["values"][0]["content"]["encap_content_info"]["content"].parsed
    gen_time = tst_info["gen_time"].dump()
    year = gen_time[2:6]
    backdated = gen_time[:2] + str(int(year) - 1).encode() + gen_time[6:]
    assert der.count(gen_time) == 1
    tampered = der.replace(gen_time, backdated)
    return pdf[:offset] + tampered.hex().upper().encode() + pdf[offset + len(der) * 2 :]


def test_default_signature_carries_the_tsa_time(
    signed_by_both: SignedRevision, ca: CertificateAuthority
) -> None:
    report = validate_pdf(signed_by_both.pdf, [ca.root_certificate])

    assert report.all_valid
    for signature in report.signatures:
        assert signature.timestamp_time is not None
        assert abs(signature.timestamp_time - datetime.now(UTC)) < timedelta(minutes=5)
        assert signature.signing_time == signature.timestamp_time
        assert "TIMESTAMP_TOKEN<INTACT:TRUSTED>" in signature.summary


def test_poppler_still_accepts_timestamped_signatures(
    signed_by_both: SignedRevision, pdfsig: PdfSig
) -> None:
    assert pdfsig(signed_by_both.pdf) == [PDFSIG_VALID, PDFSIG_VALID]


def test_timestamped_signatures_stay_trusted_after_the_event_certificate_expired(
    signed_by_both: SignedRevision, ca: CertificateAuthority
) -> None:
    later = datetime.now(UTC) + LATER

    report = validate_pdf(signed_by_both.pdf, [ca.root_certificate], at=later)

    assert report.all_valid
    for signature in report.signatures:
        assert signature.intact and signature.valid and signature.trusted
        assert signature.timestamp_time is not None
        assert signature.timestamp_time < later - LATER + timedelta(minutes=5)


def test_untimestamped_signature_is_trusted_only_while_its_certificate_lives(
    unstamped: bytes, ca: CertificateAuthority, pdfsig: PdfSig
) -> None:
    today = validate_pdf(unstamped, [ca.root_certificate])
    later = validate_pdf(unstamped, [ca.root_certificate], at=datetime.now(UTC) + LATER)

    assert today.all_valid
    (signature,) = today.signatures
    assert signature.timestamp_time is None
    assert "TIMESTAMP" not in signature.summary
    assert not later.all_valid
    (expired,) = later.signatures
    assert expired.intact and expired.valid and not expired.trusted
    assert pdfsig(unstamped) == [PDFSIG_VALID]


def test_the_signers_claimed_time_proves_nothing(
    unstamped: bytes, ca: CertificateAuthority
) -> None:
    """/M says when the signer claims to have signed; it never stands in for a timestamp."""
    (signature,) = validate_pdf(unstamped, [ca.root_certificate]).signatures
    assert signature.signing_time is not None  # the claim is still reported...
    assert signature.timestamp_time is None  # ...but not as proof

    at_claimed_time = signature.signing_time + LATER
    (later,) = validate_pdf(unstamped, [ca.root_certificate], at=at_claimed_time).signatures
    assert not later.trusted


def test_a_tampered_timestamp_token_fails(
    signed_by_buyer: SignedRevision, ca: CertificateAuthority
) -> None:
    tampered = backdate_timestamp_token(signed_by_buyer.pdf)
    assert len(tampered) == len(signed_by_buyer.pdf)

    today = validate_pdf(tampered, [ca.root_certificate])
    later = validate_pdf(tampered, [ca.root_certificate], at=datetime.now(UTC) + LATER)

    for report in (today, later):
        assert not report.all_valid
        (signature,) = report.signatures
        assert signature.intact  # the signed bytes are untouched...
        assert not signature.valid and not signature.trusted  # ...but the token is forged
        assert signature.timestamp_time is None
    assert "TIMESTAMP_TOKEN<INVALID>" in today.signatures[0].summary


def test_tampering_with_an_earlier_token_also_breaks_later_signatures(
    signed_by_both: SignedRevision, ca: CertificateAuthority
) -> None:
    """The dealer's signature covers the buyer's whole signature, token included."""
    report = validate_pdf(backdate_timestamp_token(signed_by_both.pdf), [ca.root_certificate])

    buyer, dealer = report.signatures
    assert not buyer.valid and buyer.timestamp_time is None
    assert not dealer.intact and not dealer.valid


def test_another_tsa_counts_only_if_its_root_is_trusted(
    contract_pdf: bytes,
    make_intent: MakeIntent,
    ca: CertificateAuthority,
    tmp_path: Path,
    master_key: bytes,
) -> None:
    """An external TSA (passed as ``timestamper=``) works once validators trust its root."""
    external = CertificateAuthority.load_or_create(tmp_path / "external", master_key)
    intent = make_intent(contract_pdf)
    signed = sign_intent(contract_pdf, intent, ca, timestamper=external.tsa.timestamper())
    later = datetime.now(UTC) + LATER

    (unknown_tsa,) = validate_pdf(signed.pdf, [ca.root_certificate]).signatures
    both = validate_pdf(signed.pdf, [ca.root_certificate, external.root_certificate], at=later)

    assert unknown_tsa.intact and unknown_tsa.valid
    assert not unknown_tsa.trusted and unknown_tsa.timestamp_time is None
    assert both.all_valid
    assert both.signatures[0].timestamp_time is not None


async def test_at_works_from_async_code_too(
    signed_by_both: SignedRevision, ca: CertificateAuthority
) -> None:
    later = datetime.now(UTC) + LATER

    assert validate_pdf(signed_by_both.pdf, [ca.root_certificate], at=later).all_valid
    assert (await async_validate_pdf(signed_by_both.pdf, [ca.root_certificate], at=later)).all_valid


def test_naive_validation_time_is_refused(
    signed_by_both: SignedRevision, ca: CertificateAuthority
) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        validate_pdf(signed_by_both.pdf, [ca.root_certificate], at=datetime(2030, 1, 1))
