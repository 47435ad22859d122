"""The signer's live-face step: a challenge, the capture, liveness + match, the outcome.

Routes live under ``/s/{token}/face``. The analysis runs in a worker pool (processes by
default), never on the event loop. Frames, the selfie clip and the ID-card photo are
processed in memory and dropped; the audit trail keeps their hashes and the scores, and
the best frame of a passed check is kept sealed (AES-GCM) for
``face_frame_retention_days``, then deleted by the ``face.purge_frames`` job.

The match is local (against the signer's photo of their ID card) or, with
``face_provider=aliyun``, Aliyun Cloudauth ContrastFaceVerify against the official photo
of the claimed ID number; a provider error is never a pass and costs no attempt.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
import time
import uuid
from concurrent.futures import Executor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Template

from backend import i18n
from backend.config import Settings
from backend.database import transaction, utcnow
from backend.envelopes import controllers as envelope_pages
from backend.envelopes import services as envelopes
from backend.envelopes.services import SignerContext
from backend.errors import AppError
from backend.evidence.services import append_event, events_for
from backend.i18n import N_
from backend.identity.tables import FaceEvidenceFrame
from backend.identity.verification import ACCEPTED, load_claim
from backend.jobs import services as jobs
from backend.keys import derived_key, seal_bytes
from backend.notify.aliyun import AliyunError, AliyunRpcClient
from backend.worker_processes import spawn_pool
from ml import face

logger = logging.getLogger("signlink.face")

FACE_PAGE = "/s/{token:str}/face"
FACE_CHALLENGE = "/s/{token:str}/face/challenge"
FACE_VERIFY = "/s/{token:str}/face/verify"
CHALLENGE_PURPOSE = "signlink/face-challenge/v1"
FRAME_PURPOSE = "signlink/face-frame/v1"
PURGE_JOB = "face.purge_frames"
# Above the app-wide 2 MB: a selfie clip from the fallback input is several MB. The
# configured face_max_upload_bytes is checked inside, with a message the signer can act on.
ROUTE_MAX_BODY = 40_000_000

PROMPTS: dict[str, str] = {
    "blink": N_("请眨眨眼"),
    "left": N_("请向左转头"),
    "right": N_("请向右转头"),
    "mouth": N_("请张张嘴"),
    "nod": N_("请点点头"),
}

# the same actions without "请", as the face page lists them and failures name them
ACTIONS: dict[str, str] = {
    "blink": N_("眨眨眼"),
    "left": N_("向左转头"),
    "right": N_("向右转头"),
    "mouth": N_("张张嘴"),
    "nod": N_("点点头"),
}

MESSAGES: dict[str, str] = {
    "no_face": N_("没有检测到人脸。请把脸放进椭圆框内，正对摄像头。"),
    "multiple_faces": N_("画面中有多张人脸。请确保只有您本人在镜头前。"),
    "face_too_small": N_("人脸太小。请把手机拿近一些，让脸部填满椭圆框。"),
    "face_off_centre": N_("人脸不在画面中央。请把脸移到椭圆框中间。"),
    "too_dark": N_("光线太暗。请到明亮处，或打开灯光后重试。"),
    "too_bright": N_("光线太强。请避开强光或逆光后重试。"),
    "blurry": N_("画面模糊。请保持手机稳定，并擦拭摄像头。"),
    "eyes_closed": N_("没有检测到睁眼。请睁开眼睛正对屏幕。"),
    "identity_changed": N_("拍摄过程中人脸发生了变化。请由本人连续完成全部动作。"),
    "frames_identical": N_("检测到静态画面（疑似照片或屏幕翻拍）。请本人对着摄像头完成动作。"),
    "no_natural_motion": N_("没有检测到真人的自然动作（疑似照片）。请本人对着摄像头完成动作。"),
    "flat_picture": N_("转头时的画面像是平面照片。请本人对着摄像头完成动作。"),
    "challenge_wrong_order": N_("动作顺序不对。请按屏幕提示的顺序依次完成动作。"),
    "timestamps_implausible": N_("拍摄时间异常。请重新开始刷脸，中途不要切换应用。"),
    "too_few_frames": N_("采集到的画面太少。请重新开始，按提示完成全部动作。"),
    "too_many_frames": N_("提交的画面过多。请刷新页面后重新开始。"),
    "nonce_expired": N_("本次刷脸已超时或已使用。请重新开始刷脸。"),
    "nonce_invalid": N_("刷脸请求无效。请刷新页面后重新开始。"),
    "not_an_image": N_("上传的文件不是有效的图片。请重新拍摄。"),
    "image_too_large": N_("图片尺寸过大。请重新拍摄后上传。"),
    "image_too_small": N_("图片太小、看不清。请重新拍摄。"),
    "not_a_video": N_("无法读取上传的视频。请重新录制一段 3–5 秒的自拍视频。"),
    "upload_too_large": N_("上传的内容过大。请录制更短的视频（3–5 秒），或改用摄像头刷脸。"),
    "reference_missing": N_("请先拍摄身份证人像面（有照片的一面）。"),
    "reference_no_face": N_("身份证照片上没有找到人像。请拍摄身份证人像面，保持清晰、无反光。"),
    "reference_multiple_faces": N_("身份证照片中有多张人脸。请只拍摄身份证人像面。"),
    "reference_face_too_small": N_("身份证人像太小。请让身份证占满画面后重新拍摄。"),
    "reference_not_an_image": N_("身份证照片不是有效的图片。请重新拍摄。"),
    "reference_image_too_large": N_("身份证照片尺寸过大。请重新拍摄。"),
    "reference_image_too_small": N_("身份证照片太小、看不清。请重新拍摄。"),
    "different_person": N_("刷脸结果与身份证人像不一致。请本人使用本人身份证重试。"),
    "capture_missing": N_("没有收到刷脸画面。请点击“开始刷脸”，或上传一段自拍视频。"),
    "busy": N_("刷脸服务繁忙，请稍后重试。"),
    "claim_missing": N_("请先填写姓名和身份证号，再刷脸认证。"),
    "provider_id_mismatch": N_("姓名与身份证号不一致。请返回核对身份信息后重试。"),
    "provider_no_record": N_(
        "权威数据源中查不到该身份证的照片，无法刷脸比对。请改用其他认证方式或人工审核。"
    ),
    "provider_liveness_risk": N_("刷脸画面存在风险（疑似翻拍或合成）。请本人对着摄像头重试。"),
    "provider_rejected": N_("刷脸比对未通过。请稍后重试，或改用其他认证方式。"),
    "provider_error": N_("刷脸比对服务暂时不可用，本次不计入失败次数。请稍后重试。"),
}


def message_for(reason: str) -> str:
    if reason.startswith("challenge_missing:"):
        action = reason.split(":", 1)[1]
        prompt = ACTIONS.get(action, N_("完成动作"))
        return N_("没有检测到“%(prompt)s”。请按提示做出明显的动作。") % {"prompt": prompt}
    return MESSAGES.get(reason, N_("刷脸未通过。请按提示重新刷脸。"))


# ------------------------------------------------------------------ the worker pool

_pool: Executor | None = None


def _executor(settings: Settings) -> Executor:
    global _pool
    if _pool is None:
        if settings.face_workers <= 0:
            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="face")
        else:
            _pool = spawn_pool(settings.face_workers, face.warm_up)
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


# ------------------------------------------------------------------ the cloud verifier


def _aliyun_rpc(settings: Settings) -> face.RpcCall:
    client = AliyunRpcClient(
        settings.aliyun_access_key_id,
        settings.aliyun_access_key_secret,
        settings.aliyun_region,
        settings.aliyun_cloudauth_endpoint,
        settings.aliyun_timeout_seconds,
    )

    def call(version: str, action: str, params: dict[str, str]) -> dict[str, Any]:
        try:
            return client.call_sync(version, action, params)
        except AliyunError as exc:
            raise face.FaceProviderError(
                exc.code, transient=exc.transient, request_id=exc.request_id
            ) from None

    return call


def face_verifier(settings: Settings) -> face.FaceVerifier | None:
    """The configured cloud verifier; None means the local match inside the worker pool."""
    if settings.face_provider == "aliyun":
        return face.AliyunFaceVerifier(
            rpc=_aliyun_rpc(settings), scene_id=settings.aliyun_face_scene_id
        )
    if settings.face_provider != "local":
        raise ValueError(f"unknown face provider {settings.face_provider!r}")
    return None


@dataclass(frozen=True)
class CloudCheck:
    """The cloud verifier's answer; ``error`` set means no verdict (never a pass)."""

    reasons: list[str]
    provider: str
    request_id: str = ""
    sub_code: str = ""
    error: str = ""


