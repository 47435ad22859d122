"""`python -m bench.signing`: PAdES B-T signatures per second against plain pyHanko.

Signs the two-page car purchase agreement (rendered by backend.documents) the way a signer
does: a fresh event certificate, the visible handwriting + name + China time appearance
(caption in an embedded font subset), a timestamp from the local TSA. The baseline, in the
same run, is plain pyHanko ``sign_pdf`` into the same field with the same key and no
timestamp and no appearance text. A second SignLink row gives every signature another
signer name (a new font subset each time, as in real use). Rounds of the three take turns,
on one core; the medians are printed.
"""

from __future__ import annotations

import argparse
import io
import itertools
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from backend import documents, signing
from bench.__main__ import handwriting


def pyhanko_signer(event: signing.EventCertificate) -> signers.SimpleSigner:
    """The event certificate as pyHanko's own signer, for the baseline."""

    def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))

    key_der = event.private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return signers.SimpleSigner(
        signing_cert=to_asn1(event.certificate),
        signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs([to_asn1(c) for c in event.chain]),
    )


def rate(fn: Callable[[], object], seconds: float) -> tuple[float, float]:
    """Operations per wall-clock second and per CPU second of ``fn`` over about ``seconds``.

    CPU time (this thread's) is what one core delivers when it is not shared; on a loaded
    machine the wall-clock rate also counts the time other processes held the core.
    """
    count, started, cpu_started = 0, time.perf_counter(), time.thread_time()
    while (elapsed := time.perf_counter() - started) < seconds:
        fn()
        count += 1
    return count / elapsed, count / (time.thread_time() - cpu_started)


def interleaved(
    targets: dict[str, Callable[[], object]], seconds: float, rounds: int
) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) rates of each target over ``rounds`` rounds that take turns."""
    for fn in targets.values():
        fn()  # warm-up: imports, fonts, caches
    rates: dict[str, list[tuple[float, float]]] = {name: [] for name in targets}
    for _ in range(rounds):
        for name, fn in targets.items():
            rates[name].append(rate(fn, seconds))
    return {
        name: (
            statistics.median(wall for wall, _ in values),
            statistics.median(cpu for _, cpu in values),
        )
        for name, values in rates.items()
    }


# Common Chinese surnames and given-name characters: each signature gets another name.
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"


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
    parser.add_argument("--rounds", type=int, default=5, help="rounds per target")
    args = parser.parse_args()

    doc = agreement()
    ink = handwriting()
    with tempfile.TemporaryDirectory() as tmp:
        ca = signing.CertificateAuthority.load_or_create(
            Path(tmp), b"bench-master-key" * 3, public_url="https://sign.example.com"
        )

        names = itertools.cycle(
            s + g1 + g2 for s in _SURNAMES for g1 in _GIVEN for g2 in _GIVEN[::-1]
        )

        def intent(name: str = "张三") -> signing.SigningIntent:
            return signing.SigningIntent(
                envelope_id="bench",
                signer_id="bench-buyer",
                signer_name=name,
                signer_role="buyer",
                field_name="sig_buyer",
                document_sha256=doc.sha256,
                handwriting_png=ink,
                verified_by="sms-otp",
                signed_at=datetime.now(UTC),
            )

        def signlink() -> bytes:
            return signing.sign_intent(doc.pdf, intent(), ca).pdf

        def signlink_new_names() -> bytes:
            return signing.sign_intent(doc.pdf, intent(next(names)), ca).pdf

        # Same key for every baseline signature, as the brief asks: one event certificate.
        baseline_signer = pyhanko_signer(ca.issue_event_certificate(intent()))

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

        rates = interleaved(
            {"ours": signlink, "new names": signlink_new_names, "baseline": plain_pyhanko},
            args.seconds,
            args.rounds,
        )
        for pdf in (signlink(), signlink_new_names()):
            report = signing.validate_pdf(pdf, [ca.root_certificate])
            assert report.all_valid and report.level == "B-T", report

    baseline = rates["baseline"]
    print(f"document: car-purchase agreement, 2 pages, {len(doc.pdf) / 1024:.0f} KiB")
    print(f"medians of {args.rounds} interleaved rounds of {args.seconds:g} s, one thread")
    print(f"{'signatures per second':50} {'wall':>8} {'CPU':>8}")
    for label, (wall, cpu) in (
        ("SignLink sign_intent (B-T, visible, local TSA)", rates["ours"]),
        ("  the same, another signer name every time", rates["new names"]),
        ("plain pyHanko sign_pdf (no timestamp)", baseline),
    ):
        print(f"{label:50} {wall:8.1f} {cpu:8.1f}")
    for label, key in (("ratio SignLink / pyHanko", "ours"), ("  new names", "new names")):
        wall_ratio = rates[key][0] / baseline[0]
        cpu_ratio = rates[key][1] / baseline[1]
        print(f"{label:50} {wall_ratio:8.2f} {cpu_ratio:8.2f}")


if __name__ == "__main__":
    main()
