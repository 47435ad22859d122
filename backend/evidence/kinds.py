"""Every kind of audit event, named once, with the label the evidence report prints.

Kinds marked *reserved* belong to features that do not exist yet (decline, void,
milestones, face liveness); their names are fixed here so that those features record
them under the same names the report and the verifier already understand.
"""

from __future__ import annotations

ENVELOPE_CREATED = "envelope.created"
ENVELOPE_SENT = "envelope.sent"
SIGNER_NOTIFIED = "signer.notified"
SIGNER_VIEWED = "signer.viewed"
SIGNER_READ = "signer.read"
SIGNER_VERIFIED = "signer.verified"
SIGNER_LIVENESS = "signer.liveness"  # reserved: liveness and face match (scores, frame hashes)
INTENT_CODE_SENT = "intent.code_sent"
INTENT_CONFIRMED = "intent.confirmed"
SIGNER_SIGNED = "signer.signed"
SIGNER_FIELD_SIGNED = "signer.field_signed"  # a further field, same drawing and intent
SIGNER_DECLINED = "signer.declined"  # reserved: a signer refuses (reason)
ENVELOPE_MILESTONE = "envelope.milestone"  # reserved: waybill in transit / received
ENVELOPE_VOIDED = "envelope.voided"  # reserved: the sender withdraws (reason)
ENVELOPE_EXPIRED = "envelope.expired"  # reserved: the deadline passed unsigned
ENVELOPE_COMPLETED = "envelope.completed"
DOCUMENT_DOWNLOADED = "document.downloaded"
DOCUMENT_LONG_TERM = "document.long_term"
DOCUMENT_LONG_TERM_FAILED = "document.long_term_failed"

LABELS: dict[str, tuple[str, str]] = {
    ENVELOPE_CREATED: ("创建合同", "envelope created"),
    ENVELOPE_SENT: ("发起签署", "sent for signature"),
    SIGNER_NOTIFIED: ("短信通知签署人", "signer notified by SMS"),
    SIGNER_VIEWED: ("打开签署链接", "signing link opened"),
    SIGNER_READ: ("阅读合同全文", "document read to the end"),
    SIGNER_VERIFIED: ("实名认证通过", "identity verified"),
    SIGNER_LIVENESS: ("活体检测与人脸比对", "liveness and face match"),
    INTENT_CODE_SENT: ("发送意愿验证码", "intent code sent"),
    INTENT_CONFIRMED: ("确认签署意愿", "intent confirmed"),
    SIGNER_SIGNED: ("完成签名", "signed"),
    SIGNER_FIELD_SIGNED: ("完成签名（其他签字处）", "signed a further field"),
    SIGNER_DECLINED: ("拒绝签署", "declined"),
    ENVELOPE_MILESTONE: ("业务节点", "milestone"),
    ENVELOPE_VOIDED: ("合同作废", "voided"),
    ENVELOPE_EXPIRED: ("签署期限届满", "expired"),
    ENVELOPE_COMPLETED: ("全部签署完成", "completed"),
    DOCUMENT_DOWNLOADED: ("下载合同", "document downloaded"),
    DOCUMENT_LONG_TERM: ("长期验证数据与文档时间戳", "long-term validation data added"),
    DOCUMENT_LONG_TERM_FAILED: ("长期验证处理失败", "long-term validation failed"),
    # Recorded by the identity step (backend.identity).
    "identity.claimed": ("提交身份信息", "identity claimed"),
    "identity.code_sent": ("发送实名验证码", "identity code sent"),
    "identity.rate_limited": ("实名认证次数受限", "identity attempts limited"),
    "identity.checked": ("实名核验", "identity checked"),
    "identity.review_submitted": ("提交人工审核", "manual review submitted"),
    "identity.review_approved": ("人工审核通过", "manual review approved"),
    "identity.review_rejected": ("人工审核驳回", "manual review rejected"),
    "identity.review_notified": ("通知审核结果", "review result sent"),
    "face.passed": ("人脸核验通过", "face check passed"),
    "face.failed": ("人脸核验未通过", "face check failed"),
    "face.error": ("人脸比对服务无结果（不计次数）", "face provider gave no verdict (not counted)"),
}

ALL_KINDS = frozenset(LABELS)


def label(kind: str) -> str:
    """The Chinese label of ``kind`` (the kind itself if it is unknown)."""
    return LABELS.get(kind, (kind, kind))[0]


def label_en(kind: str) -> str:
    return LABELS.get(kind, (kind, kind))[1]
