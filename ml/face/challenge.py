"""Challenge tokens: a random action sequence and a nonce, signed by the server.

The token is ``base64url(json).base64url(hmac-sha256)``; it binds the actions, the
nonce, the time of issue and a subject (the signer) so a token cannot be reused for
another signer, edited, or replayed after ``ttl``. Single use is the caller's part:
it records each nonce it has accepted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from ml.face.liveness import ACTIONS, Action, parse_actions


class ChallengeError(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code  # "nonce_invalid" | "nonce_expired"


@dataclass(frozen=True)
class Challenge:
    nonce: str
    actions: tuple[Action, ...]
    issued_at: float  # unix seconds
    subject: str
    token: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, body: str) -> str:
    return _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())


def issue_challenge(
    key: bytes,
    subject: str,
    *,
    count: int = 2,
    now: float | None = None,
    actions: tuple[Action, ...] = (),
) -> Challenge:
    """A fresh challenge of ``count`` distinct actions in random order (or ``actions``, a
    fixed sequence for replaying recorded footage in tests; the nonce is fresh anyway)."""
    if not actions:
        rng = secrets.SystemRandom()
        actions = tuple(rng.sample(ACTIONS, k=max(1, min(count, len(ACTIONS)))))
    issued = time.time() if now is None else now
    nonce = secrets.token_urlsafe(16)
    payload = {"n": nonce, "a": ",".join(actions), "t": round(issued, 3), "s": subject}
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return Challenge(nonce, actions, issued, subject, f"{body}.{_mac(key, body)}")


def open_challenge(
    key: bytes, token: str, subject: str, *, ttl: float, now: float | None = None
) -> Challenge:
    """The challenge behind a token, if it is authentic, for this subject and fresh."""
    body, _, mac = (token or "").partition(".")
    if not body or not mac or len(token) > 1000:
        raise ChallengeError("nonce_invalid")
    if not hmac.compare_digest(mac, _mac(key, body)):
        raise ChallengeError("nonce_invalid")
    try:
        payload = json.loads(_unb64(body))
        actions = parse_actions(str(payload["a"]))
        issued = float(payload["t"])
        nonce = str(payload["n"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ChallengeError("nonce_invalid") from exc
    if payload.get("s") != subject:
        raise ChallengeError("nonce_invalid")
    current = time.time() if now is None else now
    if not issued - 5 <= current <= issued + ttl:
        raise ChallengeError("nonce_expired")
    return Challenge(nonce, actions, issued, subject, token)
