"""What the dealer's pages need beyond the envelope rules: forms from template fields,
the searchable list, CSV export, share links and QR codes."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import segno
from piccolo.columns.combination import Combinable

from backend import documents, i18n
from backend.config import Settings
from backend.database import utcnow
from backend.documents.validation import FieldSpec
from backend.envelopes import schemas
from backend.envelopes.services import signer_link
from backend.envelopes.tables import Envelope, Signer
from backend.i18n import N_
from backend.notify.messages import CHINA

STATUS_LABELS = {
    "draft": N_("生成中"),
    "sent": N_("签署中"),
    "completed": N_("已完成"),
    "declined": N_("已拒签"),
    "voided": N_("已撤销"),
    "expired": N_("已过期"),
}
PAGE_SIZE = 30
EXPORT_LIMIT = 5000


@dataclass
class FormInput:
    """One input of the generated form: a template field or a signer's name/phone."""

    name: str
    label: str
    kind: str  # text | tel | number | date | lines | flag
    required: bool
    value: str = ""
    placeholder: str = ""
    hint: str = ""
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _input_kind(spec: FieldSpec) -> str:
    if spec.type == "boolean":
        return "flag"
    if spec.type == "array":
        return "lines"
    if spec.type == "date":
        return "date"
    if spec.type in ("number", "integer"):
        return "number"
    if spec.path.endswith("phone"):
        return "tel"
    return "text"


def form_inputs(
    template: documents.ContractTemplate,
    values: dict[str, str],
    errors: dict[str, str],
    defaults: dict[str, str],
) -> tuple[list[FormInput], list[FormInput]]:
    """The data inputs (one per field) and the signer inputs (name, phone per role)."""
    english = i18n.current() == "en"  # labels in the page's language
    data = []
    for spec in template.fields:
        example = spec.example
        hint = ""
        if spec.type == "array" and english:
            columns = ", ".join(item.label_en for item in spec.items)
            hint = f"One row per line: {columns} (separated by commas)"
        elif spec.type == "array":
            columns = "，".join(item.label for item in spec.items)
            hint = f"每行一条，依次填写：{columns}（用逗号分隔）"
            example = "\n".join(
                ",".join(str(row.get(item.path, "")) for item in spec.items)
                for row in (example if isinstance(example, list) else [])
            )
        data.append(
            FormInput(
                name=spec.path,
                label=spec.label_en if english else spec.label,
                kind=_input_kind(spec),
                required=spec.required,
                value=values.get(spec.path, defaults.get(spec.path, "")),
                placeholder=str(example),
                hint=hint,
                error=errors.get(f"data.{spec.path}", "")
                or _first(errors, f"data.{spec.path}[")
                or _first(errors, f"data.{spec.path}."),
            )
        )
    signers = []
    for index, role in enumerate(template.roles):
        for key, label, label_en, kind in (
            ("name", "姓名", "name", "text"),
            ("phone", "手机号", "mobile", "tel"),
        ):
            name = f"signer.{role.key}.{key}"
            signers.append(
                FormInput(
                    name=name,
                    label=f"{role.label_en} {label_en}" if english else f"{role.label}{label}",
                    kind=kind,
                    required=True,
                    value=values.get(name, defaults.get(name, "")),
                    placeholder="张三" if key == "name" else "13800138000",
                    error=errors.get(f"signers[{index}].{key}", ""),
                )
            )
    return data, signers


def _first(errors: dict[str, str], prefix: str) -> str:
    return next((message for path, message in errors.items() if path.startswith(prefix)), "")