async def _cloud_match(
    settings: Settings, verifier: face.FaceVerifier, claim: Any, a: face.FaceAssessment
) -> CloudCheck:
    descriptor = a.liveness.best_descriptor if a.liveness else None
    budget = settings.aliyun_timeout_seconds + 5  # a hung call must not hold the page
    try:
        check = await asyncio.wait_for(
            asyncio.to_thread(
                verifier.verify,
                descriptor or [],
                a.best_frame_jpeg,
                reference_image=None,
                id_name=claim.name,
                id_number=claim.id_number,
                request_id=uuid.uuid4().hex,
            ),
            timeout=budget,
        )
    except face.FaceProviderError as exc:
        error, request_id = exc.code, exc.request_id
    except TimeoutError:
        error, request_id = "Timeout", ""
    except Exception as exc:  # whatever broke, it is not a pass
        error, request_id = type(exc).__name__, ""
    else:
        return CloudCheck(check.result.reasons, check.provider, check.request_id, check.sub_code)
    logger.warning("face provider error", extra={"fields": {"code": error[:64]}})
    return CloudCheck(["provider_error"], verifier.name, request_id, error=error[:64])


# ------------------------------------------------------------------ the kept best frame


async def _keep_best_frame(
    ctx: SignerContext, a: face.FaceAssessment, settings: Settings
) -> datetime | None:
    """Seal the best frame for the retention period (call inside the event's transaction)."""
    if settings.face_frame_retention_days <= 0 or not a.best_frame_jpeg:
        return None
    now = utcnow()
    expires = now + timedelta(days=settings.face_frame_retention_days)
    await FaceEvidenceFrame.insert(
        FaceEvidenceFrame(
            id=uuid.uuid4(),
            signer=ctx.signer.id,
            envelope=ctx.envelope.id,
            sha256=a.best_frame_sha256,
            frame_sealed=seal_bytes(a.best_frame_jpeg, FRAME_PURPOSE),
            created_at=now,
            expires_at=expires,
        )
    )
    await jobs.enqueue(PURGE_JOB, {}, run_at=expires)
    return expires


