"""The service around the journey: health, the root certificate, API docs, templates, logs."""

from __future__ import annotations

import logging

from cryptography import x509

from backend.logging_setup import JsonFormatter, mask_personal_data


async def test_health(client):
    answer = await client.get("/healthz")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}
    assert answer.headers["x-request-id"]


async def test_root_certificate_is_a_ca(client):
    pem = (await client.get("/pki/root.pem")).content
    cert = x509.load_pem_x509_certificate(pem)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


async def test_openapi_lists_the_api(client):
    schema = (await client.get("/api/docs/openapi.json")).json()
    assert "/api/v1/envelopes" in schema["paths"]
    assert "/api/v1/envelopes/{envelope_id}/pdf" in schema["paths"]


async def test_templates_describe_their_fields(client, auth):
    templates = (await client.get("/api/v1/templates", headers=auth)).json()
    car = next(t for t in templates if t["key"] == "car-purchase")
    assert [r["key"] for r in car["roles"]] == ["buyer", "dealer"]
    assert any(f["path"] == "vehicle.vin" for f in car["fields"])


def test_logs_never_carry_phone_or_id_numbers():
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "to 13800138000 id 11010519491231002X", (), None
    )
    record.fields = {"phone": "13912345678", "card": "6222021234567890123"}
    line = JsonFormatter().format(record)
    for secret in ("13800138000", "11010519491231002X", "13912345678", "6222021234567890123"):
        assert secret not in line
    assert "138****8000" in mask_personal_data("13800138000")


async def test_time_stamping_service_answers_rfc3161(client):
    import hashlib
    import os

    from asn1crypto import algos, tsp

    req = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                "hashed_message": hashlib.sha256(b"contract").digest(),
            },
            "nonce": int.from_bytes(os.urandom(8), "big"),
            "cert_req": True,
        }
    )
    answer = await client.post(
        "/pki/tsa",
        content=req.dump(),
        headers={"Content-Type": "application/timestamp-query"},
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/timestamp-reply")
    reply = tsp.TimeStampResp.load(answer.content)
    assert reply["status"]["status"].native == "granted"
    info = reply["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert info["nonce"].native == req["nonce"].native
    garbage = await client.post("/pki/tsa", content=b"not der")
    assert garbage.status_code == 200
    assert garbage.content[:1] == b"\x30"