def _set(target: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = target
    for name in parents:
        node = node.setdefault(name, {})
    node[leaf] = value


def stamp_choices(template: documents.ContractTemplate) -> list[documents.RoleSpec]:
    """The roles the sender's own organisation may take as an internal stamping step."""
    return [role for role in template.roles if role.seal]


def body_from_form(
    template: documents.ContractTemplate, form: dict[str, str], organisation_name: str
) -> schemas.CreateEnvelope:
    """The creation request a filled-in form stands for.

    ``stamp_role``: that role is the sender's organisation stamping 合同专用章 (no SMS, no
    phone; ``name`` is the organisation) after every other group has signed."""
    data: dict[str, Any] = {}
    for spec in template.fields:
        raw = (form.get(spec.path) or "").strip()
        if not raw:
            continue
        if spec.type == "array":
            rows = []
            for line in raw.splitlines():
                if not line.strip():
                    continue
                cells = [c.strip() for c in line.replace("，", ",").split(",")]
                rows.append(
                    {item.path: cell for item, cell in zip(spec.items, cells, strict=False)}
                )
            _set(data, spec.path, rows)
        else:
            _set(data, spec.path, raw)
    stamp_role = form.get("stamp_role", "")
    if stamp_role not in {role.key for role in stamp_choices(template)}:
        stamp_role = ""
    orders: dict[str, int | None] = {role.key: None for role in template.roles}
    if stamp_role:
        defaults = template.default_orders()
        others = [order for key, order in defaults.items() if key != stamp_role]
        orders = {**defaults, stamp_role: max(others, default=0) + 1}
    signers = [
        schemas.SignerIn(role=role.key, name=organisation_name, order=orders[role.key], stamp=True)
        if role.key == stamp_role
        else schemas.SignerIn(
            role=role.key,
            name=form.get(f"signer.{role.key}.name", ""),
            phone=form.get(f"signer.{role.key}.phone", ""),
            order=orders[role.key],
        )
        for role in template.roles
    ]
    return schemas.CreateEnvelope(template=template.key, data=data, signers=signers)


def square_thumbnail(page_jpeg: bytes) -> bytes:
    """The top square of a page image: chat apps crop share images to a square from the
    centre, which would cut the contract's title away."""
    from PIL import Image

    with Image.open(io.BytesIO(page_jpeg)) as page:
        side = min(page.size)
        top = page.crop((0, 0, side, side))
        out = io.BytesIO()
        top.convert("RGB").save(out, format="JPEG", quality=85)
    return out.getvalue()


# ---------------------------------------------------------------- list, search, export


def _where(organisation_id: uuid.UUID, status: str | None, q: str | None) -> Combinable:
    where: Combinable = Envelope.organisation == organisation_id
    now = utcnow()
    if status == "expired":
        where = where & (
            (Envelope.status == "expired")
            | ((Envelope.status == "sent") & (Envelope.expires_at < now))
        )
    elif status == "sent":
        where = where & (Envelope.status == "sent") & (Envelope.expires_at >= now)
    elif status in STATUS_LABELS:
        where = where & (Envelope.status == status)
    q = (q or "").strip()[:40]
    if q:
        pattern = f"%{q}%"
        by_signer = Signer.select(Signer.envelope).where(Signer.name.ilike(pattern))
        where = where & (
            Envelope.number.ilike(pattern)
            | Envelope.title.ilike(pattern)
            | Envelope.id.is_in(by_signer)
        )
    return where


def shown_status(row: dict[str, Any]) -> str:
    if row["status"] == "sent" and row["expires_at"] < utcnow():
        return "expired"
    return str(row["status"])


async def search(
    organisation_id: uuid.UUID, status: str | None, q: str | None, limit: int = PAGE_SIZE
) -> list[dict[str, Any]]:
    rows = (
        await Envelope.select(
            Envelope.id,
            Envelope.number,
            Envelope.title,
            Envelope.template,
            Envelope.status,
            Envelope.milestone,
            Envelope.created_at,
            Envelope.expires_at,
            Envelope.completed_at,
        )
        .where(_where(organisation_id, status, q))
        .order_by(Envelope.created_at, ascending=False)
        .limit(limit)
    )
    ids = [r["id"] for r in rows]
    signers = (
        await Signer.select(
            Signer.envelope, Signer.name, Signer.role, Signer.role_label, Signer.status
        )
        .where(Signer.envelope.is_in(ids))
        .order_by(Signer.routing_order)
        if ids
        else []
    )
    for row in rows:
        row["shown_status"] = shown_status(row)
        row["status_label"] = STATUS_LABELS.get(row["shown_status"], row["shown_status"])
        row["signers"] = [s for s in signers if s["envelope"] == row["id"]]
    return rows


def _time(value: datetime | None) -> str:
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if value else ""


async def export_csv(organisation_id: uuid.UUID, status: str | None, q: str | None) -> str:
    rows = await search(organisation_id, status, q, limit=EXPORT_LIMIT)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["合同编号", "合同名称", "状态", "业务节点", "签署人", "创建时间", "截止时间", "完成时间"]
    )
    for r in rows:
        signers = "；".join(
            f"{s['name']}（{s['role_label']}）：{s['status']}" for s in r["signers"]
        )
        writer.writerow(
            [
                r["number"],
                r["title"],
                r["status_label"],
                r["milestone"] or "",
                signers,
                _time(r["created_at"]),
                _time(r["expires_at"]),
                _time(r["completed_at"]),
            ]
        )
    return "\ufeff" + out.getvalue()  # BOM: Excel opens UTF-8 Chinese correctly


# ---------------------------------------------------------------- sharing


def qr_svg(url: str) -> str:
    """The link as an inline SVG QR code (no JavaScript, no image request)."""
    # a viewBox and no fixed size: the page's CSS scales the code to a scannable 200 px
    code = segno.make(url, error="m")
    return str(code.svg_inline(scale=4, border=2, dark="#111", omitsize=True))


def share_card(
    settings: Settings, token: str, envelope: Envelope, signer: Signer, sender: str
) -> dict[str, str]:
    """What a chat app shows for a share link: title, description, link and picture, in
    the page's language. The pattern is translated before it is filled in, so the title
    and the names stay as they were typed."""
    deadline = envelope.expires_at.astimezone(CHINA)
    title = i18n.gettext(N_("《%(title)s》待%(name)s签署"))
    desc = i18n.gettext(
        N_("%(sender)s邀请您在线签署，%(month)s月%(day)s日前有效。点击查看合同并签名。")
    )
    return {
        "title": title % {"title": envelope.title, "name": signer.name},
        "desc": desc % {"sender": sender, "month": deadline.month, "day": deadline.day},
        "link": f"{settings.public_url}/p/{token}",
        "imgUrl": f"{settings.public_url}/p/{token}/thumb.jpg",
    }


def share_links(settings: Settings, signers: list[Signer]) -> list[dict[str, Any]]:
    links = []
    for s in signers:
        url = signer_link(settings, s.id, s.link_nonce)
        token = url.rsplit("/", 1)[-1]
        share = f"{settings.public_url}/p/{token}"
        links.append({"signer": s, "url": url, "share_url": share, "qr": qr_svg(share)})
    return links
