"""The signer's live-face step: a challenge, the capture, liveness + match, the outcome.

Routes live under ``/s/{token}/face``. The analysis runs in a worker pool (processes by
default), never on the event loop. Frames, the selfie clip and the ID-card photo are
processed in memory and dropped; the audit trail keeps their hashes and the scores.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import multiprocessing
import time
import uuid
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Template

from backend.config import Settings
from backend.database import transaction
from backend.envelopes import controllers as envelope_pages
from backend.envelopes import services as envelopes
from backend.envelopes.services import SignerContext
from backend.errors import AppError
from backend.evidence.services import append_event, events_for
from backend.identity.verification import ACCEPTED
from backend.keys import derived_key
from ml import face

logger = logging.getLogger("signlink.face")

FACE_PAGE = "/s/{token:str}/face"
FACE_CHALLENGE = "/s/{token:str}/face/challenge"
FACE_VERIFY = "/s/{token:str}/face/verify"
CHALLENGE_PURPOSE = "signlink/face-challenge/v1"
# Above the app-wide 2 MB: a selfie clip from the fallback input is several MB. The
# configured face_max_upload_bytes is checked inside, with a message the signer can act on.
ROUTE_MAX_BODY = 40_000_000

PROMPTS: dict[str, str] = {
    "blink": "请眨眨眼",
    "left": "请向左转头",
    "right": "请向右转头",
    "mouth": "请张张嘴",
    "nod": "请点点头",
}

RETRY = "请按提示重新刷脸。"
MESSAGES: dict[str, str] = {
    "no_face": "没有检测到人脸。请把脸放进椭圆框内，正对摄像头。",
    "multiple_faces": "画面中有多张人脸。请确保只有您本人在镜头前。",
    "face_too_small": "人脸太小。请把手机拿近一些，让脸部填满椭圆框。",
    "face_off_centre": "人脸不在画面中央。请把脸移到椭圆框中间。",
    "too_dark": "光线太暗。请到明亮处，或打开灯光后重试。",
    "too_bright": "光线太强。请避开强光或逆光后重试。",
    "blurry": "画面模糊。请保持手机稳定，并擦拭摄像头。",
    "eyes_closed": "没有检测到睁眼。请睁开眼睛正对屏幕。",
    "identity_changed": "拍摄过程中人脸发生了变化。请由本人连续完成全部动作。",
    "frames_identical": "检测到静态画面（疑似照片或屏幕翻拍）。请本人对着摄像头完成动作。",
    "no_natural_motion": "没有检测到真人的自然动作（疑似照片）。请本人对着摄像头完成动作。",
    "flat_picture": "转头时的画面像是平面照片。请本人对着摄像头完成动作。",
    "challenge_wrong_order": "动作顺序不对。请按屏幕提示的顺序依次完成动作。",
    "timestamps_implausible": "拍摄时间异常。请重新开始刷脸，中途不要切换应用。",
    "too_few_frames": "采集到的画面太少。请重新开始，按提示完成全部动作。",
    "too_many_frames": "提交的画面过多。请刷新页面后重新开始。",
    "nonce_expired": "本次刷脸已超时或已使用。请重新开始刷脸。",
    "nonce_invalid": "刷脸请求无效。请刷新页面后重新开始。",
    "not_an_image": "上传的文件不是有效的图片。请重新拍摄。",
    "image_too_large": "图片尺寸过大。请重新拍摄后上传。",
    "image_too_small": "图片太小、看不清。请重新拍摄。",
    "not_a_video": "无法读取上传的视频。请重新录制一段 3–5 秒的自拍视频。",
    "upload_too_large": "上传的内容过大。请录制更短的视频（3–5 秒），或改用摄像头刷脸。",
    "reference_missing": "请先拍摄身份证人像面（有照片的一面）。",
    "reference_no_face": "身份证照片上没有找到人像。请拍摄身份证人像面，保持清晰、无反光。",
    "reference_multiple_faces": "身份证照片中有多张人脸。请只拍摄身份证人像面。",
    "reference_face_too_small": "身份证人像太小。请让身份证占满画面后重新拍摄。",
    "reference_not_an_image": "身份证照片不是有效的图片。请重新拍摄。",
    "reference_image_too_large": "身份证照片尺寸过大。请重新拍摄。",
    "reference_image_too_small": "身份证照片太小、看不清。请重新拍摄。",
    "different_person": "刷脸结果与身份证人像不一致。请本人使用本人身份证重试。",
    "capture_missing": "没有收到刷脸画面。请点击“开始刷脸”，或上传一段自拍视频。",
    "busy": "刷脸服务繁忙，请稍后重试。",
}


def message_for(reason: str) -> str:
    if reason.startswith("challenge_missing:"):
        action = reason.split(":", 1)[1]
        prompt = PROMPTS.get(action, "完成动作").removeprefix("请")
        return f"没有检测到“{prompt}”。请按提示做出明显的动作。"
    return MESSAGES.get(reason, "刷脸未通过。" + RETRY)


# ------------------------------------------------------------------ the worker pool

_pool: Executor | None = None


def _executor(settings: Settings) -> Executor:
    global _pool
    if _pool is None:
        if settings.face_workers <= 0:
            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="face")
        else:
            # spawn: a clean interpreter, not a fork of a process with an event loop.
            _pool = ProcessPoolExecutor(
                max_workers=settings.face_workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=face.warm_up,
            )
    return _pool


async def _assess(settings: Settings, **kwargs: Any) -> face.FaceAssessment:
    global _pool
    loop = asyncio.get_running_loop()
    call = functools.partial(face.assess_live_person, **kwargs)
    try:
        return await loop.run_in_executor(_executor(settings), call)
    except BrokenProcessPool:
        logger.exception("face worker died; starting a new pool")
        _pool = None
        raise


# ------------------------------------------------------------------ the service


@dataclass
class FaceOutcome:
    passed: bool
    reasons: list[str]
    attempts_left: int
    locked: bool = False
    session: str | None = None
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def messages(self) -> list[str]:
        return [message_for(r) for r in self.reasons]


def _threshold(settings: Settings) -> float:
    try:
        value = float(settings.face_match_threshold)
    except ValueError:
        value = face.DEFAULT_THRESHOLD
    return value if 0.2 <= value <= 0.8 else face.DEFAULT_THRESHOLD


def wants_identity(ctx: SignerContext) -> bool:
    return ctx.needs_identity and "face" in ACCEPTED.get(ctx.signer.identity_level, ())


def wants_intent(ctx: SignerContext) -> bool:
    return ctx.signer.intent_method == "face"


class FaceStep:
    """Rules of the face step; the controller only parses and renders."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _key(self) -> bytes:
        return derived_key(CHALLENGE_PURPOSE)

    def check_allowed(self, ctx: SignerContext) -> None:
        if ctx.signer.status == "signed":
            raise AppError("already_signed", "您已完成签署。", "You have already signed.", 409)
        if not ctx.is_turn:
            raise AppError(
                "not_your_turn",
                "还未轮到您签署，届时会短信通知您。",
                "It is not your turn to sign yet.",
                409,
            )
        if not wants_identity(ctx) and not wants_intent(ctx):
            raise AppError(
                "face_not_needed",
                "本合同无需刷脸，请返回签署页面继续。",
                "This document does not ask for a face check.",
                409,
            )

    def issue(self, ctx: SignerContext) -> face.Challenge:
        self.check_allowed(ctx)
        return face.issue_challenge(
            self._key(), str(ctx.signer.id), count=self.settings.face_challenge_actions
        )

    async def _history(self, ctx: SignerContext) -> list[dict[str, Any]]:
        return [
            e
            for e in await events_for(ctx.envelope.id)
            if e["kind"].startswith("face.") and e["data"].get("signer") == str(ctx.signer.id)
        ]

    async def attempts_left(self, ctx: SignerContext) -> int:
        failed = sum(e["kind"] == "face.failed" for e in await self._history(ctx))
        return max(0, self.settings.face_max_attempts - failed)

    async def verify(
        self,
        ctx: SignerContext,
        *,
        challenge_token: str,
        frames: list[bytes],
        timestamps: list[float],
        video: bytes | None,
        reference: bytes | None,
        too_large: bool,
    ) -> FaceOutcome:
        self.check_allowed(ctx)
        if wants_intent(ctx) and not wants_identity(ctx) and ctx.signer.read_at is None:
            raise AppError(
                "not_read",
                "请先完整阅读合同全部页面，再刷脸确认。",
                "Read every page of the document first.",
                400,
            )
        history = await self._history(ctx)
        left = self.settings.face_max_attempts - sum(e["kind"] == "face.failed" for e in history)
        if left <= 0:
            return FaceOutcome(False, ["locked"], 0, locked=True)
        reasons: list[str] = []
        nonce = ""
        assessment: face.FaceAssessment | None = None
        try:
            challenge = face.open_challenge(
                self._key(),
                challenge_token,
                str(ctx.signer.id),
                ttl=self.settings.face_challenge_ttl_seconds,
            )
            nonce = challenge.nonce
        except face.ChallengeError as exc:
            reasons.append(exc.code)
            challenge = None
        if challenge and any(e["data"].get("nonce") == nonce for e in history):
            reasons.append("nonce_expired")  # single use: this nonce was already spent
        if too_large:
            reasons.append("upload_too_large")
        elif not frames and video is None:
            reasons.append("capture_missing")
        if challenge and not reasons:
            try:
                assessment = await _assess(
                    self.settings,
                    challenge=challenge.actions,
                    frames=frames[: self.settings.face_max_frames + 1],
                    timestamps_ms=timestamps,
                    video=video,
                    reference=reference,
                    elapsed_ms=(time.time() - challenge.issued_at) * 1000,
                    threshold=_threshold(self.settings),
                    policy=face.LivenessPolicy(max_frames=self.settings.face_max_frames),
                )
            except BrokenProcessPool:
                return FaceOutcome(False, ["busy"], left)
            reasons += assessment.reasons
        passed = not reasons and assessment is not None and assessment.passed
        detail = self._evidence(ctx, nonce, reasons, assessment)
        request_id = uuid.uuid4().hex
        if not passed:
            async with transaction():
                await append_event(
                    ctx.envelope.id, "face.failed", actor=ctx.signer.role, data=detail
                )
            return FaceOutcome(False, reasons, left - 1, locked=left - 1 <= 0)
        async with transaction():
            await append_event(ctx.envelope.id, "face.passed", actor=ctx.signer.role, data=detail)
        summary = {
            "face_request_id": request_id,
            "scores": detail["scores"],
            "frame_sha256": detail["frame_sha256"],
            "best_frame_sha256": detail["best_frame_sha256"],
            "reference_sha256": detail["reference_sha256"],
        }
        if wants_identity(ctx):
            await envelopes.record_identity(
                ctx, method="face", provider="local", request_id=request_id, detail=summary
            )
        session = None
        if wants_intent(ctx) and ctx.signer.read_at is not None and not ctx.needs_identity:
            session = await envelopes.open_intent_session(ctx, method="face", detail=summary)
        return FaceOutcome(True, [], left, session=session, scores=detail["scores"])

    def _evidence(
        self,
        ctx: SignerContext,
        nonce: str,
        reasons: list[str],
        assessment: face.FaceAssessment | None,
    ) -> dict[str, Any]:
        # Hashes and scores only: the pictures themselves are never stored.
        a = assessment
        return {
            "signer": str(ctx.signer.id),
            "nonce": nonce,
            "mode": "+".join(
                m
                for m, on in (("identity", wants_identity(ctx)), ("intent", wants_intent(ctx)))
                if on
            ),
            "provider": "local",
            "reasons": reasons,
            "scores": a.scores if a else {},
            "threshold": _threshold(self.settings),
            "frame_sha256": a.frame_hashes if a else [],
            "best_frame_sha256": a.best_frame_sha256 if a else "",
            "reference_sha256": a.reference_sha256 if a else "",
            "server_ms": a.server_ms if a else 0.0,
        }


