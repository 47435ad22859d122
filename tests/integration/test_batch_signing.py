"""One drawing, one confirmation, several signatures: every field of a role, and a batch.

Each signature is a PAdES incremental update that keeps the earlier ones valid (pyHanko and
poppler's pdfsig both check); the audit trail ties them to one drawing and one intent
session, and a drawing never outlives its session.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

import backend.app as app_module
from backend import signing
from backend.config import get_settings
from backend.evidence.tables import AuditEvent
from tests.integration.api_org import new_org_auth
from tests.integration.journey import (
    car_purchase_body,
    confirm_code,
    fresh_phones,
    handwriting_strokes,
    read_all_pages,
    unlock_batch,
    wait_for_sms,
)
from tests.unit.identity.support import relaxed


@pytest.fixture
def no_resend_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """A second SMS code at once (these tests confirm twice on purpose)."""
    settings = relaxed(get_settings())
    monkeypatch.setattr(app_module, "get_settings", lambda: settings)


async def _events(envelope_id: str, *kinds: str) -> list[dict[str, Any]]:
    rows = (
        await AuditEvent.select(AuditEvent.kind, AuditEvent.data, AuditEvent.seq)
        .where(AuditEvent.envelope == uuid.UUID(envelope_id))
        .order_by(AuditEvent.seq)
    )
    out = []
    for row in rows:
        if row["kind"] in kinds:
            data = row["data"] if isinstance(row["data"], dict) else json.loads(row["data"])
            out.append({"kind": row["kind"], **data})
    return out


async def _validated(client: Any, pdf: bytes, pdfsig: str, tmp_path: Path, count: int) -> None:
    """``count`` signatures, every one intact, valid and trusted (pyHanko and poppler)."""
    root = x509.load_pem_x509_certificate((await client.get("/pki/root.pem")).content)
    report = signing.validate_pdf(pdf, [root])
    assert len(report.signatures) == count and report.all_valid, report
    path = tmp_path / f"signed-{uuid.uuid4().hex}.pdf"
    path.write_bytes(pdf)
    done = subprocess.run([pdfsig, "-nocert", str(path)], capture_output=True, text=True)
    assert done.stdout.count("Signature is Valid") == count, done.stdout + done.stderr


async def _draw_and_confirm(client: Any, link: str, name: str = "张三") -> None:
    preview = await client.post(f"{link}/signature", data={"strokes": handwriting_strokes(name)})
    assert preview.status_code == 200, preview.text
    done = await client.post(f"{link}/confirm", follow_redirects=False)
    assert done.status_code == 303, done.text


# ------------------------------------------------------------------ several fields


async def test_one_drawing_signs_every_field_of_the_role(client, auth, outbox, pdfsig, tmp_path):
    buyer, dealer = fresh_phones()
    body = car_purchase_body(buyer, dealer)
    body["data"]["handover_sheet"] = True  # an annex page both parties sign again
    created = await client.post("/api/v1/envelopes", json=body, headers=auth)
    assert created.status_code == 201, created.text
    envelope_id = created.json()["id"]
    await wait_for_sms(outbox, buyer)
    link = outbox.link_for(buyer)
    await read_all_pages(client, link)
    await confirm_code(client, outbox, link, buyer)
    await _draw_and_confirm(client, link)

    pdf = (await client.get(f"/api/v1/envelopes/{envelope_id}/pdf", headers=auth)).content
    await _validated(client, pdf, pdfsig, tmp_path, 2)
    root = x509.load_pem_x509_certificate((await client.get("/pki/root.pem")).content)
    fields = [s.field_name for s in signing.validate_pdf(pdf, [root]).signatures]
    assert fields == ["sig_buyer__handover", "sig_buyer"]  # the main signature covers both

    # One event per field: the same strokes, one intent session, the second a reuse.
    signed = await _events(envelope_id, "signer.field_signed", "signer.signed")
    assert [e["field"] for e in signed] == ["sig_buyer__handover", "sig_buyer"]
    assert len({e["handwriting_strokes_sha256"] for e in signed}) == 1
    reuse = [e["handwriting_reuse"] for e in signed]
    assert len({r["intent_session"] for r in reuse}) == 1
    assert [(r["field_index"], r["fields"], r["reused"]) for r in reuse] == [
        (1, 2, False),
        (2, 2, True),
    ]
    assert signed[0]["document_sha256_after"] == signed[1]["document_sha256_before"]
    confirmed = await _events(envelope_id, "intent.confirmed")
    assert len(confirmed) == 1  # one confirmation for both fields

    # The dealer signs both of theirs on top: four signatures, all still valid.
    await wait_for_sms(outbox, dealer)
    dealer_link = outbox.link_for(dealer)
    await read_all_pages(client, dealer_link)
    await confirm_code(client, outbox, dealer_link, dealer)
    await _draw_and_confirm(client, dealer_link, "李经理")
    status = (await client.get(f"/api/v1/envelopes/{envelope_id}", headers=auth)).json()
    assert status["status"] == "completed"
    pdf = (await client.get(f"/api/v1/envelopes/{envelope_id}/pdf", headers=auth)).content
    await _validated(client, pdf, pdfsig, tmp_path, 4)

    # The evidence report lists every field's signature as valid.
    report = await client.get(f"/api/v1/envelopes/{envelope_id}/evidence", headers=auth)
    assert report.status_code == 200, report.text
    text = _text_of(report.content)
    for field in ("sig_buyer__handover", "sig_buyer", "sig_dealer__handover", "sig_dealer"):
        assert f"签名域 {field} " in text
    assert text.count("校验结果 有效") == 4


def _text_of(pdf: bytes) -> str:
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        return "".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


async def test_a_drawing_from_an_earlier_confirmation_signs_nothing(
    client, auth, outbox, no_resend_wait
):
    buyer, dealer = fresh_phones()
    created = await client.post(
        "/api/v1/envelopes", json=car_purchase_body(buyer, dealer), headers=auth
    )
    envelope_id = created.json()["id"]
    await wait_for_sms(outbox, buyer)
    link = outbox.link_for(buyer)
    await read_all_pages(client, link)
    await confirm_code(client, outbox, link, buyer)
    drawn = await client.post(f"{link}/signature", data={"strokes": handwriting_strokes("张三")})
    assert drawn.status_code == 200

    # A new confirmation (a new intent session) must not pick up the old drawing.
    client.cookies.clear()
    await confirm_code(client, outbox, link, buyer)
    refused = await client.post(f"{link}/confirm", follow_redirects=False)
    assert refused.status_code == 400
    assert "请先手写签名" in refused.text
    assert not await _events(envelope_id, "signer.signed")
    await _draw_and_confirm(client, link)  # drawing again in this session signs
    assert len(await _events(envelope_id, "signer.signed")) == 1


# ------------------------------------------------------------------ a batch


async def _three_waiting(client: Any, auth: dict[str, str], outbox: Any) -> tuple[str, list[str]]:
    """Three agreements waiting for one buyer phone; returns the phone and envelope ids."""
    buyer, _ = fresh_phones()
    ids = []
    for _ in range(3):
        _, dealer = fresh_phones()
        created = await client.post(
            "/api/v1/envelopes", json=car_purchase_body(buyer, dealer), headers=auth
        )
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    await wait_for_sms(outbox, buyer, count=3)
    return buyer, ids


def _items(page: str) -> list[str]:
    return re.findall(r'name="item" value="([0-9a-f-]{36})"', page)


async def test_a_forwarded_link_shows_its_own_document_not_the_others(
    client, auth, outbox, no_resend_wait
):
    """The list, and every other envelope's pages, need an SMS code sent to the phone."""
    buyer, ids = await _three_waiting(client, auth, outbox)
    links = re.findall(r"/s/[A-Za-z0-9_-]+", " ".join(m["text"] for m in outbox.messages(buyer)))
    link = links[0]
    others = [(await client.get(f"/api/v1/envelopes/{i}", headers=auth)).json() for i in ids[1:]]
    other_signer = others[0]["signers"][0]["id"]

    locked = await client.get(f"{link}/batch")
    assert locked.status_code == 200 and 'data-testid="batch-access-form"' in locked.text
    assert 'data-testid="batch-item"' not in locked.text
    assert not any(e["number"] in locked.text for e in others)
    assert (await client.get(f"{link}/batch/view/{other_signer}")).status_code == 403
    assert (await client.get(f"{link}/batch/view/{other_signer}/pages/0")).status_code == 404
    ticked = {"item": [other_signer], "agree": "yes"}
    assert (await client.post(f"{link}/batch/otp", data=ticked)).status_code == 403

    sent = await client.post(f"{link}/batch/access/otp")
    assert 'data-testid="batch-access-sent"' in sent.text
    right = outbox.code_for(buyer)
    wrong = await client.post(
        f"{link}/batch/access", data={"code": f"{(int(right) + 1) % 10**6:06d}"}
    )
    assert wrong.status_code == 400 and 'data-testid="batch-access-error"' in wrong.text
    assert 'data-testid="batch-item"' not in (await client.get(f"{link}/batch")).text

    await unlock_batch(client, outbox, link, buyer)
    listing = await client.get(f"{link}/batch")
    assert listing.text.count('data-testid="batch-item"') == 3
    assert all(e["number"] in listing.text for e in others)
    # Unlocked for this link in this browser only: the same person's other link asks again.
    assert 'data-testid="batch-access-form"' in (await client.get(f"{links[1]}/batch")).text


