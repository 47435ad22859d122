"""``python -m backend.evidence``: verify an envelope's evidence, from the database or a bundle.

    verify ENVELOPE_ID [--json]            the database's events, seal, anchors and PDF
    verify-bundle FILE.zip [--root PEM]    an evidence bundle, with no database at all
    seal ENVELOPE_ID                       timestamp a completed envelope's chain now
    anchor [--day YYYY-MM-DD]              build, timestamp and deposit a day's Merkle tree

Exit status: 0 verified, 1 verification failed, 2 the input could not be read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from backend.evidence.bundle import BundleError, Verification, read_bundle, verify_materials


def _print_human(result: Verification) -> None:
    print(f"合同 / Envelope: {result.envelope_id}")
    if result.root_fingerprint:
        print(f"根证书 SHA-256 / Root certificate SHA-256: {result.root_fingerprint}")
    chain = result.chain
    if chain is not None:
        if chain.intact:
            print(
                f"✔ 事件链完整：共 {chain.count} 条，末条 #{chain.head_seq} {chain.head_hash}\n"
                f"  event chain intact: {chain.count} events, head #{chain.head_seq}"
            )
        else:
            print(f"✘ 事件链被篡改 / event chain tampered ({len(chain.findings)}):")
            for f in chain.findings:
                print(f"  ✘ [{f.problem} #{f.seq}] {f.message}\n      {f.message_en}")
    for check in result.checks:
        mark = "✔" if check.ok else "✘"
        print(f"{mark} {check.message}\n  {check.message_en}")
    print("结论 / Result: " + ("通过 PASSED" if result.ok else "未通过 FAILED"))


def _emit(result: Verification, as_json: bool) -> int:
    if as_json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        _print_human(result)
    return 0 if result.ok else 1


def _fail(message: str, message_en: str, as_json: bool) -> int:
    if as_json:
        print(
            json.dumps({"ok": False, "error": message, "error_en": message_en}, ensure_ascii=False)
        )
    else:
        print(f"✘ {message}\n  {message_en}", file=sys.stderr)
    return 2


def verify_bundle(path: Path, root_path: Path | None, as_json: bool) -> int:
    """Touches only the file system: no settings, no database."""
    from cryptography import x509

    try:
        materials, checks = read_bundle(path.read_bytes())
        root = x509.load_pem_x509_certificate(root_path.read_bytes()) if root_path else None
    except (OSError, BundleError, ValueError) as exc:
        return _fail(f"无法读取存证包：{exc}", f"cannot read the bundle: {exc}", as_json)
    result = asyncio.run(verify_materials(materials, root=root, checks=checks))
    return _emit(result, as_json)


def verify_database(envelope_id: str, as_json: bool) -> int:
    from backend.config import get_settings
    from backend.evidence import services

    try:
        parsed = uuid.UUID(envelope_id)
    except ValueError:
        return _fail("合同 ID 格式不正确", "not an envelope id", as_json)

    async def run() -> Verification:
        return await services.verify_envelope(parsed, get_settings().pki_dir)

    try:
        result = asyncio.run(run())
    except Exception as exc:  # AppError not_found, database unreachable
        return _fail(f"无法读取合同：{exc}", f"cannot read the envelope: {exc}", as_json)
    return _emit(result, as_json)


def _ca() -> Any:
    from backend import signing
    from backend.config import get_settings

    settings = get_settings()
    return settings, signing.CertificateAuthority.load_or_create(
        settings.pki_dir, settings.master_key_bytes()
    )


def seal(envelope_id: str) -> int:
    from backend.evidence import services

    _, ca = _ca()
    sealed = asyncio.run(services.seal_envelope(uuid.UUID(envelope_id), ca.tsa.timestamper()))
    print(f"sealed #{sealed.seq} {sealed.hash} at {sealed.gen_time.isoformat()}")
    return 0


def anchor(day: str | None) -> int:
    from backend.evidence import services

    settings, ca = _ca()
    when = date.fromisoformat(day) if day else date.today() - timedelta(days=1)
    made = asyncio.run(
        services.anchor_day(when, ca.tsa.timestamper(), services.connectors_for(settings))
    )
    if made is None:
        print(f"{when}: no events, nothing to anchor")
    else:
        print(f"{made.day}: root {made.root} over {made.size} envelopes")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.evidence", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("verify", help="verify an envelope from the database")
    v.add_argument("envelope_id")
    v.add_argument("--json", action="store_true")
    b = sub.add_parser("verify-bundle", help="verify an evidence.zip offline")
    b.add_argument("bundle", type=Path)
    b.add_argument("--root", type=Path, help="trust this root PEM instead of the bundle's")
    b.add_argument("--json", action="store_true")
    s = sub.add_parser("seal", help="timestamp a completed envelope's chain")
    s.add_argument("envelope_id")
    a = sub.add_parser("anchor", help="anchor a day (default: yesterday, China time)")
    a.add_argument("--day")
    args = parser.parse_args(argv)
    if args.command == "verify-bundle":
        return verify_bundle(args.bundle, args.root, args.json)
    if args.command == "verify":
        return verify_database(args.envelope_id, args.json)
    if args.command == "seal":
        return seal(args.envelope_id)
    return anchor(args.day)