async def kept_frames(signer_id: uuid.UUID) -> list[tuple[str, bytes]]:
    """The signer's kept best frames (sha256, JPEG), unsealed, for a dispute."""
    from backend.keys import unseal_bytes

    rows = await FaceEvidenceFrame.select(
        FaceEvidenceFrame.sha256, FaceEvidenceFrame.frame_sealed
    ).where(FaceEvidenceFrame.signer == signer_id)
    return [(r["sha256"], unseal_bytes(r["frame_sealed"], FRAME_PURPOSE)) for r in rows]


async def purge_expired_frames(now: datetime | None = None) -> int:
    """Delete every kept frame whose retention has run out; returns how many."""
    due = FaceEvidenceFrame.expires_at <= (now or utcnow())
    count = await FaceEvidenceFrame.count().where(due)
    if count:
        await FaceEvidenceFrame.delete().where(due)
    return int(count)


@jobs.handler(PURGE_JOB)
async def _purge_job(payload: dict[str, Any]) -> None:
    # One job per kept frame, due when it expires; each run deletes everything due.
    purged = await purge_expired_frames()
    logger.info("face frames purged", extra={"fields": {"count": purged}})


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


def _fixed_actions(text: str) -> tuple[face.Action, ...]:
    if not text:
        return ()
    try:
        return face.parse_actions(text)
    except ValueError:
        logger.error("SIGNLINK_FACE_FIXED_CHALLENGE is invalid; drawing random challenges")
        return ()


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
            self._key(),
            str(ctx.signer.id),
            count=self.settings.face_challenge_actions,
            actions=_fixed_actions(self.settings.face_fixed_challenge),
        )

    async def cloud_claim(self, ctx: SignerContext) -> Any:
        """The claimed identity the cloud verifier checks against; None: match locally."""
        if self.settings.face_provider == "local":
            return None
        claim = await load_claim(ctx.signer.id)
        return claim if claim is not None and claim.id_type == "id_card" else None

    async def _history(self, ctx: SignerContext) -> list[dict[str, Any]]:
        return [
            e
            for e in await events_for(ctx.envelope.id)
            if e["kind"].startswith("face.") and e["data"].get("signer") == str(ctx.signer.id)
        ]

    async def attempts_left(self, ctx: SignerContext) -> int:
        return max(0, self._left(await self._history(ctx)))

    def _left(self, history: list[dict[str, Any]]) -> int:
        """Attempts left: failures count; provider errors only beyond as many again (an
        outage must not lock the signer out, nor allow unlimited liveness runs)."""
        limit = self.settings.face_max_attempts
        failed = sum(e["kind"] == "face.failed" for e in history)
        errors = sum(e["kind"] == "face.error" for e in history)
        return limit - failed - max(0, errors - limit)

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
        left = self._left(history)
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
        claim = await self.cloud_claim(ctx)
        cloud: CloudCheck | None = None
        if challenge and not reasons:
            try:
                assessment = await _assess(
                    self.settings,
                    challenge=challenge.actions,
                    frames=frames[: self.settings.face_max_frames + 1],
                    timestamps_ms=timestamps,
                    video=video,
                    reference=None if claim else reference,
                    elapsed_ms=(time.time() - challenge.issued_at) * 1000,
                    threshold=_threshold(self.settings),
                    policy=face.LivenessPolicy(max_frames=self.settings.face_max_frames),
                    compare_reference=claim is None,
                )
            except BrokenProcessPool:
                return FaceOutcome(False, ["busy"], left)
            reasons += assessment.reasons
            verifier = face_verifier(self.settings) if claim else None
            if verifier is not None and not reasons and assessment.passed:
                # Only a live capture reaches the paid comparison with the official photo.
                cloud = await _cloud_match(self.settings, verifier, claim, assessment)
                reasons += cloud.reasons
        passed = not reasons and assessment is not None and assessment.passed
        detail = self._evidence(ctx, nonce, reasons, assessment, cloud)
        request_id = uuid.uuid4().hex
        if cloud is not None and cloud.error:
            # No verdict: the nonce is spent, the signer's attempts are not (within limits).
            async with transaction():
                await append_event(
                    ctx.envelope.id, "face.error", actor=ctx.signer.role, data=detail
                )
            now_left = self._left([*history, {"kind": "face.error"}])
            counted = ["busy"] if now_left < left else reasons  # no "not counted" promise
            return FaceOutcome(False, counted, now_left, locked=now_left <= 0)
        if not passed:
            async with transaction():
                await append_event(
                    ctx.envelope.id, "face.failed", actor=ctx.signer.role, data=detail
                )
            return FaceOutcome(False, reasons, left - 1, locked=left - 1 <= 0)
        assert assessment is not None
        async with transaction():
            kept_until = await _keep_best_frame(ctx, assessment, self.settings)
            detail["best_frame_kept_until"] = kept_until.isoformat() if kept_until else ""
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
                ctx,
                method="face",
                provider=detail["provider"],
                request_id=detail["provider_request_id"] or request_id,
                detail=summary,
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
        cloud: CloudCheck | None = None,
    ) -> dict[str, Any]:
        # Hashes and scores only: the best frame is kept apart, sealed, for a limited time.
        a = assessment
        return {
            "signer": str(ctx.signer.id),
            "nonce": nonce,
            "mode": "+".join(
                m
                for m, on in (("identity", wants_identity(ctx)), ("intent", wants_intent(ctx)))
                if on
            ),
            "provider": cloud.provider if cloud else "local",
            "provider_request_id": cloud.request_id if cloud else "",
            "provider_sub_code": cloud.sub_code if cloud else "",
            "provider_error": cloud.error if cloud else "",
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
    return N_("实名认证") if wants_identity(ctx) else N_("刷脸确认签署意愿")


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
                cloud=await step.cloud_claim(ctx) is not None,
                retention_days=settings.face_frame_retention_days,
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
            "prompts": [i18n.translate(PROMPTS[a]) for a in c.actions],
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
        if not all(math.isfinite(t) for t in timestamps):
            timestamps = []  # NaN would slip through every timing comparison
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
            cloud=await step.cloud_claim(ctx) is not None,
            retention_days=settings.face_frame_retention_days,
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
