"""Settings from ``SIGNLINK_*`` environment variables (and ``DATABASE_URL``).

Every field has a default that works on a laptop; production overrides them through
the environment. ``.env.example`` lists them all with the same descriptions.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _doc(text: str, default: Any) -> Any:
    return field(default=default, metadata={"doc": text})


@dataclass(frozen=True)
class Settings:
    data_dir: Path = _doc(
        "Folder for the SQLite database, the CA, the SMS outbox and generated keys.",
        ROOT / "var",
    )
    database_url: str = _doc(
        "PostgreSQL DSN (postgresql://user:pass@host/db). Empty: SQLite file in data_dir.",
        "",
    )
    public_url: str = _doc(
        "Base URL put in SMS links and share links, without a trailing slash.",
        "http://127.0.0.1:8000",
    )
    master_key: str = _doc(
        "Master key (>= 32 chars) that encrypts CA keys and personal data at rest. "
        "Empty: generated once into data_dir/master.key (development only).",
        "",
    )
    sms_provider: str = _doc(
        "SMS provider: 'outbox' appends to data_dir/sms-outbox.jsonl.", "outbox"
    )
    sms_sign_name: str = _doc("The SMS signature shown in 【】 at the start of every text.", "签链")
    otp_ttl_seconds: int = _doc("How long an SMS intent code stays valid.", 300)
    otp_max_attempts: int = _doc("Wrong codes allowed before the code is locked.", 5)
    otp_resend_seconds: int = _doc("Minimum wait before another code can be sent.", 60)
    intent_ttl_seconds: int = _doc(
        "How long after a confirmed code the signer may finish signing.", 900
    )
    envelope_ttl_days: int = _doc("Default signing deadline, in days after sending.", 7)
    log_level: str = _doc("Log level (DEBUG, INFO, WARNING, ERROR).", "INFO")
    log_format: str = _doc("'json' (one object per line) or 'text'.", "json")
    run_worker: bool = _doc(
        "Run the background job worker inside the web process (single-machine mode).", True
    )
    secure_cookies: bool = _doc("Mark session cookies Secure (set true behind HTTPS).", False)

    identity_provider: str = _doc(
        "Real-name identity provider: 'sandbox' (offline, documented test identities in "
        "backend/identity/README.md) or 'aliyun' (Cloudauth 2019-03-07).",
        "sandbox",
    )
    aliyun_access_key_id: str = _doc("Aliyun AccessKey ID for Cloudauth and Dysmsapi.", "")
    aliyun_access_key_secret: str = _doc("Aliyun AccessKey secret (from a secret store).", "")
    aliyun_region: str = _doc("Aliyun region id sent with every call.", "cn-hangzhou")
    aliyun_cloudauth_endpoint: str = _doc(
        "Cloudauth endpoint host (HTTPS), or a full http(s):// URL for a test server.",
        "cloudauth.aliyuncs.com",
    )
    aliyun_sms_endpoint: str = _doc(
        "Dysmsapi endpoint host (HTTPS), or a full http(s):// URL for a test server.",
        "dysmsapi.aliyuncs.com",
    )
    aliyun_sms_template_code: str = _doc(
        "Dysmsapi template for verification codes; variables ${code}, ${minutes}.", ""
    )
    aliyun_sms_template_invitation: str = _doc(
        "Dysmsapi template for signing invitations; variables ${sender}, ${title}, "
        "${deadline}, ${url}.",
        "",
    )
    aliyun_sms_template_notice: str = _doc(
        "Dysmsapi template for identity-review outcomes; variables ${outcome}, ${url}.", ""
    )
    aliyun_timeout_seconds: int = _doc("Read timeout of one Aliyun call, in seconds.", 5)
    aliyun_max_retries: int = _doc(
        "Retries (with backoff) after a transient Aliyun error or timeout.", 2
    )
    identity_reuse_days: int = _doc(
        "A verified identity (same ID number, name and phone) is reused for this many days "
        "instead of paying for another check; 0 turns reuse off.",
        30,
    )
    identity_checks_per_envelope: int = _doc(
        "Paid identity checks allowed per envelope in 24 hours.", 10
    )
    identity_checks_per_phone: int = _doc(
        "Paid identity checks allowed per mobile number in 24 hours.", 5
    )
    identity_checks_per_ip: int = _doc("Paid identity checks allowed per client IP per hour.", 20)
    identity_codes_per_phone: int = _doc(
        "Identity SMS codes allowed per mobile number per hour.", 5
    )
    identity_review_max_bytes: int = _doc(
        "Largest accepted photo for manual identity review, in bytes.", 8_000_000
    )

    job_lease_seconds: int = _doc(
        "How long a worker holds a claimed job; after that (a crashed worker) another "
        "worker runs it again. Keep it above the longest job.",
        300,
    )
    webhook_allow_private: bool = _doc(
        "Allow webhook deliveries to loopback, private and link-local addresses "
        "(development and tests only).",
        False,
    )

    face_match_threshold: float = _doc(
        "Largest face-descriptor distance (decimal) accepted as the same person; "
        "calibration in ml/face/README.md. Lower is stricter.",
        0.55,
    )
    face_max_frames: int = _doc("Most camera frames accepted in one face attempt.", 16)
    face_challenge_actions: int = _doc(
        "Actions (blink, turn left/right, open mouth, nod) drawn for each face attempt.", 2
    )
    face_challenge_ttl_seconds: int = _doc(
        "How long a face challenge (its nonce) stays valid after it is drawn.", 120
    )
    face_max_attempts: int = _doc("Failed face attempts allowed per signer.", 5)
    face_max_upload_bytes: int = _doc(
        "Largest face submission (frames, selfie clip and ID-card photo together), in bytes.",
        12_000_000,
    )
    face_workers: int = _doc(
        "Worker processes for face analysis (~150 MB each); 0 runs it in a thread.", 1
    )
    face_provider: str = _doc(
        "Who compares the live face: 'local' (the signer's photo of their ID card, ml/face) "
        "or 'aliyun' (Cloudauth ContrastFaceVerify against the official ID photo; uses the "
        "aliyun_* credentials and endpoint).",
        "local",
    )
    aliyun_face_scene_id: str = _doc(
        "Cloudauth scene id (SceneId) for face verification, from the Aliyun console.", ""
    )
    face_frame_retention_days: int = _doc(
        "Days the encrypted best frame of a passed face check is kept as evidence, then "
        "deleted (0: never stored; the hashes and scores stay in the audit trail).",
        30,
    )
    face_fixed_challenge: str = _doc(
        "TESTS ONLY: draw this action sequence (e.g. 'right,left') instead of a random one, "
        "so recorded footage can be replayed. Leave empty in production.",
        "",
    )

    ca_key_algorithm: str = _doc(
        "Key algorithm of a newly created root, issuing CA and TSA: 'ecdsa-p256', 'rsa-2048' "
        "or 'rsa-3072'. An existing CA keeps its keys.",
        "ecdsa-p256",
    )
    verify_max_bytes: int = _doc(
        "Largest PDF accepted by POST /api/v1/verify and the /verify page, in bytes.",
        20 * 1024 * 1024,
    )

    reminder_before_hours: int = _doc(
        "Automatic SMS reminder to whoever has not signed yet, this many hours before the "
        "deadline (0: no automatic reminder).",
        24,
    )
    remind_cooldown_seconds: int = _doc(
        "Minimum wait between two reminders to the same signer (manual resend included).", 3600
    )
    batch_max_rows: int = _doc(
        "Most envelopes in one batch (CSV upload or POST /api/v1/envelopes/batch).", 1000
    )
    member_session_hours: int = _doc(
        "How long an organisation member stays logged in on the phone pages.", 12
    )
    stamp_batch_max: int = _doc("Most documents stamped with one intent check.", 200)

    blob_store: str = _doc(
        "Where document PDFs and page images are kept, named by their SHA-256: 'database' "
        "(the blob table) or 's3' (an S3-compatible bucket: AWS S3, Aliyun OSS, MinIO; "
        "content stored in the database before the switch is still read from there).",
        "database",
    )
    s3_endpoint_url: str = _doc(
        "S3 endpoint URL, e.g. https://oss-cn-hangzhou.aliyuncs.com; empty: AWS S3.", ""
    )
    s3_bucket: str = _doc("S3 bucket for the blobs (must exist).", "")
    s3_region: str = _doc(
        "Region signed into every request (SigV4), e.g. oss-cn-hangzhou or us-east-1.",
        "us-east-1",
    )
    s3_access_key_id: str = _doc("S3 access key id.", "")
    s3_secret_access_key: str = _doc("S3 secret access key (from a secret store).", "")
    s3_prefix: str = _doc("Key prefix of every blob in the bucket.", "blobs/")
    s3_addressing_style: str = _doc(
        "'auto', 'path' (MinIO and most local servers) or 'virtual' (Aliyun OSS).", "auto"
    )

    wechat_app_id: str = _doc(
        "WeChat Official Account AppID for the JS-SDK share card of /p/ pages (their domain "
        "must be a JS safe domain of the account). Empty: no JS-SDK, og: tags only.",
        "",
    )
    wechat_app_secret: str = _doc(
        "WeChat Official Account AppSecret (from a secret store); needed with the AppID.", ""
    )
    wechat_api_base: str = _doc(
        "WeChat API base URL (access token and jsapi_ticket), or a test server's URL.",
        "https://api.weixin.qq.com",
    )
    wechat_timeout_seconds: float = _doc("Timeout of one WeChat API call, in seconds.", 5.0)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        for f in fields(cls):
            key = "DATABASE_URL" if f.name == "database_url" else f"SIGNLINK_{f.name.upper()}"
            raw = env.get(key)
            if raw is None or raw == "":
                continue
            if f.type in ("bool", bool):
                values[f.name] = raw.strip().lower() in {"1", "true", "yes", "on"}
            elif f.type in ("int", int):
                values[f.name] = int(raw)
            elif f.type in ("float", float):
                values[f.name] = float(raw)
            elif f.type in ("Path", Path):
                values[f.name] = Path(raw).expanduser().resolve()
            else:
                values[f.name] = raw.rstrip("/") if f.name == "public_url" else raw
        return cls(**values)

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "signlink.sqlite3"

    @property
    def sms_outbox_path(self) -> Path:
        return self.data_dir / "sms-outbox.jsonl"

    @property
    def pki_dir(self) -> Path:
        return self.data_dir / "pki"

    def master_key_bytes(self) -> bytes:
        """The master key; in development it is created once under data_dir."""
        if self.master_key:
            if len(self.master_key) < 32:
                raise ValueError("SIGNLINK_MASTER_KEY must be at least 32 characters")
            return self.master_key.encode()
        path = self.data_dir / "master.key"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
        return path.read_bytes().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()


def env_example() -> str:
    """The text of ``.env.example``, generated from the field docs."""
    lines = ["# SignLink settings. Every variable is optional; defaults suit a laptop.", ""]
    for f in fields(Settings):
        key = "DATABASE_URL" if f.name == "database_url" else f"SIGNLINK_{f.name.upper()}"
        default = f.default
        if isinstance(default, Path):
            default = "./var"
        if isinstance(default, bool):
            default = str(default).lower()
        lines.append(f"# {f.metadata['doc']}")
        lines.append(f"# {key}={default}")
        lines.append("")
    return "\n".join(lines)
