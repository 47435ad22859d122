"""English pages say nothing in Chinese except the data: names, titles, what people typed.

Every page a signer, a dealer or a verifier sees is fetched with ``Accept-Language: en``,
including the answers to bad input (identity checks, SMS codes, uploads, forms), and its
visible text (and the attributes people read: titles, labels, alt text, placeholders aside)
is searched for Han characters once the data of this test is taken out.
"""

from __future__ import annotations

import io
import re
import uuid
from html.parser import HTMLParser
from typing import Any

import pytest

import backend.app as app_module
from backend.config import get_settings
from tests.integration.flows import form_for_test_drive, phone
from tests.integration.journey import car_purchase_body, fresh_phones, sign_as, wait_for_sms
from tests.unit.identity.support import (
    ID_BAD_CHECKSUM,
    ID_MISMATCH,
    claim,
    identity_envelope,
    photo,
    relaxed,
)

EN = {"Accept-Language": "en"}
HAN = re.compile(r"[\u3400-\u9fff]")
# The data of these tests: people, organisations, contract titles, what they typed.
DATA = (
    "演示汽车销售服务有限公司",
    "汽车买卖合同",
    "车辆试乘试驾协议",
    "张三",
    "李经理",
    "王芳",
    "王审核",
    "客户改期",
)
_SKIPPED = {"script", "style", "template"}
_READ_ATTRIBUTES = ("title", "aria-label", "alt")


