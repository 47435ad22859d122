"""The RFC 3161 time-stamping authority, spoken to as pyHanko, openssl and curl would."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign.timestamps import TimeStamper

from backend.signing import (
    TIMESTAMP_QUERY_CONTENT_TYPE,
    TIMESTAMP_REPLY_CONTENT_TYPE,
    TSA_POLICY_OID,
    CertificateAuthority,
    LocalTimeStamper,
    TimeStampAuthority,
)

DER = serialization.Encoding.DER
DOCUMENT = b"SignLink waybill 2026-0042, received in good order\n"


def request_der(
    data: bytes = DOCUMENT,
    *,
    algorithm: str = "sha256",
    nonce: int | None = 0x5EED,
    cert_req: bool = True,
    policy: str | None = None,
) -> bytes:
    digest = hashlib.new(algorithm.replace("_", "-"), data).digest()
    fields: dict[str, object] = {
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": algorithm}, "hashed_message": digest},
        "cert_req": cert_req,
    }
    if nonce is not None:
        fields["nonce"] = nonce
    if policy is not None:
        fields["req_policy"] = policy
    return tsp.TimeStampReq(fields).dump()


class TimeStampResp(core.Sequence):
    """RFC 3161's TimeStampResp (asn1crypto's own wrongly requires a token in rejections)."""

    _fields = [  # noqa: RUF012
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def parse(reply: bytes) -> TimeStampResp:
    return TimeStampResp.load(reply, strict=True)


def failure(reply: bytes) -> tuple[str, set[str]]:
    status = parse(reply)["status"]
    return status["status"].native, set(status["fail_info"].native or ())


def token_parts(reply: bytes) -> tuple[cms.SignedData, tsp.TSTInfo]:
    token = parse(reply)["time_stamp_token"]
    assert token["content_type"].native == "signed_data"
    signed_data = token["content"]
    return signed_data, signed_data["encap_content_info"]["content"].parsed


@pytest.fixture(scope="module")
def tsa(ca: CertificateAuthority) -> TimeStampAuthority:
    return ca.tsa


@pytest.fixture(scope="module")
def pem_files(ca: CertificateAuthority, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """root.pem (the trust anchor) and untrusted.pem (issuing CA + TSA) for openssl."""
    directory = tmp_path_factory.mktemp("openssl")
    (directory / "root.pem").write_bytes(ca.root_pem())
    (directory / "untrusted.pem").write_bytes(
        ca.issuing_certificate.public_bytes(serialization.Encoding.PEM) + ca.tsa.certificate_pem()
    )
    return directory


def openssl(*args: str) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("openssl")
    if executable is None:
        pytest.fail("openssl not found (apt-get install -y openssl)")
    return subprocess.run([executable, *args], capture_output=True, text=True)


def test_grants_a_request_built_with_asn1crypto(tsa: TimeStampAuthority) -> None:
    # A fixed sub-second part, inside the TSA certificate's validity (made when the suite started).
    now = (datetime.now(UTC) + timedelta(seconds=5)).replace(microsecond=123456)

    reply = tsa.respond(request_der(nonce=0xC0FFEE), now=now)

    assert parse(reply)["status"]["status"].native == "granted"
    signed_data, info = token_parts(reply)
    assert info["policy"].dotted == TSA_POLICY_OID
    assert info["message_imprint"]["hashed_message"].native == hashlib.sha256(DOCUMENT).digest()
    assert info["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"
    assert info["nonce"].native == 0xC0FFEE
    assert info["gen_time"].native == now.replace(microsecond=123000)
    assert info["accuracy"]["seconds"].native == 1
    assert info["serial_number"].native > 2**64
    assert info["tsa"].chosen == tsa_subject(tsa)
    # certReq: the TSA certificate and its issuing CA; the root comes from the trust store.
    embedded = {c.chosen.sha256 for c in signed_data["certificates"]}
    assert embedded == {
        der_sha256(tsa.certificate.public_bytes(DER)),
        der_sha256(tsa.chain[0].public_bytes(DER)),
    }


def tsa_subject(tsa: TimeStampAuthority) -> asn1_x509.Name:
    return asn1_x509.Certificate.load(tsa.certificate.public_bytes(DER)).subject


def der_sha256(der: bytes) -> bytes:
    return hashlib.sha256(der).digest()


def test_token_signature_and_signing_certificate_v2(tsa: TimeStampAuthority) -> None:
    signed_data, _ = token_parts(tsa.respond(request_der()))
    (signer_info,) = signed_data["signer_infos"]
    attrs = {a["type"].native: a["values"][0] for a in signer_info["signed_attrs"]}

    content = signed_data["encap_content_info"]["content"].contents
    assert attrs["content_type"].native == "tst_info"
    assert attrs["message_digest"].native == hashlib.sha256(content).digest()
    (ess_cert_id,) = attrs["signing_certificate_v2"]["certs"]
    tsa_der = tsa.certificate.public_bytes(DER)
    assert ess_cert_id["cert_hash"].native == hashlib.sha256(tsa_der).digest()
    assert ess_cert_id["issuer_serial"]["serial_number"].native == tsa.certificate.serial_number
    assert signer_info["signature_algorithm"]["algorithm"].native == "sha256_ecdsa"
    public_key = tsa.certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(  # raises InvalidSignature if wrong
        signer_info["signature"].native,
        signer_info["signed_attrs"].untag().dump(),  # signed as a SET OF, not [0]
        ec.ECDSA(hashes.SHA256()),
    )


def test_certificates_only_when_asked(tsa: TimeStampAuthority) -> None:
    signed_data, info = token_parts(tsa.respond(request_der(cert_req=False, nonce=None)))

    assert not signed_data["certificates"]
    assert info["nonce"].native is None


def test_every_token_has_a_fresh_serial(tsa: TimeStampAuthority) -> None:
    serials = {token_parts(tsa.respond(request_der()))[1]["serial_number"].native for _ in range(5)}

    assert len(serials) == 5


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", "bad_request"),
        (b"GET / HTTP/1.1\r\n\r\n", "bad_request"),
        (b"\x30\x82\xff\xff" + b"\x00" * 20, "bad_request"),
        (request_der() + b"trailing", "bad_request"),
        (b"\x30" * 100_000, "bad_request"),
        (request_der(algorithm="sha1"), "bad_alg"),
        (request_der(algorithm="md5"), "bad_alg"),
        (request_der(policy="1.2.3.4"), "unaccepted_policy"),
    ],
    ids=["empty", "http", "truncated", "trailing", "huge", "sha1", "md5", "policy"],
)
def test_bad_requests_are_rejected_not_raised(
    tsa: TimeStampAuthority, body: bytes, expected: str
) -> None:
    reply = tsa.respond(body)

    assert failure(reply) == ("rejection", {expected})
    assert parse(reply)["status"]["status_string"].native
    assert b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02" not in reply  # no SignedData


def test_digest_of_the_wrong_length_is_bad_data_format(tsa: TimeStampAuthority) -> None:
    request = tsp.TimeStampReq.load(request_der())
    forged = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                "hashed_message": request["message_imprint"]["hashed_message"].native[:20],
            },
        }
    )

    assert failure(tsa.respond(forged.dump())) == ("rejection", {"bad_data_format"})


def test_no_tokens_outside_the_tsa_certificate_lifetime(tsa: TimeStampAuthority) -> None:
    after_expiry = tsa.certificate.not_valid_after_utc + timedelta(days=1)

    assert failure(tsa.respond(request_der(), now=after_expiry)) == (
        "rejection",
        {"system_failure"},
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        tsa.respond(request_der(), now=datetime(2026, 11, 22, 8, 0))


def test_our_own_policy_may_be_requested(tsa: TimeStampAuthority) -> None:
    assert failure(tsa.respond(request_der(policy=TSA_POLICY_OID)))[0] == "granted"


def test_openssl_query_is_granted_and_openssl_verifies_the_reply(
    tsa: TimeStampAuthority, pem_files: Path, tmp_path: Path
) -> None:
    data, query, reply = tmp_path / "waybill.txt", tmp_path / "req.tsq", tmp_path / "resp.tsr"
    data.write_bytes(DOCUMENT)
    made = openssl("ts", "-query", "-data", str(data), "-sha256", "-cert", "-out", str(query))
    assert made.returncode == 0, made.stderr

    reply.write_bytes(tsa.respond(query.read_bytes()))
    text = openssl("ts", "-reply", "-in", str(reply), "-text")
    trust = ("-CAfile", str(pem_files / "root.pem"), "-untrusted", str(pem_files / "untrusted.pem"))
    by_data = openssl("ts", "-verify", "-data", str(data), "-in", str(reply), *trust)
    by_query = openssl("ts", "-verify", "-queryfile", str(query), "-in", str(reply), *trust)
    other = tmp_path / "other.txt"
    other.write_bytes(DOCUMENT.replace(b"good", b"poor"))
    by_other_data = openssl("ts", "-verify", "-data", str(other), "-in", str(reply), *trust)

    assert "Status: Granted." in text.stdout
    assert f"Policy OID: {TSA_POLICY_OID}" in text.stdout
    assert "Verification: OK" in by_data.stdout, by_data.stderr
    assert "Verification: OK" in by_query.stdout, by_query.stderr  # nonce and imprint match
    assert "Verification: OK" not in by_other_data.stdout


def test_openssl_sees_garbage_rejected(tsa: TimeStampAuthority, tmp_path: Path) -> None:
    reply = tmp_path / "resp.tsr"
    reply.write_bytes(tsa.respond(b"definitely not DER"))

    text = openssl("ts", "-reply", "-in", str(reply), "-text")

    assert text.returncode == 0, text.stderr
    assert "Status: Rejected." in text.stdout


async def test_local_timestamper_is_a_pyhanko_timestamper(tsa: TimeStampAuthority) -> None:
    stamper = tsa.timestamper()
    digest = hashlib.sha256(DOCUMENT).digest()

    token = await stamper.async_timestamp(digest, "sha256")  # checks status and nonce

    assert isinstance(stamper, LocalTimeStamper) and isinstance(stamper, TimeStamper)
    info = token["content"]["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == digest
    assert abs(info["gen_time"].native - datetime.now(UTC)) < timedelta(seconds=5)


@pytest.fixture(scope="module")
def tsa_url(tsa: TimeStampAuthority) -> Iterator[str]:
    """``POST /pki/tsa`` as the web layer serves it, on a throwaway local HTTP server."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path != "/pki/tsa":
                self.send_error(404)
                return
            if self.headers.get("Content-Type") != TIMESTAMP_QUERY_CONTENT_TYPE:
                self.send_error(415)
                return
            reply = tsa.respond(body)
            self.send_response(200)
            self.send_header("Content-Type", TIMESTAMP_REPLY_CONTENT_TYPE)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/pki/tsa"
    finally:
        server.shutdown()
        server.server_close()