# ------------------------------------------------------------------ HTTP


def _is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def _mode_label(ctx: SignerContext) -> str:
    return "实名认证" if wants_identity(ctx) else "刷脸确认签署意愿"


def _page_vars(
    ctx: SignerContext, challenge: face.Challenge | None, **extra: Any
) -> dict[str, Any]:
    return {
        "ctx": ctx,
        "env": ctx.envelope,
        "signer": ctx.signer,
        "token": ctx.token,
        "mode_label": _mode_label(ctx),
        "challenge": challenge,
        "prompts": [PROMPTS[a] for a in challenge.actions] if challenge else [],
        "needs_read": wants_intent(ctx) and not wants_identity(ctx) and ctx.signer.read_at is None,
        **extra,
    }


async def _read_upload(value: Any, budget: list[int]) -> bytes | None:
    if not isinstance(value, UploadFile):
        return None
    data = await value.read(budget[0] + 1)
    budget[0] -= len(data)
    return data


class FaceStepPages(Controller):
    include_in_schema = False

    @get(FACE_PAGE)
    async def page(self, token: str, settings: Settings) -> Template | Redirect:
        ctx = await envelope_pages.signer_context(token)
        if ctx.signer.status == "signed":
            return Redirect(path=f"/s/{token}/done")
        step = FaceStep(settings)
        step.check_allowed(ctx)
        left = await step.attempts_left(ctx)
        return Template(
            "pages/identity/face.html",
            context=_page_vars(
                ctx,
                step.issue(ctx) if left else None,
                attempts_left=left,
                locked=left <= 0,
                max_frames=settings.face_max_frames,
            ),
        )

    @post(FACE_CHALLENGE, status_code=200)
    async def challenge(self, token: str, settings: Settings) -> dict[str, Any]:
        ctx = await envelope_pages.signer_context(token)
        step = FaceStep(settings)
        c = step.issue(ctx)
        return {
            "challenge": c.token,
            "actions": list(c.actions),
            "prompts": [PROMPTS[a] for a in c.actions],
            "expires_in": settings.face_challenge_ttl_seconds,
            "max_frames": settings.face_max_frames,
            "attempts_left": await step.attempts_left(ctx),
        }

    @post(FACE_VERIFY, status_code=200, request_max_body_size=ROUTE_MAX_BODY)
    async def verify(
        self, token: str, request: Request[Any, Any, Any], settings: Settings
    ) -> Response[Any] | Template:
        ctx = await envelope_pages.signer_context(token)
        step = FaceStep(settings)
        step.check_allowed(ctx)
        form = await request.form()
        budget = [settings.face_max_upload_bytes]
        frames: list[bytes] = []
        for value in form.getall("frame", []):
            data = await _read_upload(value, budget)
            if data is not None:
                frames.append(data)
        video = await _read_upload(form.get("video"), budget)
        reference = await _read_upload(form.get("reference"), budget)
        if video is not None and not video:
            video = None  # an empty file input: the camera path was used
        try:
            timestamps = [float(t) for t in json.loads(str(form.get("timestamps") or "[]"))]
        except (ValueError, TypeError):
            timestamps = []
        outcome = await step.verify(
            ctx,
            challenge_token=str(form.get("challenge") or ""),
            frames=frames,
            timestamps=timestamps,
            video=video,
            reference=reference or None,
            too_large=budget[0] < 0,
        )
        if outcome.passed:
            return self._after_pass(request, ctx, outcome, settings)
        htmx = _is_htmx(request)
        context = _page_vars(
            ctx,
            None if outcome.locked or htmx else step.issue(ctx),
            outcome=outcome,
            attempts_left=outcome.attempts_left,
            locked=outcome.locked,
            max_frames=settings.face_max_frames,
        )
        name = "pages/identity/face_result.html" if htmx else "pages/identity/face.html"
        return Template(name, context=context, status_code=200 if htmx else 400)

    def _after_pass(
        self,
        request: Request[Any, Any, Any],
        ctx: SignerContext,
        outcome: FaceOutcome,
        settings: Settings,
    ) -> Response[Any]:
        if outcome.session is not None:
            return envelope_pages.go_to_signing(request, ctx.token, outcome.session, settings)
        url = f"/s/{ctx.token}"
        if _is_htmx(request):
            return Response(content="", status_code=200, headers={"HX-Redirect": url})
        return Redirect(path=url, status_code=303)