async def test_a_batch_is_read_confirmed_once_drawn_once_and_signed(
    client, auth, outbox, pdfsig, tmp_path
):
    buyer, ids = await _three_waiting(client, auth, outbox)
    # Another sender's agreement for the same phone never shows up in this sender's batch.
    other = await new_org_auth("批量签署另一家经销商有限公司")
    _, stranger_dealer = fresh_phones()
    foreign = await client.post(
        "/api/v1/envelopes", json=car_purchase_body(buyer, stranger_dealer), headers=other
    )
    assert foreign.status_code == 201
    await wait_for_sms(outbox, buyer, count=4)
    first = re.search(r"/s/[A-Za-z0-9_-]+", outbox.messages(buyer)[0]["text"])
    assert first
    link = first.group(0)  # one of this sender's links

    offer = await client.get(f"{link}/batch/offer")
    assert 'data-testid="batch-offer"' in offer.text and "2 份" in offer.text
    await unlock_batch(client, outbox, link, buyer)
    page = await client.get(f"{link}/batch")
    assert page.status_code == 200
    assert page.text.count('data-testid="batch-item"') == 3
    items = _items(page.text)
    assert len(items) == 3 and page.text.count("disabled") >= 3  # unread: not tickable yet

    # Ticking before reading is refused with a message the signer can act on.
    early = await client.post(
        f"{link}/batch/otp", data={"item": items, "agree": "yes"}, follow_redirects=False
    )
    assert early.status_code == 400 and "请先打开并阅读" in early.text

    for signer_id in items:
        view = await client.get(f"{link}/batch/view/{signer_id}")
        assert view.status_code == 200
        for i in range(view.text.count('data-testid="doc-page"')):
            image = await client.get(f"{link}/batch/view/{signer_id}/pages/{i}")
            assert image.headers["content-type"] == "image/webp"
    # Another link's signer id is not reachable through this link.
    assert (await client.get(f"{link}/batch/view/{uuid.uuid4()}/pages/0")).status_code == 404

    without_agreeing = await client.post(f"{link}/batch/otp", data={"item": items})
    assert without_agreeing.status_code == 400 and "我已阅读并同意" in without_agreeing.text
    sent = await client.post(f"{link}/batch/otp", data={"item": items, "agree": "yes"})
    assert sent.status_code == 200 and 'data-testid="batch-code-sent"' in sent.text
    code = outbox.code_for(buyer)
    wrong = await client.post(
        f"{link}/batch/verify", data={"item": items, "agree": "yes", "code": "000000"}
    )
    assert wrong.status_code == 400
    ok = await client.post(
        f"{link}/batch/verify",
        data={"item": items, "agree": "yes", "code": code},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == f"{link}/batch/sign"
    pad = await client.get(f"{link}/batch/sign")
    assert 'data-testid="signature-pad"' in pad.text and "3 份文件" in pad.text

    refused = await client.post(f"{link}/batch/signature", data={"strokes": "{}"})
    assert refused.status_code == 400 and 'data-testid="pad-error"' in refused.text
    preview = await client.post(
        f"{link}/batch/signature", data={"strokes": handwriting_strokes("张三")}
    )
    assert preview.status_code == 200
    assert preview.text.count('data-testid="batch-confirm-item"') == 3
    done = await client.post(f"{link}/batch/confirm")
    assert done.status_code == 200
    assert done.text.count('data-ok="yes"') == 3, done.text

    strokes, sessions, positions = set(), set(), []
    for envelope_id in ids:
        status = (await client.get(f"/api/v1/envelopes/{envelope_id}", headers=auth)).json()
        assert status["signers"][0]["status"] == "signed"
        pdf = (await client.get(f"/api/v1/envelopes/{envelope_id}/pdf", headers=auth)).content
        await _validated(client, pdf, pdfsig, tmp_path, 1)
        (event,) = await _events(envelope_id, "signer.signed")
        strokes.add(event["handwriting_strokes_sha256"])
        sessions.add(event["handwriting_reuse"]["intent_session"])
        positions.append(event["handwriting_reuse"]["batch"]["position"])
        (confirmed,) = await _events(envelope_id, "intent.confirmed")
        assert confirmed["batch"]["of"] == 3 and confirmed["batch"]["read_and_agreed"]
        assert confirmed["batch"]["intent_session"] == event["handwriting_reuse"]["intent_session"]
    assert len(strokes) == 1 and len(sessions) == 1 and sorted(positions) == [1, 2, 3]
    foreign_status = (
        await client.get(f"/api/v1/envelopes/{foreign.json()['id']}", headers=other)
    ).json()
    assert foreign_status["signers"][0]["status"] != "signed"

    # The session is spent: nothing more signs with it, and the pad sends back to the list.
    again = await client.post(f"{link}/batch/confirm")
    assert again.status_code == 403
    back = await client.get(f"{link}/batch/sign", follow_redirects=False)
    assert back.status_code in (302, 303) and back.headers["location"] == f"{link}/batch"


async def test_a_batch_drawing_needs_the_fresh_session(client, auth, outbox, no_resend_wait):
    buyer, ids = await _three_waiting(client, auth, outbox)
    link = outbox.link_for(buyer)
    await unlock_batch(client, outbox, link, buyer)
    items = _items((await client.get(f"{link}/batch")).text)
    for signer_id in items:
        view = await client.get(f"{link}/batch/view/{signer_id}")
        for i in range(view.text.count('data-testid="doc-page"')):
            await client.get(f"{link}/batch/view/{signer_id}/pages/{i}")
    chosen = items[:2]

    async def confirm_batch() -> None:
        await client.post(f"{link}/batch/otp", data={"item": chosen, "agree": "yes"})
        ok = await client.post(
            f"{link}/batch/verify",
            data={"item": chosen, "agree": "yes", "code": outbox.code_for(buyer)},
            follow_redirects=False,
        )
        assert ok.status_code == 303, ok.text

    await confirm_batch()
    drawn = await client.post(
        f"{link}/batch/signature", data={"strokes": handwriting_strokes("张三")}
    )
    assert drawn.status_code == 200
    # A second confirmation opens a new session: the first drawing is not carried over.
    await confirm_batch()
    done = await client.post(f"{link}/batch/confirm")
    assert done.status_code == 200
    assert done.text.count('data-ok="no"') == 2 and 'data-ok="yes"' not in done.text
    for envelope_id in ids:
        assert not await _events(envelope_id, "signer.signed")


async def test_a_dealer_adds_the_handover_sheet_with_one_tick(client, auth, outbox):
    from tests.integration.test_flows_dealer import _logged_in

    await _logged_in(client, auth, outbox)
    form = await client.get("/app/new/car-purchase")
    assert re.search(r'name="handover_sheet" type="checkbox"', form.text)
    buyer, dealer = fresh_phones()
    body = car_purchase_body(buyer, dealer)["data"]
    fields = {
        "signer.buyer.name": "张三", "signer.buyer.phone": buyer,
        "signer.dealer.name": "李经理", "signer.dealer.phone": dealer,
        "buyer.name": "张三", "buyer.phone": buyer, "vehicle.model": body["vehicle"]["model"],
        "vehicle.vin": body["vehicle"]["vin"], "vehicle.colour": body["vehicle"]["colour"],
        "price": "189800", "delivery_date": body["delivery_date"],
        "dealer.name": "演示汽车销售服务有限公司", "handover_sheet": "是",
    }  # fmt: skip
    made = await client.post("/app/new/car-purchase", data=fields, follow_redirects=False)
    assert made.status_code == 303, made.text
    await wait_for_sms(outbox, buyer)
    page = await client.get(outbox.link_for(buyer))
    assert page.text.count('data-testid="doc-page"') == 3  # the contract and its annex


async def test_a_seal_covers_every_box_of_its_role(client, auth, outbox, pdfsig, tmp_path):
    from tests.integration.test_flows_dealer import _logged_in

    buyer, dealer = fresh_phones()
    body = car_purchase_body(buyer, dealer)
    body["data"]["handover_sheet"] = True
    body["signers"][1] = {"role": "dealer", "name": "演示汽车销售服务有限公司", "stamp": True}
    created = await client.post("/api/v1/envelopes", json=body, headers=auth)
    assert created.status_code == 201, created.text
    envelope_id = created.json()["id"]
    await wait_for_sms(outbox, buyer)
    link = outbox.link_for(buyer)
    await read_all_pages(client, link)
    await confirm_code(client, outbox, link, buyer)
    await _draw_and_confirm(client, link)

    seal = await client.post("/api/v1/seals", json={"name": "合同专用章"}, headers=auth)
    stamper = await _logged_in(client, auth, outbox, roles=("stamper",))
    form = {"seal": seal.json()["id"], "envelope": [envelope_id]}
    await client.post("/app/stamps/code", data=form)
    code = re.search(r"验证码(\d{6})", outbox.last(stamper)["text"])
    assert code
    done = await client.post("/app/stamps", data={**form, "code": code.group(1)})
    assert "已盖章 1 份" in done.text

    pdf = (await client.get(f"/api/v1/envelopes/{envelope_id}/pdf", headers=auth)).content
    await _validated(client, pdf, pdfsig, tmp_path, 4)
    sealed = await _events(envelope_id, "signer.field_signed", "signer.signed")
    assert [e["field"] for e in sealed if e.get("method") == "seal"] == [
        "sig_dealer__handover",
        "sig_dealer",
    ]


async def test_what_a_batch_leaves_out_and_bad_input(client, auth, outbox):
    """Envelopes needing their own identity step stay out (and unreadable here); odd
    selections get a message, never a 500."""
    buyer, dealer = fresh_phones()
    plain = await client.post(
        "/api/v1/envelopes", json=car_purchase_body(buyer, dealer), headers=auth
    )
    assert plain.status_code == 201
    guarded_body = car_purchase_body(buyer, fresh_phones()[1])
    guarded_body["signers"][0]["identity"] = "bank4"
    guarded = await client.post("/api/v1/envelopes", json=guarded_body, headers=auth)
    assert guarded.status_code == 201, guarded.text
    await wait_for_sms(outbox, buyer, count=2)
    first = re.search(r"/s/[A-Za-z0-9_-]+", outbox.messages(buyer)[0]["text"])
    assert first
    link = first.group(0)

    await unlock_batch(client, outbox, link, buyer)
    page = await client.get(f"{link}/batch")
    assert page.text.count('data-testid="batch-item"') == 1
    assert page.text.count('data-testid="batch-blocked"') == 1 and "实名认证" in page.text
    guarded_id = guarded.json()["signers"][0]["id"]
    assert guarded_id not in _items(page.text)
    assert (await client.get(f"{link}/batch/view/{guarded_id}")).status_code == 404
    assert (await client.get(f"{link}/batch/view/{guarded_id}/pages/0")).status_code == 404

    for form in (
        {"item": [guarded_id], "agree": "yes"},  # not eligible here
        {"item": ["x" * 5000], "agree": "yes"},
        {"item": [str(uuid.uuid4())] * 300, "agree": "yes"},
        {"agree": "yes"},  # nothing ticked
    ):
        for step in ("otp", "verify"):
            answer = await client.post(f"{link}/batch/{step}", data={**form, "code": "12"})
            assert answer.status_code == 400, (step, form, answer.text[:200])
            assert 'data-testid="batch-error"' in answer.text
    # Without a confirmed session the later steps send back or refuse.
    assert (await client.post(f"{link}/batch/signature", data={"strokes": "{}"})).status_code == 403
    assert (await client.post(f"{link}/batch/confirm")).status_code == 403
