"""Manual identity review in two browsers: the signer uploads, a verifier decides on a phone.

The signer keeps the waiting page open; once the organisation's verifier approves on
their own phone, the waiting page moves on to the contract by itself.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from tests.e2e.phone import Phone, phone_profiles, purchase_body, unique_phones

pytestmark = pytest.mark.e2e


def _photo(path: Path, text: str) -> Path:
    im = Image.new("RGB", (960, 640), (228, 220, 205))
    draw = ImageDraw.Draw(im)
    draw.rectangle((60, 60, 900, 580), outline=(40, 40, 40), width=6)
    draw.text((100, 100), text, fill=(20, 20, 20))
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=90)
    path.write_bytes(buf.getvalue())
    return path


def test_a_verifier_approves_on_a_phone_and_the_signer_moves_on(
    server: Any, browser: Any, playwright: Any, screenshots: Path, tmp_path: Path
) -> None:
    body, buyer, _ = purchase_body()
    body["signers"][0]["identity"] = "phone3"
    id_number = body["data"]["buyer"]["id_number"]  # the contract names the buyer's ID
    verifier = unique_phones()[0]
    with server.api() as api:
        created = api.post("/api/v1/envelopes", json=body)
        assert created.status_code == 201, created.text
        envelope_id = created.json()["id"]
        number = created.json()["number"]
        added = api.post(
            "/api/v1/members", json={"name": "王审核", "phone": verifier, "roles": ["verifier"]}
        )
        assert added.status_code == 201, added.text
    link = server.wait_for_link(buyer)
    profiles = phone_profiles(playwright)

    signer_context = browser.new_context(**profiles["android"])
    reviewer_context = browser.new_context(**profiles["wechat"])
    try:
        # The buyer: identity details, then manual review with two photos.
        signer = Phone(signer_context.new_page(), "review-signer", screenshots, check_layout=True)
        page = signer.page
        page.goto(link)
        page.get_by_test_id("identity-start").click()
        expect(page.get_by_test_id("id-name")).to_have_value("张三")
        page.get_by_test_id("id-number").fill(id_number)
        page.get_by_test_id("verify-submit").click()
        page.get_by_test_id("method-manual").click()
        page.get_by_test_id("review-front").set_input_files(str(_photo(tmp_path / "f.jpg", "ID")))
        page.get_by_test_id("review-holding").set_input_files(
            str(_photo(tmp_path / "h.jpg", "HOLDING"))
        )
        signer.shot("upload")
        page.get_by_test_id("verify-submit").click()
        waiting = page.get_by_test_id("review-pending")
        expect(waiting).to_be_visible()
        expect(waiting).to_contain_text("15–30 分钟")
        signer.shot("waiting")

        # The verifier, on their own phone: SMS login, the queue, the request, approve.
        reviewer = Phone(reviewer_context.new_page(), "review-verifier", screenshots)
        reviewer.check_layout = True
        rpage = reviewer.page
        rpage.goto(f"{server.base_url}/app/login")
        rpage.get_by_test_id("login-phone").fill(verifier)
        before = len(server.messages(verifier))
        rpage.get_by_test_id("login-send").click()
        rpage.get_by_test_id("login-code").fill(server.wait_for_code(verifier, before))
        rpage.get_by_test_id("login-submit").click()
        rpage.get_by_test_id("nav-reviews").click()
        row = rpage.get_by_test_id("review-row").filter(has_text=number)
        expect(row).to_have_count(1)
        expect(row).to_contain_text("已等待")
        assert id_number not in rpage.content(), "the queue shows the ID number masked"
        reviewer.shot("queue")
        row.get_by_test_id("review-open").click()
        for testid in ("review-front-image", "review-holding-image"):
            image = rpage.get_by_test_id(testid)
            expect(image).to_be_visible()
            rpage.wait_for_function(
                "el => el.complete && el.naturalWidth > 0", arg=image.element_handle()
            )
        reviewer.shot("detail", full_page=True)
        rpage.get_by_test_id("review-approve").click()
        expect(rpage.get_by_test_id("review-notice")).to_contain_text("已通过")
        expect(rpage.get_by_test_id("review-row").filter(has_text=number)).to_have_count(0)
        reviewer.shot("approved")

        # The buyer's waiting page moves on without a tap (it polls every 10 s).
        page.wait_for_url(re.compile(r"/s/[A-Za-z0-9_-]+$"), timeout=30_000)
        expect(page.get_by_test_id("identity-start")).to_have_count(0)
        expect(page.get_by_test_id("doc-page").first).to_be_visible()
        signer.shot("moved-on")
    finally:
        signer_context.close()
        reviewer_context.close()

    assert any("已通过人工审核" in m["text"] for m in server.messages(buyer))
    with server.api() as api:
        status = api.get(f"/api/v1/envelopes/{envelope_id}").json()
    assert status["signers"][0]["identity_verified"] is True
