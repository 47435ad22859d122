"""HTTP for evidence: the signed evidence report and the offline-verifiable bundle."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get

from backend.config import Settings
from backend.errors import FieldProblem, validation_error
from backend.evidence import services, urls
from backend.orgs.services import Caller


def _download(content: bytes, media_type: str, filename: str) -> Response[bytes]:
    return Response(
        content=content,
        media_type=media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "no-store",
        },
    )


class EvidenceApi(Controller):
    tags = ("evidence",)
    security = ({"BearerAuth": []},)

    @get(
        urls.API_EVIDENCE,
        summary="Signing evidence report (PDF signed by the platform), or ?format=zip",
        media_type="application/pdf",
    )
    async def report(
        self,
        envelope_id: uuid.UUID,
        caller: Caller,
        settings: Settings,
        request: Request[Any, Any, Any],
        format: str = "pdf",
    ) -> Response[bytes]:
        if format == "zip":
            return await _bundle(envelope_id, caller, settings, request)
        if format != "pdf":
            raise validation_error(
                [FieldProblem("format", "format 只能是 pdf 或 zip。", "format is pdf or zip.")]
            )
        number, pdf = await services.evidence_report(
            envelope_id, caller.organisation_id, settings, request.app.state.ca
        )
        return _download(pdf, "application/pdf", f"签约存证报告-{number}.pdf")

    @get(
        urls.API_EVIDENCE_ZIP,
        summary="Evidence bundle: signed PDF, report, events, certificates, timestamp tokens",
        media_type="application/zip",
    )
    async def bundle_zip(
        self,
        envelope_id: uuid.UUID,
        caller: Caller,
        settings: Settings,
        request: Request[Any, Any, Any],
    ) -> Response[bytes]:
        return await _bundle(envelope_id, caller, settings, request)


async def _bundle(
    envelope_id: uuid.UUID, caller: Caller, settings: Settings, request: Request[Any, Any, Any]
) -> Response[bytes]:
    number, data = await services.evidence_bundle(
        envelope_id, caller.organisation_id, settings, request.app.state.ca
    )
    return _download(data, "application/zip", f"evidence-{number}.zip")
