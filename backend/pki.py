"""The process's certificate authority, loaded once (web process and standalone worker)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from backend import signing
from backend.config import Settings

_loaded: dict[Path, signing.CertificateAuthority] = {}


async def load_ca(settings: Settings) -> signing.CertificateAuthority:
    if settings.pki_dir not in _loaded:
        options: dict[str, Any] = {
            "public_url": settings.public_url,
            "key_algorithm": settings.ca_key_algorithm,
        }
        _loaded[settings.pki_dir] = await asyncio.to_thread(
            signing.CertificateAuthority.load_or_create,
            settings.pki_dir,
            settings.master_key_bytes(),
            **options,
        )
    return _loaded[settings.pki_dir]
