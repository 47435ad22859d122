"""The installable shell: the service worker's build id and precache list, in-app browsers.

The build id is a hash of everything the service worker precaches, computed at startup:
a deploy that changes any of it changes the bytes of /sw.js, so browsers install the new
worker and drop the old caches.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

__all__ = [
    "SHELL_PAGES",
    "ServiceWorker",
    "in_app_browser",
    "referer_path",
    "return_path",
    "safe_next",
]

# Pages the worker keeps for offline use: neither holds personal data.
SHELL_PAGES = ("/", "/offline")
# Templates whose output the worker precaches (SHELL_PAGES) plus the worker itself.
_SHELL_TEMPLATES = ("sw.js", "base.html", "pages/home.html", "pages/offline.html")
_NOT_PRECACHED = (".LICENSE", ".map")


@dataclass(frozen=True)
class ServiceWorker:
    build: str
    precache: tuple[str, ...]
    script: bytes

    @classmethod
    def from_dir(cls, pwa: Path) -> ServiceWorker:
        static = pwa / "static"
        assets = sorted(
            p for p in static.rglob("*") if p.is_file() and not p.name.endswith(_NOT_PRECACHED)
        )
        sources = [
            *(p for p in static.rglob("*") if p.is_file()),
            *(pwa / "templates" / name for name in _SHELL_TEMPLATES),
            *(pwa / "locale").rglob("*.po"),
        ]
        digest = hashlib.sha256()
        for path in sorted(sources):
            digest.update(path.relative_to(pwa).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
        build = digest.hexdigest()[:12]
        precache = (
            *SHELL_PAGES,
            *(f"/static/{p.relative_to(static).as_posix()}" for p in assets),
        )
        head = (
            f"const BUILD = {json.dumps(build)};\n"
            f"const PRECACHE = {json.dumps(list(precache), indent=0)};\n"
        )
        body = (pwa / "templates" / "sw.js").read_text(encoding="utf-8")
        return cls(build, precache, (head + body).encode())


_IN_APP = (
    ("wechat", re.compile(r"MicroMessenger", re.I)),
    ("alipay", re.compile(r"AlipayClient|AliApp\(AP", re.I)),
)


def in_app_browser(user_agent: str | None) -> str:
    """'wechat' or 'alipay' inside those apps' browsers (which block PDF downloads), else ''."""
    for name, pattern in _IN_APP:
        if pattern.search(user_agent or ""):
            return name
    return ""


_SIGNING_LINK = re.compile(r"^/s/[A-Za-z0-9_-]+")


def return_path(method: str, path: str) -> str:
    """Where a page's language switch comes back to: the page itself if it can be fetched
    again, else the signing link it belongs to, else home."""
    if method == "GET":
        return path
    found = _SIGNING_LINK.match(path)
    return found.group(0) if found else "/"


def referer_path(referer: str | None, host: str | None) -> str | None:
    """The path of a same-site Referer (for pages that do not say where they are)."""
    if not referer or not host:
        return None
    parts = urlsplit(referer)
    return parts.path if parts.netloc == host and parts.scheme in ("http", "https") else None


def safe_next(value: str | None) -> str:
    """A local path to redirect to; anything else (other hosts, schemes) becomes home."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    return value
