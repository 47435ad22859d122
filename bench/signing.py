"""`python -m bench.signing`: PAdES B-T signatures per second against plain pyHanko.

Signs the two-page car purchase agreement (rendered by backend.documents) the way a signer
does: a fresh event certificate, the visible handwriting + name + China time appearance,
a timestamp from the local TSA. The baseline, in the same run, is plain pyHanko
``sign_pdf`` into the same field with the same key and no timestamp and no appearance
text. Each rate is the best of a few rounds, on one core.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from backend import documents, signing
from backend.signing.pades import _pyhanko_signer
from bench.__main__ import handwriting


def rate(fn: Callable[[], object], seconds: float, rounds: int = 3) -> float:
    """Best operations per second over ``rounds`` runs of about ``seconds`` each."""
    fn()  # warm-up: imports, caches
    best = 0.0
    for _ in range(rounds):
        count, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            fn()
            count += 1
        best = max(best, count / elapsed)
    return best


def agreement() -> documents.RenderedDocument:
    template = documents.get_template("car-purchase")
    assert template is not None
    data = template.validate(
        {
            "buyer": {"name": "张三", "phone": "13800138000"},
            "vehicle": {"model": "比亚迪 汉 EV", "vin": "LGXCE6CD9R0123456", "colour": "星际灰"},
            "price": 189800,
            "delivery_date": (date.today() + timedelta(days=10)).isoformat(),
            "dealer": {"name": "演示汽车销售服务有限公司"},
        }
    )
    return documents.render_document(
        template, data, document_number="SL-BENCH-1", signers={"buyer": "张三", "dealer": "李经理"}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one round")
    args = parser.parse_args()

    doc = agreement()
    ink = handwriting()
    with tempfile.TemporaryDirectory() as tmp:
        ca = signing.CertificateAuthority.load_or_create(
            Path(tmp), b"bench-master-key" * 3, public_url="https://sign.example.com"
        )

        def intent() -> signing.SigningIntent:
            return signing.SigningIntent(
                envelope_id="bench",
                signer_id="bench-buyer",
                signer_name="张三",
                signer_role="buyer",
                field_name="sig_buyer",
                document_sha256=doc.sha256,
                handwriting_png=ink,
                verified_by="sms-otp",
                signed_at=datetime.now(UTC),
            )

        def signlink() -> bytes:
            return signing.sign_intent(doc.pdf, intent(), ca).pdf

        # Same key for every baseline signature, as the brief asks: one event certificate.
        baseline_signer = _pyhanko_signer(ca.issue_event_certificate(intent()))

        def plain_pyhanko() -> bytes:
            out = io.BytesIO()
            signers.sign_pdf(
                IncrementalPdfFileWriter(io.BytesIO(doc.pdf), strict=False),
                signers.PdfSignatureMetadata(
                    field_name="sig_buyer", subfilter=fields.SigSeedSubFilter.PADES
                ),
                signer=baseline_signer,
                existing_fields_only=True,
                output=out,
            )
            return out.getvalue()

        ours = rate(signlink, args.seconds)
        baseline = rate(plain_pyhanko, args.seconds)
        report = signing.validate_pdf(signlink(), [ca.root_certificate])
        assert report.all_valid and report.level == "B-T", report

    print(f"document: car-purchase agreement, 2 pages, {len(doc.pdf) / 1024:.0f} KiB")
    print(f"{'SignLink sign_intent (B-T, visible, local TSA)':50} {ours:8.1f} signatures/s")
    print(f"{'plain pyHanko sign_pdf (no timestamp)':50} {baseline:8.1f} signatures/s")
    print(f"{'ratio SignLink / pyHanko':50} {ours / baseline:8.2f}")


if __name__ == "__main__":
    main()
