"""HTTP for the envelope's life after creation: void, remind, decline, batches, previews."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from backend import documents
from backend.config import Settings
from backend.envelopes import batch, lifecycle, schemas, services, stamping, urls
from backend.envelopes.controllers import _go, _page_vars, _pdf_response, signer_context
from backend.errors import AppError
from backend.orgs.services import Caller
from backend.orgs.tables import Seal

FormBody = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
_previews: dict[tuple[str, int], bytes] = {}


async def template_preview(key: str) -> bytes:
    """The template filled with its documented examples (cached per version)."""
    template = documents.get_template(key)
    if template is None:
        raise services._unknown_template(key)
    cache_key = (template.key, template.version)
    if cache_key not in _previews:
        rendered = await documents.async_render_document(
            template,
            template.validate(template.example_data()),
            document_number="PREVIEW",
            signers={r.key: "示例" for r in template.roles},
        )
        _previews[cache_key] = rendered.pdf
    return _previews[cache_key]


async def read_csv_upload(request: Request[Any, Any, Any]) -> bytes:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise AppError("no_file", "请选择 CSV 文件。", "Send the CSV as part 'file'.", 400)
        return await upload.read()
    return await request.body()


class EnvelopeFlowApi(Controller):
    tags = ("envelopes",)
    security = ({"BearerAuth": []},)

    @post(urls.API_ENVELOPE_VOID, status_code=200, summary="Void (withdraw) an envelope")
    async def void(
        self, envelope_id: uuid.UUID, data: schemas.ReasonIn, caller: Caller, settings: Settings
    ) -> schemas.EnvelopeOut:
        await lifecycle.void(caller, envelope_id, data.reason, settings)
        return await services.envelope_out(envelope_id, caller.organisation_id)

    @post(
        urls.API_SIGNER_REMIND,
        status_code=202,
        summary="Resend the signing link to the signer whose turn it is (with a cooldown)",
    )
    async def remind(
        self, envelope_id: uuid.UUID, signer_id: uuid.UUID, caller: Caller, settings: Settings
    ) -> schemas.RemindOut:
        at = await lifecycle.remind(caller, envelope_id, signer_id, settings)
        return schemas.RemindOut(signer_id=str(signer_id), queued_at=at)

    @post(
        urls.API_BATCH_CREATE,
        status_code=202,
        summary="Create up to 1,000 envelopes; rendering and SMS are queued",
        request_max_body_size=20_000_000,
    )
    async def create_batch(
        self, data: batch.CreateBatch, caller: Caller, settings: Settings
    ) -> batch.BatchOut:
        return await batch.create_batch(
            caller, data.template, data.items, settings, callback_url=data.callback_url
        )

    @post(
        urls.API_BATCH_CSV,
        status_code=202,
        summary="Create envelopes from a CSV (text/csv body or multipart part 'file')",
        request_max_body_size=batch.MAX_CSV_BYTES + 64 * 1024,
    )
    async def create_batch_csv(
        self, request: Request[Any, Any, Any], template: str, caller: Caller, settings: Settings
    ) -> batch.BatchOut:
        found = documents.get_template(template)
        if found is None:
            raise services._unknown_template(template)
        text = batch.decode_csv(await read_csv_upload(request))
        items, lines, broken = batch.parse_csv(text, found)
        return await batch.create_batch(
            caller,
            found.key,
            items,
            settings,
            source="csv",
            row_numbers=lines,
            pre_errors=broken,
        )

    @get(urls.API_BATCH, summary="A batch: accepted and rejected rows, rendering and SMS progress")
    async def show_batch(self, batch_id: uuid.UUID, caller: Caller) -> batch.BatchOut:
        return await batch.batch_out(batch_id, caller.organisation_id)

    @get(urls.API_TEMPLATE_PREVIEW, summary="A template filled with example data (PDF)")
    async def preview(self, key: str, caller: Caller) -> Response[bytes]:
        return _pdf_response(await template_preview(key), f"{key}-preview.pdf")

    @get(urls.API_TEMPLATE_CSV, summary="CSV header and example row for a batch upload")
    async def csv_template(self, key: str, caller: Caller) -> Response[str]:
        template = documents.get_template(key)
        if template is None:
            raise services._unknown_template(key)
        return Response(
            content="\ufeff" + batch.csv_template(template),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{key}-batch.csv"'},
        )


class SealIn(msgspec.Struct):
    name: str = "合同专用章"
    holders: list[str] = msgspec.field(default_factory=list)


class SealOut(msgspec.Struct):
    id: str
    name: str
    holders: list[str]
    image: str  # data: URL of the seal PNG


def _seal_out(seal: Seal) -> SealOut:
    raw = seal.holders
    holders = json.loads(raw) if isinstance(raw, str) else list(raw or [])
    image = "data:image/png;base64," + base64.b64encode(seal.png).decode()
    return SealOut(id=str(seal.id), name=seal.name, holders=holders, image=image)


class SealApi(Controller):
    tags = ("seals",)
    security = ({"BearerAuth": []},)

    @post(urls.API_SEALS, status_code=201, summary="Create a round seal for the organisation")
    async def create(self, data: SealIn, caller: Caller) -> SealOut:
        return _seal_out(await stamping.create_seal(caller, data.name, data.holders))

    @get(urls.API_SEALS, summary="The organisation's seals")
    async def list_seals(self, caller: Caller) -> list[SealOut]:
        rows = await Seal.objects().where(
            (Seal.organisation == caller.organisation_id) & Seal.disabled_at.is_null()
        )
        return [_seal_out(s) for s in rows]


class DeclinePages(Controller):
    include_in_schema = False

    @get(urls.SIGN_DECLINE)
    async def form(self, token: str) -> Template | Redirect:
        ctx = await signer_context(token)
        if ctx.signer.status == "signed" or ctx.envelope.status != "sent":
            return Redirect(path=urls.link(token))
        return Template("pages/signing/decline.html", context=_page_vars(ctx))

    @post(urls.SIGN_DECLINE, status_code=200)
    async def decline(
        self, token: str, request: Request[Any, Any, Any], data: FormBody, settings: Settings
    ) -> Response[Any] | Template:
        ctx = await signer_context(token)
        try:
            await lifecycle.decline(ctx, data.get("reason", ""), settings)
        except AppError as exc:
            if exc.code != "validation_failed":
                raise
            return Template(
                "pages/signing/decline.html",
                context=_page_vars(ctx, reason=data.get("reason", ""), error=exc.fields[0]),
                status_code=400,
            )
        return _go(request, urls.link(token))
