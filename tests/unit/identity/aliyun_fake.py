"""A local HTTP server that speaks Aliyun's RPC protocol, for tests of the real SDK path.

It checks what Aliyun checks before answering: the common parameters, the AccessKeyId,
the HMAC-SHA1 signature recomputed from the request (query and form body together, as
the SDK signs them), a fresh Timestamp and a SignatureNonce never seen before. Then it
answers with the documented shapes of Cloudauth 2019-03-07 (Mobile3MetaDetailVerify,
BankMetaVerify, ContrastFaceVerify) and Dysmsapi 2017-05-25 (SendSms).

Behaviour per identity is chosen by ``scenarios[IdentifyNum]``: match (default),
mismatch (SubCode 201), mismatch_id (202), mismatch_name (203), card_lost (210),
card_number_wrong (BizCode 3, SubCode 304), no_record, throttle,
throttle_once, internal, slow, business_error; for
ContrastFaceVerify by ``scenarios[CertNo]``: match, mismatch (SubCode 204), no_record (202),
id_mismatch (201), liveness_risk (205), internal, slow, business_error (Code 417).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

ACCESS_KEY_ID = "LTAItestkey0001"
ACCESS_KEY_SECRET = "test-secret-0001"
MAX_SKEW = timedelta(minutes=15)
_COMMON = (
    "Format",
    "Version",
    "AccessKeyId",
    "SignatureMethod",
    "Timestamp",
    "SignatureVersion",
    "SignatureNonce",
    "Signature",
    "Action",
)


def percent_encode(value: str) -> str:
    """RFC 3986 as Aliyun specifies it: UTF-8, unreserved characters kept, space as %20."""
    return quote(value, safe="~")


def string_to_sign(method: str, params: dict[str, str]) -> str:
    canonical = "&".join(
        f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items())
    )
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"


def sign(secret: str, text: str) -> str:
    digest = hmac.new((secret + "&").encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class FakeAliyun:
    def __init__(self) -> None:
        self.scenarios: dict[str, str] = {}
        self.sms_scenarios: dict[str, str] = {}
        self.slow_seconds = 2.0
        self.requests: list[dict[str, str]] = []
        self.face_pictures: list[bytes] = []
        self.rejections: list[str] = []
        self._nonces: set[str] = set()
        self._seen_once: set[str] = set()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: no request lines on stderr

            def do_GET(self) -> None:
                fake._handle(self, "GET", b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                fake._handle(self, "POST", self.rfile.read(length))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeAliyun:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def calls(self, action: str) -> list[dict[str, str]]:
        return [r for r in self.requests if r.get("Action") == action]

    # -------------------------------------------------------------- protocol

    def _handle(self, h: BaseHTTPRequestHandler, method: str, body: bytes) -> None:
        params = dict(parse_qsl(urlsplit(h.path).query, keep_blank_values=True))
        if body:
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
        status, answer, delay = self._answer(method, params)
        if delay:
            time.sleep(delay)
        raw = json.dumps(answer, ensure_ascii=False).encode()
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json;charset=utf-8")
            h.send_header("Content-Length", str(len(raw)))
            h.end_headers()
            h.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)

    def _error(self, status: int, code: str, message: str) -> tuple[int, dict[str, Any], float]:
        self.rejections.append(code)
        return status, {"RequestId": str(uuid.uuid4()).upper(), "Code": code, "Message": message}, 0

    def _answer(self, method: str, params: dict[str, str]) -> tuple[int, dict[str, Any], float]:
        missing = [k for k in _COMMON if not params.get(k)]
        if missing:
            return self._error(400, "MissingParameter", f"{missing[0]} is mandatory.")
        if params["AccessKeyId"] != ACCESS_KEY_ID:
            return self._error(
                404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
            )
        if params["SignatureMethod"] != "HMAC-SHA1" or params["SignatureVersion"] != "1.0":
            return self._error(400, "InvalidParameter", "Unsupported signature method.")
        unsigned = {k: v for k, v in params.items() if k != "Signature"}
        expected = sign(ACCESS_KEY_SECRET, string_to_sign(method, unsigned))
        if not hmac.compare_digest(expected, params["Signature"]):
            # Aliyun echoes its string to sign; the SDK compares it with its own.
            return self._error(
                400,
                "SignatureDoesNotMatch",
                "Specified signature is not matched with our calculation. server string to "
                f"sign is:{string_to_sign(method, unsigned)}",
            )
        try:
            at = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return self._error(400, "InvalidTimeStamp.Format", "Specified time stamp is invalid.")
        if abs(datetime.now(UTC) - at) > MAX_SKEW:
            return self._error(
                400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."
            )
        with self._lock:
            if params["SignatureNonce"] in self._nonces:
                return self._error(
                    400, "SignatureNonceUsed", "Specified signature nonce was used already."
                )
            self._nonces.add(params["SignatureNonce"])
            self.requests.append(unsigned)
        key = (params["Version"], params["Action"])
        if key == ("2019-03-07", "Mobile3MetaDetailVerify"):
            return self._verify(
                params, ("ParamType", "UserName", "IdentifyNum", "Mobile"), "mobile3"
            )
        if key == ("2019-03-07", "BankMetaVerify"):
            if params.get("ProductType") != "BANK_CARD_4_META":
                return self._error(400, "InvalidParameter", "ProductType is invalid.")
            return self._verify(
                params, ("ParamType", "UserName", "IdentifyNum", "BankCard", "Mobile"), "bank"
            )
        if key == ("2019-03-07", "ContrastFaceVerify"):
            return self._contrast_face(params)
        if key == ("2017-05-25", "SendSms"):
            return self._send_sms(params)
        return self._error(404, "InvalidAction.NotFound", "Specified api is not found.")

    def _verify(
        self, params: dict[str, str], required: tuple[str, ...], kind: str
    ) -> tuple[int, dict[str, Any], float]:
        for name in required:
            if not params.get(name):
                return self._error(400, "MissingParameter", f"{name} is mandatory.")
        scenario = self.scenarios.get(params["IdentifyNum"], "match")
        request_id = str(uuid.uuid4()).upper()
        if scenario == "throttle_once":
            with self._lock:
                first = params["IdentifyNum"] not in self._seen_once
                self._seen_once.add(params["IdentifyNum"])
            scenario = "throttle" if first else "match"
        if scenario == "throttle":
            return self._error(
                400, "Throttling.User", "Request was denied due to user flow control."
            )
        if scenario == "internal":
            return self._error(
                500, "InternalError", "The request processing has failed due to some unknown error."
            )
        if scenario == "business_error":
            return 200, {"RequestId": request_id, "Code": "401", "Message": "参数非法"}, 0
        biz, sub = {
            "match": ("1", "101"),
            "mismatch": ("2", "201"),
            # Mobile3MetaDetailVerify: 202 the ID number differs, 203 the name differs.
            "mismatch_id": ("2", "202"),
            "mismatch_name": ("2", "203"),
            "no_record": ("3", "301"),
            # BankMetaVerify: 210 the card is reported lost; 304 the card number is wrong.
            "card_lost": ("2", "210"),
            "card_number_wrong": ("3", "304"),
            "slow": ("1", "101"),
        }[scenario]
        result: dict[str, Any] = {"BizCode": biz, "SubCode": sub}
        if kind == "mobile3":
            result["IspName"] = "CMCC"
        answer = {
            "RequestId": request_id,
            "Code": "200",
            "Message": "success",
            "ResultObject": result,
        }
        return 200, answer, self.slow_seconds if scenario == "slow" else 0

    def _contrast_face(self, params: dict[str, str]) -> tuple[int, dict[str, Any], float]:
        request_id = str(uuid.uuid4()).upper()

        def business(code: str, message: str) -> tuple[int, dict[str, Any], float]:
            self.rejections.append(code)
            return 200, {"RequestId": request_id, "Code": code, "Message": message}, 0

        required = ("SceneId", "OuterOrderNo", "ProductCode", "CertType", "CertName", "CertNo")
        if any(not params.get(k) for k in required) or not params.get("FaceContrastPicture"):
            return business("400", "参数不能为空")
        try:
            picture = base64.b64decode(params["FaceContrastPicture"], validate=True)
        except ValueError:
            picture = b""
        if (
            params["ProductCode"] != "ID_MIN"
            or params["CertType"] != "IDENTITY_CARD"
            or not params["SceneId"].isdigit()
            or not params["OuterOrderNo"].isalnum()
            or len(params["OuterOrderNo"]) > 32
            or params.get("Model", "FRONT_CAMERA_LIVENESS")
            not in ("FRONT_CAMERA_LIVENESS", "REAR_CAMERA_LIVENESS", "NO_LIVENESS")
            or not picture.startswith(b"\xff\xd8")
            or len(picture) >= 1_000_000
        ):
            return business("401", "参数非法")
        with self._lock:
            self.face_pictures.append(picture)
        scenario = self.scenarios.get(params["CertNo"], "match")
        if scenario == "throttle":
            return self._error(
                400, "Throttling.User", "Request was denied due to user flow control."
            )
        if scenario == "internal":
            return self._error(
                500, "InternalError", "The request processing has failed due to some unknown error."
            )
        if scenario == "business_error":
            return business("417", "无法使用刷脸服务")
        passed, sub = {
            "match": ("T", "200"),
            "slow": ("T", "200"),
            "id_mismatch": ("F", "201"),
            "no_record": ("F", "202"),
            "mismatch": ("F", "204"),
            "liveness_risk": ("F", "205"),
        }[scenario]
        answer = {
            "RequestId": request_id,
            "Code": "200",
            "Message": "success",
            "ResultObject": {
                "Passed": passed,
                "SubCode": sub,
                "CertifyId": uuid.uuid4().hex,
                "MaterialInfo": json.dumps({"verifyScore": 92.1 if passed == "T" else 41.7}),
            },
        }
        return 200, answer, self.slow_seconds if scenario == "slow" else 0

    def _send_sms(self, params: dict[str, str]) -> tuple[int, dict[str, Any], float]:
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not params.get(name):
                return self._error(400, "MissingParameter", f"{name} is mandatory.")
        if params.get("TemplateParam"):
            try:
                json.loads(params["TemplateParam"])
            except ValueError:
                return (
                    200,
                    {
                        "RequestId": "x",
                        "Code": "isv.INVALID_JSON_PARAM",
                        "Message": "JSON参数不合法",
                    },
                    0,
                )
        request_id = str(uuid.uuid4()).upper()
        scenario = self.sms_scenarios.get(params["PhoneNumbers"], "ok")
        if scenario == "limit":
            return (
                200,
                {
                    "RequestId": request_id,
                    "Code": "isv.BUSINESS_LIMIT_CONTROL",
                    "Message": "触发号码天级流控Permits:10",
                },
                0,
            )
        biz = f"{int(time.time() * 1000)}^0"
        return 200, {"RequestId": request_id, "Code": "OK", "Message": "OK", "BizId": biz}, 0
