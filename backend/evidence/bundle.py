"""The evidence bundle (evidence.zip) and the one verifier that checks it.

The bundle holds everything needed to check an envelope without our database or
servers: the events, the signed PDF, the report, the timestamp tokens, the Merkle
proofs and every certificate. :func:`verify_materials` checks the chain (naming every
changed, deleted or reordered event), each timestamp against the root, the anchors'
inclusion proofs and the documents' signatures. ``verify ENVELOPE_ID`` feeds it the
same materials read from the database, so both commands judge alike.

No database or ORM imports here.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from backend.evidence.chain import ChainEvent, ChainReport, Finding, document_hashes, verify_chain
from backend.evidence.merkle import verify_inclusion
from backend.evidence.timestamps import async_verify_token

FORMAT = "signlink-evidence/v1"
EVENTS = "events.json"
MANIFEST = "manifest.json"
DOCUMENT = "document.pdf"
REPORT = "evidence-report.pdf"
ROOT = "certificates/root.pem"
SEAL_TOKEN = "timestamps/seal.tst"
MAX_BUNDLE_BYTES = 200_000_000


@dataclass(frozen=True)
class AnchorProof:
    day: str
    root: str
    size: int
    index: int
    leaf: str
    """``<envelope id>:<seq>:<event hash>``, the leaf data."""
    proof: list[str]
    token: bytes

    @property
    def seq(self) -> int:
        return int(self.leaf.split(":")[1])

    @property
    def hash(self) -> str:
        return self.leaf.split(":")[2]


@dataclass
class Materials:
    envelope_id: str
    events: list[ChainEvent]
    root: x509.Certificate | None
    seal: tuple[int, str, bytes] | None = None
    """``(seq, hash, token)``: the chain head at completion and its timestamp token."""
    anchors: list[AnchorProof] = field(default_factory=list)
    document: bytes | None = None
    report: bytes | None = None
    certificates: dict[str, x509.Certificate] = field(default_factory=dict)
    envelope: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    message: str
    message_en: str


@dataclass
class Verification:
    envelope_id: str
    chain: ChainReport | None
    checks: list[Check]
    root_fingerprint: str = ""

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks) and self.chain is not None and self.chain.intact

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "envelope_id": self.envelope_id,
            "root_sha256": self.root_fingerprint,
            "chain": None
            if self.chain is None
            else {
                "intact": self.chain.intact,
                "count": self.chain.count,
                "head_seq": self.chain.head_seq,
                "head_hash": self.chain.head_hash,
                "findings": [asdict(f) for f in self.chain.findings],
            },
            "checks": [asdict(c) for c in self.checks],
        }


def leaf_data(envelope_id: str, seq: int, event_hash: str) -> str:
    return f"{envelope_id}:{seq}:{event_hash}"


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


# ---------------------------------------------------------------- writing


def write_bundle(materials: Materials, generated_at: datetime) -> bytes:
    files: dict[str, bytes] = {}
    files[EVENTS] = _json(
        {
            "format": FORMAT,
            "envelope_id": materials.envelope_id,
            "envelope": materials.envelope,
            "events": [e.to_json() for e in materials.events],
        }
    )
    if materials.document is not None:
        files[DOCUMENT] = materials.document
    if materials.report is not None:
        files[REPORT] = materials.report
    if materials.root is not None:
        files[ROOT] = pem(materials.root)
    for name, cert in materials.certificates.items():
        files[f"certificates/{name}.pem"] = pem(cert)
    if materials.seal is not None:
        seq, head, token = materials.seal
        files[SEAL_TOKEN] = token
        files["timestamps/seal.json"] = _json(
            {"seq": seq, "hash": head, "imprint": "sha256 of the event hash bytes = the hash"}
        )
    for anchor in materials.anchors:
        files[f"timestamps/anchor-{anchor.day}.tst"] = anchor.token
        files[f"anchors/{anchor.day}.json"] = _json(
            {
                "day": anchor.day,
                "root": anchor.root,
                "size": anchor.size,
                "index": anchor.index,
                "leaf": anchor.leaf,
                "proof": anchor.proof,
                "token": f"timestamps/anchor-{anchor.day}.tst",
            }
        )
    files["README.txt"] = _readme(materials).encode()
    manifest = {
        "format": FORMAT,
        "envelope_id": materials.envelope_id,
        "generated_at": generated_at.isoformat(),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(MANIFEST, _json(manifest))
        for name, data in sorted(files.items()):
            zf.writestr(name, data)
    return out.getvalue()


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2).encode()


def _readme(materials: Materials) -> str:
    return (
        "签约存证包 / SignLink evidence bundle\n\n"
        f"合同 ID / envelope: {materials.envelope_id}\n\n"
        "离线核验 / verify offline:\n"
        "  python -m backend.evidence verify-bundle evidence.zip [--root root.pem] [--json]\n\n"
        "events.json        事件链（每条事件的哈希覆盖前一条的哈希）/ the hash-chained events\n"
        "document.pdf       已签署合同（PAdES）/ the signed PDF\n"
        "evidence-report.pdf 签约存证报告（平台证书签名）/ the report, signed by the platform\n"
        "timestamps/*.tst   RFC 3161 时间戳令牌 / timestamp tokens (openssl ts -reply -in X "
        "-token_in -text)\n"
        "anchors/*.json     每日 Merkle 树的包含证明 / daily Merkle inclusion proofs\n"
        "certificates/      根证书及相关证书 / root and every certificate involved\n\n"
        "请将 certificates/root.pem 的 SHA-256 指纹与平台公布的 /pki/root.pem 比对。\n"
        "Compare the SHA-256 fingerprint of certificates/root.pem with the one the platform "
        "publishes at /pki/root.pem.\n"
    )


# ---------------------------------------------------------------- reading


class BundleError(Exception):
    """The file is not a readable evidence bundle."""


def read_bundle(data: bytes) -> tuple[Materials, list[Check]]:
    """The materials in a bundle, and the check that no file differs from the manifest."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError("the bundle is too large")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        files = {info.filename: zf.read(info) for info in zf.infolist() if not info.is_dir()}
        manifest = json.loads(files.pop(MANIFEST))
        body = json.loads(files[EVENTS])
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise BundleError(f"not an evidence bundle: {exc}") from exc
    checks = []
    listed: dict[str, str] = manifest.get("files", {})
    altered = sorted(
        name
        for name in set(listed) | set(files)
        if listed.get(name) != (hashlib.sha256(files[name]).hexdigest() if name in files else None)
    )
    checks.append(
        Check(
            "manifest",
            not altered,
            "存证包文件与清单一致" if not altered else f"存证包文件被改动：{'、'.join(altered)}",
            "every file matches the manifest"
            if not altered
            else f"files differ from the manifest: {', '.join(altered)}",
        )
    )
    envelope_id = str(body.get("envelope_id", ""))
    events = [ChainEvent(**e) for e in body.get("events", [])]
    seal = None
    if SEAL_TOKEN in files and "timestamps/seal.json" in files:
        info = json.loads(files["timestamps/seal.json"])
        seal = (int(info["seq"]), str(info["hash"]), files[SEAL_TOKEN])
    anchors = []
    for name in sorted(files):
        if name.startswith("anchors/") and name.endswith(".json"):
            a = json.loads(files[name])
            anchors.append(
                AnchorProof(
                    day=a["day"],
                    root=a["root"],
                    size=int(a["size"]),
                    index=int(a["index"]),
                    leaf=a["leaf"],
                    proof=list(a["proof"]),
                    token=files.get(a["token"], b""),
                )
            )
    certificates = {
        name.removeprefix("certificates/").removesuffix(".pem"): x509.load_pem_x509_certificate(
            files[name]
        )
        for name in files
        if name.startswith("certificates/") and name.endswith(".pem") and name != ROOT
    }
    materials = Materials(
        envelope_id=envelope_id,
        events=events,
        root=x509.load_pem_x509_certificate(files[ROOT]) if ROOT in files else None,
        seal=seal,
        anchors=anchors,
        document=files.get(DOCUMENT),
        report=files.get(REPORT),
        certificates=certificates,
        envelope=body.get("envelope", {}),
    )
    return materials, checks


