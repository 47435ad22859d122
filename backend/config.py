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
