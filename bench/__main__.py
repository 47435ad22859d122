"""`python -m bench`: the hot paths of one signature, against an in-process baseline.

The baseline is a fixed CPU workload (SHA-256 over 32 MiB); ratios to it stay comparable
between a laptop and CI, where raw milliseconds do not.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from PIL import Image, ImageDraw

from backend import documents, signing
from bench.timing import measure


def handwriting() -> bytes:
    im = Image.new("RGBA", (600, 260), (0, 0, 0, 0))
    draw = ImageDraw.Draw(im)
    for i in range(6):
        x = 60 + i * 80
        draw.line([(x, 60), (x + 50, 120), (x + 10, 200), (x + 70, 210)], fill="#111", width=9)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def main() -> None:
    block = b"\x5a" * (32 * 1024 * 1024)
    baseline = measure(lambda: hashlib.sha256(block).digest(), 5)

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
    signers = {"buyer": "张三", "dealer": "李经理"}

    def render() -> documents.RenderedDocument:
        return documents.render_document(
            template, data, document_number="SL-BENCH-1", signers=signers
        )

    doc = render()
    with tempfile.TemporaryDirectory() as tmp:
        ca = signing.CertificateAuthority.load_or_create(Path(tmp), b"bench-master-key" * 3)
        ink = handwriting()

        def sign() -> signing.SignedRevision:
            intent = signing.SigningIntent(
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
            return signing.sign_intent(doc.pdf, intent, ca)

        signed = sign()
        rows = [
            ("render contract PDF (2 pages)", measure(render, 5)),
            (
                "page image, 1080 px WebP",
                measure(
                    lambda: documents.render_page_image(signed.pdf, 1, width=1080, format="webp"), 5
                ),
            ),
            ("sign one field (PAdES B-T, visible)", measure(sign, 5)),
            (
                "validate one signature",
                measure(lambda: signing.validate_pdf(signed.pdf, [ca.root_certificate]), 5),
            ),
        ]
    print(f"baseline: sha256 of 32 MiB = {baseline:.1f} ms")
    print(f"{'operation':42} {'median ms':>10} {'x baseline':>11}")
    for name, ms in rows:
        print(f"{name:42} {ms:10.1f} {ms / baseline:11.2f}")


if __name__ == "__main__":
    main()
