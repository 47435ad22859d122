"""Many envelopes at once, from one API call or one CSV upload.

Every row is checked first; the valid rows are stored in ONE transaction (drafts, signers,
one ``document.render`` job each and the first SMS of each), so a batch is either stored
whole or not at all, and a bad row never takes the good ones down with it. The first SMS
are *held* (due only when the envelope would expire): rendering a document releases its
SMS in the transaction that stores it, so no signer gets a link to a document that does
not exist yet, and an SMS whose document never renders sends nothing (the SMS job skips
drafts). The job worker renders, in a process pool when one is configured;
``GET /api/v1/batches/{id}`` shows how far they got.

CSV layout: one envelope per line; a header row names template fields by their dotted
path (``buyer.name``, ``vehicle.vin``) and signers as ``signers.<role>.name`` /
``.phone`` (optional ``.order``, ``.identity``, ``.intent``). A list field (the vehicles
of a waybill) takes a JSON array in its cell. UTF-8 (with or without BOM) or GB18030,
as Excel saves it in China.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import msgspec
from piccolo.query.functions.aggregate import Count

from backend import documents
from backend.config import Settings
from backend.database import transaction, utcnow
from backend.envelopes import schemas, services
from backend.envelopes.tables import Batch, Envelope, Signer
from backend.errors import AppError, FieldProblem, validation_error
from backend.jobs import services as jobs
from backend.orgs.services import Caller

MAX_CSV_BYTES = 5_000_000
SIGNER_KEYS = ("name", "phone", "order", "identity", "intent")


class BatchItem(msgspec.Struct, forbid_unknown_fields=False):
    data: dict[str, Any]
    signers: list[schemas.SignerIn]
    callback_url: str | None = None


class CreateBatch(msgspec.Struct):
    template: str
    items: list[dict[str, Any]]
    callback_url: str | None = None


class RowError(msgspec.Struct):
    row: int  # 1-based item number (CSV: the line number in the file)
    errors: list[dict[str, str]]


class BatchOut(msgspec.Struct):
    id: str
    template: str
    source: str
    total: int
    accepted: int
    rejected: int
    errors: list[RowError]
    created_at: Any
    # How far the accepted envelopes got: by status (draft = still rendering).
    progress: dict[str, int]
    rendered: int
    invitations_sent: int
    done: bool
    url: str


@dataclass(frozen=True)
class _Checked:
    drafts: list[services.EnvelopeDraft]
    errors: list[RowError]


def _problems(problems: list[FieldProblem]) -> list[dict[str, str]]:
    return [{"field": p.path, "message": p.message, "message_en": p.message_en} for p in problems]


def check_items(
    template: documents.ContractTemplate,
    items: list[dict[str, Any]],
    callback_url: str | None,
    *,
    row_numbers: list[int] | None = None,
) -> _Checked:
    drafts: list[services.EnvelopeDraft] = []
    errors: list[RowError] = []
    for index, raw in enumerate(items):
        row = row_numbers[index] if row_numbers else index + 1
        try:
            item = msgspec.convert(raw, BatchItem)
        except msgspec.ValidationError as exc:
            errors.append(
                RowError(
                    row,
                    [{"field": "item", "message": "该行结构不正确。", "message_en": str(exc)}],
                )
            )
            continue
        body = schemas.CreateEnvelope(
            template=template.key,
            data=item.data,
            signers=item.signers,
            callback_url=item.callback_url or callback_url,
        )
        draft, problems = services.check_envelope(body)
        if draft is None:
            errors.append(RowError(row, _problems(problems)))
        else:
            drafts.append(draft)
    return _Checked(drafts, errors)


async def create_batch(
    caller: Caller,
    template_key: str,
    items: list[dict[str, Any]],
    settings: Settings,
    *,
    source: str = "api",
    callback_url: str | None = None,
    row_numbers: list[int] | None = None,
    pre_errors: list[RowError] | None = None,
) -> BatchOut:
    template = documents.get_template(template_key)
    if template is None:
        raise services._unknown_template(template_key)
    total = len(items) + len(pre_errors or [])
    if total == 0 or total > settings.batch_max_rows:
        raise validation_error(
            [
                FieldProblem(
                    "items",
                    f"每批应有 1–{settings.batch_max_rows} 份合同（当前 {total} 份）。",
                    f"A batch holds 1–{settings.batch_max_rows} envelopes (got {total}).",
                )
            ]
        )
    checked = check_items(template, items, callback_url, row_numbers=row_numbers)
    errors = sorted([*(pre_errors or []), *checked.errors], key=lambda e: e.row)
    if not checked.drafts:
        raise AppError(
            "batch_invalid",
            "所有行均有错误，未创建任何合同，请按每行的提示修改后重新提交。",
            "Every row has errors; nothing was created.",
            400,
            fields=[
                FieldProblem(f"items[{e.row}].{p['field']}", p["message"], p["message_en"])
                for e in errors
                for p in e.errors
            ][:200],
        )
    batch_id = uuid.uuid4()
    # Held first SMS: due when the envelope would expire, released by its render.
    hold_until = utcnow() + timedelta(days=settings.envelope_ttl_days)
    async with transaction():
        await Batch.insert(
            Batch(
                id=batch_id,
                organisation=caller.organisation_id,
                template=template.key,
                source=source,
                total=total,
                accepted=len(checked.drafts),
                errors=json.dumps([msgspec.to_builtins(e) for e in errors], ensure_ascii=False),
                created_at=utcnow(),
            )
        )
        for draft in checked.drafts:
            envelope_id = await services.insert_draft(caller, draft, settings, batch_id=batch_id)
            await jobs.enqueue(services.RENDER_JOB, {"envelope_id": str(envelope_id)})
            await services.hold_first_invitations(envelope_id, hold_until)
    jobs.wake_worker()
    return await batch_out(batch_id, caller.organisation_id)


async def batch_out(batch_id: uuid.UUID, organisation_id: uuid.UUID) -> BatchOut:
    batch = (
        await Batch.objects()
        .where((Batch.id == batch_id) & (Batch.organisation == organisation_id))
        .first()
    )
    if batch is None:
        raise AppError("not_found", "找不到该批次。", "No such batch.", 404)
    rows = (
        await Envelope.select(Envelope.status, Count(Envelope.id, alias="n"))
        .where(Envelope.batch == batch_id)
        .group_by(Envelope.status)
    )
    progress = {r["status"]: r["n"] for r in rows}
    notified = await Signer.count().where(
        Signer.envelope.is_in(Envelope.select(Envelope.id).where(Envelope.batch == batch_id))
        & Signer.notified_at.is_not_null()
    )
    raw = batch.errors
    errors = json.loads(raw) if isinstance(raw, str) else raw or []
    rendered = batch.accepted - progress.get("draft", 0)
    return BatchOut(
        id=str(batch.id),
        template=batch.template,
        source=batch.source,
        total=batch.total,
        accepted=batch.accepted,
        rejected=batch.total - batch.accepted,
        errors=[msgspec.convert(e, RowError) for e in errors],
        created_at=batch.created_at,
        progress=progress,
        rendered=rendered,
        invitations_sent=notified,
        done=rendered == batch.accepted,
        url=f"/api/v1/batches/{batch.id}",
    )


# ---------------------------------------------------------------- CSV


def decode_csv(raw: bytes) -> str:
    if len(raw) > MAX_CSV_BYTES:
        raise validation_error(
            [FieldProblem("file", "CSV 文件不能超过 5 MB。", "The CSV file must be at most 5 MB.")]
        )
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise validation_error(  # pragma: no cover - gb18030 decodes almost anything
        [FieldProblem("file", "无法识别文件编码，请另存为 UTF-8 CSV。", "Save the file as UTF-8.")]
    )


def _set(target: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = target
    for name in parents:
        node = node.setdefault(name, {})
    node[leaf] = value


def parse_csv(
    text: str, template: documents.ContractTemplate
) -> tuple[list[dict[str, Any]], list[int], list[RowError]]:
    """Rows as batch items, their line numbers, and the lines that could not be read."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error):
        raise validation_error(
            [FieldProblem("file", "CSV 文件为空。", "The CSV file is empty.")]
        ) from None
    paths = {f.path: f for f in template.fields}
    roles = {r.key for r in template.roles}
    unknown = [
        h
        for h in header
        if h not in paths
        and not (
            h.startswith("signers.")
            and h.count(".") == 2
            and h.split(".")[1] in roles
            and h.split(".")[2] in SIGNER_KEYS
        )
    ]
    if unknown:
        raise validation_error(
            [
                FieldProblem(
                    "file",
                    f"表头含有模板“{template.title}”没有的列：{'、'.join(unknown)}。",
                    f"Unknown columns for {template.key}: {', '.join(unknown)}.",
                )
            ]
        )
    items: list[dict[str, Any]] = []
    lines: list[int] = []
    broken: list[RowError] = []
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            line = reader.line_num
            broken.append(RowError(line, [_cell_error("row", "该行无法解析。", str(exc))]))
            continue
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue  # blank line
        if len(cells) != len(header):
            broken.append(
                RowError(
                    line,
                    [
                        _cell_error(
                            "row",
                            f"该行有 {len(cells)} 列，表头有 {len(header)} 列。",
                            f"This line has {len(cells)} cells; the header has {len(header)}.",
                        )
                    ],
                )
            )
            continue
        data: dict[str, Any] = {}
        signers: dict[str, dict[str, Any]] = {}
        problems: list[dict[str, str]] = []
        for name, cell in zip(header, cells, strict=True):
            value = cell.strip()
            if name.startswith("signers."):
                _, role, key = name.split(".")
                if value:
                    signers.setdefault(role, {"role": role})[key] = (
                        int(value) if key == "order" and value.isdigit() else value
                    )
                continue
            if not value:
                continue
            if paths[name].type == "array":
                try:
                    value = json.loads(value)
                except json.JSONDecodeError:
                    problems.append(
                        _cell_error(name, "该列应为 JSON 数组。", "This cell must be a JSON array.")
                    )
                    continue
            _set(data, name, value)
        if problems:
            broken.append(RowError(line, problems))
            continue
        items.append({"data": data, "signers": list(signers.values())})
        lines.append(line)
    return items, lines, broken


def _cell_error(field: str, message: str, message_en: str) -> dict[str, str]:
    return {"field": field, "message": message, "message_en": message_en}


def csv_template(template: documents.ContractTemplate) -> str:
    """A header row and one example row: what to fill in for a CSV upload."""
    header = [f.path for f in template.fields] + [
        f"signers.{r.key}.{k}" for r in template.roles for k in ("name", "phone")
    ]
    example = template.example_data()
    row: list[str] = []
    for spec in template.fields:
        node: Any = example
        for name in spec.path.split("."):
            node = node.get(name) if isinstance(node, dict) else None
        row.append(json.dumps(node, ensure_ascii=False) if isinstance(node, list) else str(node))
    for i, _role in enumerate(template.roles):
        row += ["张三", f"1380013800{i}"]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerow(row)
    return out.getvalue()