# ---------------------------------------------------------------- verifying


async def verify_materials(
    materials: Materials, *, root: x509.Certificate | None = None, checks: list[Check] | None = None
) -> Verification:
    """Every check on ``materials``; ``root`` overrides the root the materials carry."""
    from backend.signing.validation import async_validate_pdf

    checks = list(checks or [])
    trust = root or materials.root
    roots = [trust] if trust is not None else []
    env = materials.envelope_id
    if trust is None:
        checks.append(Check("root", False, "缺少根证书", "no root certificate to check against"))

    sealed: tuple[int, str] | None = None
    if materials.seal is not None:
        seq, head, token = materials.seal
        sealed = (seq, head)
        result = await async_verify_token(token, head, roots)
        checks.append(
            Check(
                "seal",
                result.ok,
                f"第 {seq} 条事件的哈希已由时间戳机构于 {_t(result.gen_time)} 封存"
                if result.ok
                else f"事件链封存时间戳无效：{result.problem}",
                f"event #{seq} hash timestamped at {_t(result.gen_time)}"
                if result.ok
                else f"the seal timestamp fails: {result.problem_en}",
            )
        )
    elif any(e.kind == "envelope.completed" for e in materials.events):
        checks.append(
            Check(
                "seal",
                False,
                "合同已完成，但事件链尚未加盖时间戳（封存任务未完成）",
                "the envelope is complete but its chain has no timestamp seal yet",
            )
        )
    report = verify_chain(env, materials.events, sealed=sealed)
    extra: list[Finding] = []

    for anchor in materials.anchors:
        ok_proof = verify_inclusion(
            anchor.leaf.encode(),
            anchor.index,
            anchor.size,
            [bytes.fromhex(p) for p in anchor.proof],
            bytes.fromhex(anchor.root),
        ) and anchor.leaf.startswith(f"{env}:")
        stamp = await async_verify_token(anchor.token, anchor.root, roots)
        in_chain = any(e.seq == anchor.seq and e.hash == anchor.hash for e in materials.events)
        if ok_proof and not in_chain:
            extra.append(
                Finding(
                    "rewritten",
                    anchor.seq,
                    "",
                    f"第 {anchor.seq} 条事件与 {anchor.day} 日存证树中的记录不一致："
                    "事件链被重写或删除",
                    f"event #{anchor.seq} differs from the {anchor.day} anchor: the chain was "
                    "rewritten or truncated",
                )
            )
        checks.append(
            Check(
                f"anchor {anchor.day}",
                ok_proof and stamp.ok,
                f"{anchor.day} 日存证树包含本合同，树根时间戳 {_t(stamp.gen_time)}"
                if ok_proof and stamp.ok
                else f"{anchor.day} 日存证树证明无效："
                f"{'包含证明不成立' if not ok_proof else stamp.problem}",
                f"the {anchor.day} Merkle anchor includes this envelope, root stamped "
                f"{_t(stamp.gen_time)}"
                if ok_proof and stamp.ok
                else f"the {anchor.day} anchor fails: "
                f"{'inclusion proof invalid' if not ok_proof else stamp.problem_en}",
            )
        )
    if extra:
        report = ChainReport(
            report.envelope_id,
            report.count,
            report.head_seq,
            report.head_hash,
            tuple(sorted({*report.findings, *extra}, key=lambda f: (f.seq, f.problem))),
        )

    if materials.document is not None:
        known = document_hashes(materials.events)
        actual = hashlib.sha256(materials.document).hexdigest()
        checks.append(
            Check(
                "document",
                bool(known) and actual == known[-1],
                f"合同文件哈希与事件链记录的最终版本一致（{actual}）"
                if known and actual == known[-1]
                else f"合同文件（{actual}）不是事件链记录的最终版本",
                "the PDF is the final revision the chain records"
                if known and actual == known[-1]
                else f"the PDF ({actual}) is not the final revision the chain records",
            )
        )
        checks.append(await _pdf_check("signatures", materials.document, roots, async_validate_pdf))
    if materials.report is not None:
        checks.append(await _pdf_check("report", materials.report, roots, async_validate_pdf))
    return Verification(
        envelope_id=env,
        chain=report,
        checks=checks,
        root_fingerprint=fingerprint(trust) if trust is not None else "",
    )


async def _pdf_check(name: str, pdf: bytes, roots: list[x509.Certificate], validate: Any) -> Check:
    what, what_en = (
        ("合同签名", "document signatures")
        if name == "signatures"
        else (
            "存证报告的平台签名",
            "the report's platform signature",
        )
    )
    try:
        result = await validate(pdf, roots)
    except Exception as exc:
        return Check(name, False, f"{what}无法读取", f"{what_en}: unreadable ({exc})")
    if result.all_valid:
        return Check(name, True, f"{what}有效（{len(result.signatures)} 个）", f"{what_en} valid")
    bad = [
        s.field_name or "?" for s in result.signatures if not (s.intact and s.valid and s.trusted)
    ]
    return Check(
        name,
        False,
        f"{what}无效：{'、'.join(bad) or '没有签名'}",
        f"{what_en} invalid: {', '.join(bad) or 'no signature'}",
    )


def _t(moment: datetime | None) -> str:
    return moment.isoformat() if moment else "—"