def test_curl_can_use_it_over_http(tsa_url: str, tmp_path: Path, pem_files: Path) -> None:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl not installed")
    data, query, reply = tmp_path / "waybill.txt", tmp_path / "req.tsq", tmp_path / "resp.tsr"
    data.write_bytes(DOCUMENT)
    assert openssl("ts", "-query", "-data", str(data), "-cert", "-out", str(query)).returncode == 0

    subprocess.run(
        [
            curl, "-sSf", "-H", f"Content-Type: {TIMESTAMP_QUERY_CONTENT_TYPE}",
            "--data-binary", f"@{query}", "-o", str(reply), tsa_url,
        ],
        check=True,
        timeout=10,
    )  # fmt: skip
    verified = openssl(
        "ts", "-verify", "-queryfile", str(query), "-in", str(reply),
        "-CAfile", str(pem_files / "root.pem"), "-untrusted", str(pem_files / "untrusted.pem"),
    )  # fmt: skip

    assert "Verification: OK" in verified.stdout, verified.stderr


def test_pyhanko_http_timestamper_can_use_it(tsa_url: str) -> None:
    from pyhanko.sign.timestamps import HTTPTimeStamper

    digest = hashlib.sha256(DOCUMENT).digest()
    token = asyncio.run(HTTPTimeStamper(tsa_url).async_timestamp(digest, "sha256"))

    info = token["content"]["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == digest
    assert isinstance(info["gen_time"], core.GeneralizedTime)
