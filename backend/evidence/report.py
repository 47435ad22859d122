"""The signing evidence report (签约存证报告): a Chinese PDF laid out by WeasyPrint.

:func:`render_report` turns a :class:`ReportData` (gathered by the services) into an
unsigned PDF with embedded Noto CJK subsets, so every name and hash is extractable text.
The platform certificate signs it afterwards (``backend.signing.platform``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import segno
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from backend.documents.fonts import compact_fonts_ready, font_face_css
from backend.documents.rendering import _weasy_lock
from backend.evidence import kinds

TEMPLATES = Path(__file__).parent / "templates"
CHINA = timezone(timedelta(hours=8), "UTC+8")

IDENTITY_LEVELS = {
    "none": "无需实名（短信验证码确认本人手机）",
    "phone3": "手机号三要素（姓名、身份证号、手机号）",
    "bank4": "银行卡四要素（姓名、身份证号、银行卡号、预留手机号）",
    "face": "人脸识别（活体检测与公安照片比对）",
}
INTENT_METHODS = {"sms": "短信验证码", "sms-otp": "短信验证码", "face": "人脸识别"}


def china_time(value: datetime | str | None, *, precise: bool = False) -> str:
    if not value:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(CHINA)
    text = local.strftime("%Y-%m-%d %H:%M:%S")
    if precise:
        text += f".{local.microsecond // 1000:03d}"
    return f"{text}"


def describe(kind: str, data: Any) -> str:
    """One line of Chinese about what an event's data says."""
    if not isinstance(data, dict):
        return ""
    parts: list[str] = []
    add = parts.append
    if "to" in data:
        add(f"发送至 {data['to']}")
    if "provider" in data:
        add(f"服务商 {data['provider']}")
    if data.get("message_id"):
        add(f"回执号 {data['message_id']}")
    if "method" in data:
        add(f"方式 {INTENT_METHODS.get(str(data['method']), data['method'])}")
    if data.get("provider_request_id"):
        add(f"认证请求号 {data['provider_request_id']}")
    if "ip" in data:
        add(f"IP {data['ip'] or '—'}")
    if "user_agent" in data:
        add(f"设备 {str(data['user_agent'])[:120] or '—'}")
    if "certificate_serial" in data:
        add(f"证书序列号 {data['certificate_serial']}")
    if "template" in data:
        add(f"模板 {data['template']} v{data.get('template_version', '')}")
    for key, name in (
        ("document_sha256", "文档哈希"),
        ("document_sha256_before", "签署前文档哈希"),
        ("document_sha256_after", "签署后文档哈希"),
        ("handwriting_sha256", "笔迹图像哈希"),
        ("handwriting_strokes_sha256", "笔迹轨迹哈希"),
        ("id_masked", "证件号"),
        ("mobile", "手机号"),
        ("card_masked", "银行卡号"),
        ("outcome", "结果"),
        ("best_frame_sha256", "最佳帧哈希"),
        ("reference_sha256", "比对照片哈希"),
    ):
        if key in data:
            add(f"{name} {data[key]}")
    if isinstance(data.get("scores"), dict) and data["scores"]:
        add("评分 " + "，".join(f"{k} {v}" for k, v in data["scores"].items()))
    if isinstance(data.get("frame_sha256"), list) and data["frame_sha256"]:
        add(f"采集 {len(data['frame_sha256'])} 帧（哈希见事件 JSON）")
    if isinstance(data.get("signatures"), list):
        add(f"共 {len(data['signatures'])} 个签名")
    known = {
        "to", "provider", "message_id", "method", "provider_request_id", "ip", "user_agent",
        "certificate_serial", "template", "template_version", "document_sha256",
        "document_sha256_before", "document_sha256_after", "handwriting_sha256", "signatures",
        "signer", "field", "api_key", "handwriting_strokes_sha256", "handwriting_features",
        "id_masked", "mobile", "card_masked", "outcome", "best_frame_sha256",
        "reference_sha256", "frame_sha256", "scores", "nonce", "check", "review",
    }  # fmt: skip
    for key, value in data.items():
        if key not in known and isinstance(value, str | int | float):
            add(f"{key} {value}")
    return "；".join(parts)


@dataclass
class ReportData:
    report_id: str
    generated_at: datetime
    envelope: dict[str, Any]
    signers: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    chain: dict[str, Any]
    documents: dict[str, str]
    signatures: list[dict[str, Any]]
    certificates: list[dict[str, Any]]
    timestamps: list[dict[str, Any]]
    anchors: list[dict[str, Any]]
    verify_url: str
    platform: dict[str, str]
    notes: list[str] = field(default_factory=list)


@cache
def _jinja() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["china_time"] = china_time
    env.filters["kind_label"] = kinds.label
    return env


@cache
def _font_config() -> FontConfiguration:
    return FontConfiguration()


@cache
def _stylesheets(compact: bool) -> tuple[CSS, ...]:
    config = _font_config()
    return (
        CSS(string=font_face_css(compact=compact), font_config=config),
        CSS(filename=str(TEMPLATES / "evidence_report.css"), font_config=config),
    )


def qr_svg_data_uri(url: str) -> str:
    return str(segno.make(url, error="m").svg_data_uri(scale=4, border=2))


def render_report(data: ReportData) -> bytes:
    """The report as an unsigned PDF (blocking: layout and font subsetting)."""
    html = (
        _jinja()
        .get_template("evidence_report.html")
        .render(r=data, qr=qr_svg_data_uri(data.verify_url))
    )
    with _weasy_lock:
        return bytes(
            HTML(string=html, base_url=str(TEMPLATES)).write_pdf(
                stylesheets=_stylesheets(compact_fonts_ready()), font_config=_font_config()
            )
        )


async def async_render_report(data: ReportData) -> bytes:
    return await asyncio.to_thread(render_report, data)