class _VisibleText(HTMLParser):
    """Text a person sees or hears, minus elements marked as another language (the
    switch back to 中文 is labelled in Chinese on purpose)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._stack: list[tuple[str, bool]] = []

    def _hidden(self) -> bool:
        return any(hidden for _, hidden in self._stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        other_language = (named.get("lang") or "").startswith("zh")
        if tag not in ("meta", "input", "img", "br", "link", "source", "hr"):
            self._stack.append((tag, tag in _SKIPPED or other_language))
        if self._hidden() or other_language:
            return
        for name in _READ_ATTRIBUTES:
            if named.get(name):
                self.found.append(f"{tag}[{name}]: {named[name]}")
        if tag == "meta" and named.get("name") in ("description", "apple-mobile-web-app-title"):
            self.found.append(f"meta {named.get('name')}: {named.get('content')}")

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self._hidden() and data.strip():
            self.found.append(data.strip())


def chinese_left(html: str) -> list[str]:
    parser = _VisibleText()
    parser.feed(html)
    left = []
    for text in parser.found:
        stripped = text
        for value in DATA:
            stripped = stripped.replace(value, "")
        if HAN.search(stripped):
            left.append(text)
    return left


def assert_english(answer: Any, what: str) -> None:
    assert answer.status_code < 500, (what, answer.text[:300])
    assert '<html lang="en">' in answer.text or "<html" not in answer.text, what
    assert not chinese_left(answer.text), (what, chinese_left(answer.text))


@pytest.fixture
def settings_for_identity(monkeypatch):
    settings = relaxed(get_settings())
    monkeypatch.setattr(app_module, "get_settings", lambda: settings)
    return settings


def test_the_checker_finds_chinese_and_ignores_data() -> None:
    assert chinese_left('<html lang="en"><p>验证码错误</p></html>') == ["验证码错误"]
    assert chinese_left('<p title="请上传">x</p>') == ["p[title]: 请上传"]
    assert not chinese_left("<p>张三 (Buyer)</p><script>var s = '中文';</script>")
    assert not chinese_left('<button lang="zh-CN">中文</button>')


async def test_the_signer_journey_in_english(client, auth, outbox) -> None:
    buyer, dealer = fresh_phones()
    created = await client.post(
        "/api/v1/envelopes", json=car_purchase_body(buyer, dealer), headers=auth
    )
    assert created.status_code == 201, created.text
    envelope_id = created.json()["id"]
    await wait_for_sms(outbox, buyer)
    link = outbox.link_for(buyer)

    assert_english(await client.get(link, headers=EN), "read page")
    too_early = await client.post(f"{link}/otp/verify", data={"code": "12"}, headers=EN)
    assert_english(too_early, "code before reading")
    assert_english(await client.get(f"{link}/decline", headers=EN), "decline page")
    await sign_as(client, outbox, link, buyer)
    done = await client.get(f"{link}/done", headers=EN)
    assert 'data-testid="download-signed"' in done.text
    assert_english(done, "done page")

    await wait_for_sms(outbox, dealer)
    dealer_link = outbox.link_for(dealer)
    no_reason = await client.post(f"{dealer_link}/decline", data={"reason": ""}, headers=EN)
    assert no_reason.status_code == 400 and 'data-testid="decline-error"' in no_reason.text
    assert_english(no_reason, "decline without a reason")

    # the verify report of the signed PDF, and of things that are not one
    pdf = (await client.get(f"/api/v1/envelopes/{envelope_id}/pdf", headers=auth)).content
    for name, body in (("signed PDF", pdf), ("not a PDF", b"nope"), ("broken PDF", b"%PDF-1.7")):
        report = await client.post(
            "/verify", files={"file": ("a.pdf", io.BytesIO(body), "application/pdf")}, headers=EN
        )
        assert 'data-testid="verify-' in report.text, name
        assert_english(report, f"verify: {name}")
    report = await client.post(
        "/verify", files={"file": ("a.pdf", io.BytesIO(pdf), "application/pdf")}, headers=EN
    )
    assert "All 1 signatures are valid" in report.text
    assert "With a trusted timestamp (PAdES B-T)." in report.text


async def test_identity_steps_and_their_errors_in_english(
    client, auth, outbox, settings_for_identity
) -> None:
    _, link, buyer = await identity_envelope(client, auth, outbox)
    assert_english(await client.get(f"{link}/identity", headers=EN), "identity start")
    bad = await client.post(
        f"{link}/identity",
        data={"name": "张三", "id_type": "id_card", "id_number": ID_BAD_CHECKSUM},
        headers=EN,
    )
    assert bad.status_code == 400 and "check digit" in bad.text
    assert_english(bad, "bad ID number")
    empty = await client.post(
        f"{link}/identity", data={"name": "张三", "id_type": "", "id_number": ""}, headers=EN
    )
    assert_english(empty, "empty claim")
    assert (await claim(client, link, ID_MISMATCH)).status_code == 303
    methods = await client.get(f"{link}/identity/methods", headers=EN)
    assert "Resident ID card" in methods.text
    assert_english(methods, "methods")
    for page in ("phone3", "bank4", "manual"):
        assert_english(await client.get(f"{link}/identity/{page}", headers=EN), page)
    bad_card = await client.post(
        f"{link}/identity/bank4/code", data={"card": "123", "mobile": "1"}, headers=EN
    )
    assert_english(bad_card, "bad bank card")
    sent = await client.post(f"{link}/identity/phone3/code", headers=EN)
    assert_english(sent, "phone3 code sent")
    wrong = await client.post(f"{link}/identity/phone3", data={"code": "000000"}, headers=EN)
    assert "Wrong code; 4 attempts left." in wrong.text
    assert_english(wrong, "wrong phone3 code")
    failed = await client.post(
        f"{link}/identity/phone3", data={"code": outbox.code_for(buyer)}, headers=EN
    )
    assert 'data-outcome="mismatch"' in failed.text
    assert_english(failed, "phone3 mismatch")

    # manual review: refused uploads, then the waiting page
    holding = ("h.jpg", photo(), "image/jpeg")
    refused = await client.post(
        f"{link}/identity/manual",
        files={"front": ("f.jpg", b"%PDF", "image/jpeg"), "holding": holding},
        headers=EN,
    )
    assert "The photo of the front of the ID cannot be read" in refused.text
    assert_english(refused, "manual upload not an image")
    sent_photos = await client.post(
        f"{link}/identity/manual",
        files={"front": ("f.jpg", photo(), "image/jpeg"), "holding": holding},
        follow_redirects=False,
    )
    assert sent_photos.status_code == 303
    assert_english(await client.get(f"{link}/identity/manual", headers=EN), "manual pending")


async def test_the_face_step_in_english(client, auth, outbox) -> None:
    _, link, _ = await identity_envelope(client, auth, outbox, level="face")
    page = await client.get(f"{link}/face", headers=EN)
    assert page.status_code == 200
    assert_english(page, "face page")
    challenge = await client.post(f"{link}/face/challenge", headers=EN)
    prompts = challenge.json()["prompts"]
    assert prompts and not any(HAN.search(p) for p in prompts)
    nothing = await client.post(f"{link}/face/verify", data={"challenge": "x"}, headers=EN)
    assert_english(nothing, "face check with nothing sent")
    chinese = await client.post(f"{link}/face/challenge")
    assert all(p.startswith("请") for p in chinese.json()["prompts"])  # zh-CN stays


async def test_the_dealer_pages_in_english(client, outbox) -> None:
    from tests.integration.api_org import new_org_auth

    # an organisation of its own: its list holds only this test's agreements
    auth = await new_org_auth("English Dealer Motors")
    mobile = phone()
    added = await client.post(
        "/api/v1/members",
        json={"name": "李经理", "phone": mobile, "roles": ["sender"]},
        headers=auth,
    )
    assert added.status_code == 201, added.text
    try:
        assert_english(await client.get("/app/login", headers=EN), "login")
        bad = await client.post("/app/login/code", data={"phone": "12"}, headers=EN)
        assert_english(bad, "login with a bad number")
        sent = await client.post("/app/login/code", data={"phone": mobile}, headers=EN)
        assert_english(sent, "login code sent")
        wrong = await client.post("/app/login", data={"phone": mobile, "code": "0"}, headers=EN)
        assert_english(wrong, "wrong login code")
        code = re.search(r"登录验证码为(\d{6})", outbox.last(mobile)["text"])
        assert code
        await client.post("/app/login", data={"phone": mobile, "code": code.group(1)})
        for path in ("/app", "/app?status=sent", "/app/new", "/app/new/test-drive"):
            assert_english(await client.get(path, headers=EN), path)
        broken = await client.post(
            "/app/new/test-drive",
            data={"customer.licence_number": "123", "signer.dealer.phone": "1"},
            headers=EN,
        )
        assert broken.status_code == 400
        assert_english(broken, "form with errors")

        customer, dealer = phone(), phone()
        fields = form_for_test_drive(customer, dealer)
        made = await client.post("/app/new/test-drive", data=fields, follow_redirects=False)
        assert made.status_code == 303, made.text
        detail_url = made.headers["location"]
        detail = await client.get(detail_url, headers=EN)
        assert_english(detail, "envelope detail")
        share = re.search(r'value="https?://[^/"]+(/p/[A-Za-z0-9_-]+)"', detail.text)
        assert share
        card = await client.get(share.group(1), headers=EN)
        assert "is waiting for 王芳 to sign" in card.text
        assert_english(card, "share page")
        chinese_card = await client.get(share.group(1))
        assert "《车辆试乘试驾协议》待王芳签署" in chinese_card.text  # what WeChat's crawler gets
        envelope_id = detail_url.rsplit("/", 1)[1]
        shown = (await client.get(f"/api/v1/envelopes/{envelope_id}", headers=auth)).json()
        customer_id = next(s["id"] for s in shown["signers"] if s["role"] == "customer")
        reminded = await client.post(
            f"/app/envelopes/{envelope_id}/remind/{customer_id}", headers=EN
        )
        assert_english(reminded, "remind too soon")
        no_reason = await client.post(
            f"/app/envelopes/{envelope_id}/void", data={"reason": ""}, headers=EN
        )
        assert_english(no_reason, "void without a reason")
        voided = await client.post(
            f"/app/envelopes/{envelope_id}/void", data={"reason": "客户改期"}, headers=EN
        )
        assert "Voided" in voided.text
        assert_english(voided, "voided")
    finally:
        client.cookies.clear()


async def test_public_pages_and_api_errors_in_english(client, auth) -> None:
    for path in ("/", "/offline", "/verify", "/no-such-page", "/s/AAAAAAAAAAAAAAAAAAAAAA"):
        assert_english(await client.get(path, headers=EN), path)
    answers = [
        await client.get("/api/v1/envelopes", headers=EN),
        await client.post("/api/v1/envelopes", content=b"{", headers={**auth, **EN}),
        await client.post(
            "/api/v1/envelopes",
            json={"template": "car-purchase", "data": {}, "signers": []},
            headers={**auth, **EN},
        ),
        await client.post("/api/v1/verify", content=b"nope", headers={**auth, **EN}),
    ]
    for answer in answers:
        error = answer.json()["error"]
        assert HAN.search(error["message"])  # Chinese first, always
        english = [error["message_en"], *(f["message_en"] for f in error.get("fields", []))]
        assert not [m for m in english if HAN.search(m)], english


async def test_the_reviewers_queue_in_english(client, outbox) -> None:
    from tests.integration.api_org import new_org_auth
    from tests.integration.test_identity_reviewer_pages import (
        log_in,
        review_id_in,
        waiting_review,
    )

    # an organisation of its own: other tests' decisions (their reasons are data) stay out
    auth = await new_org_auth("English Review Motors")
    envelope_id, _, _ = await waiting_review(client, auth, outbox, photo((900, 640), "PNG"))
    number = (await client.get(f"/api/v1/envelopes/{envelope_id}", headers=auth)).json()["number"]
    try:
        await log_in(client, auth, outbox, ["verifier"])
        queue = await client.get("/app/reviews", headers=EN)
        assert_english(queue, "review queue")
        review_id = review_id_in(queue.text, number)
        assert_english(await client.get(f"/app/reviews/{review_id}", headers=EN), "review")
        unclear = await client.post(
            f"/app/reviews/{review_id}/decision", data={"decision": "maybe"}, headers=EN
        )
        assert_english(unclear, "neither approve nor reject")
    finally:
        client.cookies.clear()


async def test_the_create_forms_and_the_stamping_step_in_english(client, outbox) -> None:
    from backend import documents
    from tests.integration.api_org import new_org_auth

    auth = await new_org_auth("English Stamping Motors")
    seal = await client.post("/api/v1/seals", json={"name": "Contract Seal"}, headers=auth)
    assert seal.status_code == 201, seal.text
    mobile = phone()
    added = await client.post(
        "/api/v1/members",
        json={"name": "李经理", "phone": mobile, "roles": ["sender", "stamper"]},
        headers=auth,
    )
    assert added.status_code == 201, added.text
    try:
        await client.post("/app/login/code", data={"phone": mobile}, headers=EN)
        code = re.search(r"登录验证码为(\d{6})", outbox.last(mobile)["text"])
        assert code
        await client.post("/app/login", data={"phone": mobile, "code": code.group(1)})
        for template in documents.list_templates():
            path = f"/app/new/{template.key}"
            form = await client.get(path, headers=EN)
            assert_english(form, path)
            sealed = [role.key for role in template.roles if role.seal]
            assert ('data-testid="stamp-role"' in form.text) == bool(sealed), path
            if sealed:
                assert "Our organisation’s seal" in form.text
            # Nothing filled in but the stamping step: every required field says so.
            empty = await client.post(
                path, data={"stamp_role": sealed[-1] if sealed else ""}, headers=EN
            )
            assert empty.status_code == 400
            assert_english(empty, f"{path} with nothing filled in")

        # The dealer's organisation stamps last instead of a person signing by SMS.
        customer = phone()
        fields = form_for_test_drive(customer, dealer="")
        del fields["signer.dealer.name"], fields["signer.dealer.phone"]
        made = await client.post(
            "/app/new/test-drive", data={**fields, "stamp_role": "dealer"}, headers=EN
        )
        assert made.status_code in (200, 303), made.text
        assert_english(await client.get("/app/stamps", headers=EN), "stamps")
        no_seal = await client.post("/app/stamps", data={"code": "123456"}, headers=EN)
        assert "Choose a seal and at least one agreement." in no_seal.text
        assert_english(no_seal, "stamping without a seal")
        other = await client.post(
            "/app/stamps",
            data={"seal": seal.json()["id"], "envelope": str(uuid.uuid4()), "code": "123456"},
            headers=EN,
        )
        assert 'data-testid="stamp-error"' in other.text
        assert_english(other, "stamping something that is not waiting for the seal")
    finally:
        client.cookies.clear()
