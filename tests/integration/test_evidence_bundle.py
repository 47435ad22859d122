"""The evidence bundle verifies offline: a clean temp dir, no database configured, the
command line in a subprocess; tampered events or files inside it are found and named."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backend.evidence import services as evidence
from backend.evidence.connectors import LocalFileNotary
from backend.evidence.tables import AnchorDeposit
from tests.integration.test_evidence_trail import complete_envelope

REPO = Path(__file__).resolve().parents[2]
BUYER = "13700137021"
DEALER = "13700137022"


@pytest.fixture(scope="module")
async def envelope_id(client, api_key, outbox) -> str:
    return await complete_envelope(
        client, {"Authorization": f"Bearer {api_key}"}, outbox, BUYER, DEALER
    )


@pytest.fixture(scope="module")
async def anchored(envelope_id, app, tmp_path_factory) -> Path:
    """Today's Merkle tree (the nightly job does this after midnight), deposited locally."""
    notary = tmp_path_factory.mktemp("notary")
    today = evidence.china_day(datetime.now(UTC))
    anchor = await evidence.anchor_day(
        today, app.state.ca.tsa.timestamper(), [LocalFileNotary(notary)]
    )
    assert anchor is not None and anchor.size >= 1
    return notary


@pytest.fixture(scope="module")
async def bundle(client, api_key, envelope_id, anchored) -> bytes:
    response = await client.get(
        f"/api/v1/envelopes/{envelope_id}/evidence.zip",
        headers={"Authorization": f"Bearer {api_key}"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/zip")
    return response.content


def offline_verify(bundle: bytes, workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run verify-bundle as someone with only the zip: no database, an empty data dir."""
    data_dir = workdir / "empty-data-dir"
    data_dir.mkdir(exist_ok=True)
    path = workdir / "evidence.zip"
    path.write_bytes(bundle)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(workdir),
        "PYTHONPATH": str(REPO),
        "SIGNLINK_DATA_DIR": str(data_dir),
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",  # unusable if ever touched
    }
    done = subprocess.run(
        [sys.executable, "-m", "backend.evidence", "verify-bundle", str(path), *args],
        capture_output=True,
        text=True,
        cwd=workdir,
        env=env,
        timeout=120,
    )
    assert list(data_dir.iterdir()) == [], "verify-bundle wrote to the data dir"
    return done


def rewrite(bundle: bytes, change: dict[str, bytes], *, fix_manifest: bool) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(bundle))
    files = {name: source.read(name) for name in source.namelist()}
    files.update(change)
    if fix_manifest:
        manifest = json.loads(files["manifest.json"])
        for name in change:
            manifest["files"][name] = hashlib.sha256(files[name]).hexdigest()
        files["manifest.json"] = json.dumps(manifest).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out.getvalue()


async def test_bundle_holds_everything_to_verify(bundle, envelope_id, anchored):
    names = set(zipfile.ZipFile(io.BytesIO(bundle)).namelist())
    assert {
        "manifest.json",
        "events.json",
        "document.pdf",
        "evidence-report.pdf",
        "certificates/root.pem",
        "certificates/tsa.pem",
        "certificates/platform.pem",
        "timestamps/seal.tst",
    } <= names
    assert any(n.startswith("anchors/") for n in names)
    assert any(n.startswith("certificates/signer-") for n in names)
    deposits = list(anchored.iterdir())
    assert len(deposits) == 1 and json.loads(deposits[0].read_text())["root"]
    assert await AnchorDeposit.exists().where(AnchorDeposit.status == "deposited")


def test_bundle_verifies_offline(bundle, tmp_path):
    done = offline_verify(bundle, tmp_path, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and report["chain"]["intact"]
    checks = {c["name"]: c["ok"] for c in report["checks"]}
    assert checks["manifest"] and checks["seal"] and checks["document"]
    assert checks["signatures"] and checks["report"]
    assert any(name.startswith("anchor ") and ok for name, ok in checks.items())

    human = offline_verify(bundle, tmp_path)
    assert human.returncode == 0 and "通过 PASSED" in human.stdout
    assert "根证书 SHA-256" in human.stdout


def test_a_changed_event_in_the_bundle_is_named(bundle, tmp_path):
    body = json.loads(zipfile.ZipFile(io.BytesIO(bundle)).read("events.json"))
    target = next(e for e in body["events"] if e["kind"] == "intent.confirmed")
    target["data"]["method"] = "face"
    tampered = rewrite(
        bundle, {"events.json": json.dumps(body, ensure_ascii=False).encode()}, fix_manifest=True
    )
    done = offline_verify(tampered, tmp_path, "--json")
    assert done.returncode == 1
    findings = json.loads(done.stdout)["chain"]["findings"]
    assert [(f["problem"], f["seq"]) for f in findings] == [("changed", target["seq"])]


def test_a_deleted_event_in_the_bundle_is_named(bundle, tmp_path):
    body = json.loads(zipfile.ZipFile(io.BytesIO(bundle)).read("events.json"))
    gone = body["events"].pop(3)
    tampered = rewrite(
        bundle, {"events.json": json.dumps(body, ensure_ascii=False).encode()}, fix_manifest=True
    )
    done = offline_verify(tampered, tmp_path)
    assert done.returncode == 1
    assert f"第 {gone['seq']} 条事件被删除" in done.stdout
    assert f"event #{gone['seq']} was deleted" in done.stdout


def test_a_changed_file_is_caught_by_the_manifest(bundle, tmp_path):
    source = zipfile.ZipFile(io.BytesIO(bundle))
    report = bytearray(source.read("evidence-report.pdf"))
    report[len(report) // 3] ^= 0x01
    done = offline_verify(
        rewrite(bundle, {"evidence-report.pdf": bytes(report)}, fix_manifest=False), tmp_path
    )
    assert done.returncode == 1
    assert "evidence-report.pdf" in done.stdout


def test_a_foreign_root_is_not_trusted(bundle, tmp_path):
    from backend.signing import CertificateAuthority

    other = CertificateAuthority.load_or_create(tmp_path / "other-pki", b"o" * 40)
    root = tmp_path / "other-root.pem"
    root.write_bytes(other.root_pem())
    done = offline_verify(bundle, tmp_path, "--root", str(root), "--json")
    assert done.returncode == 1
    checks = {c["name"]: c["ok"] for c in json.loads(done.stdout)["checks"]}
    assert not checks["seal"] and not checks["signatures"]


def test_an_unreadable_file_exits_2(tmp_path):
    done = offline_verify(b"not a zip", tmp_path)
    assert done.returncode == 2 and "无法读取存证包" in done.stderr


async def test_format_zip_query_gives_the_bundle(client, auth, envelope_id):
    response = await client.get(
        f"/api/v1/envelopes/{envelope_id}/evidence?format=zip", headers=auth
    )
    assert response.status_code == 200
    assert "events.json" in zipfile.ZipFile(io.BytesIO(response.content)).namelist()
