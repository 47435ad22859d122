"""Webhook rules: which audit events go out, to whom, signed how, retried how long.

Every audit event of a webhook type (see EVENT_TYPES) becomes one `Delivery` row and one
`webhook.deliver` job per matching endpoint of the envelope's organisation, plus one for
the envelope's `callback_url` — written by an audit listener inside the transaction of
the state change, so an event goes out if and only if the change committed.

Delivery is at least once: a receiver must treat the event `id` as an idempotency key.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from piccolo.columns.combination import Combinable

from backend.config import Settings
from backend.database import transaction, utcnow
from backend.envelopes.tables import Envelope
from backend.errors import AppError, FieldProblem, validation_error
from backend.evidence import kinds
from backend.evidence import services as evidence
from backend.evidence.tables import AuditEvent
from backend.jobs import services as jobs
from backend.keys import keyed_token, seal, unseal
from backend.metrics import WEBHOOK_DELIVERIES
from backend.orgs.services import Caller
from backend.pagination import check_limit, next_cursor, older_than
from backend.webhooks import schemas
from backend.webhooks.tables import Delivery, Endpoint

logger = logging.getLogger("signlink.webhooks")

EVENT_TYPES = (
    kinds.ENVELOPE_SENT,
    kinds.SIGNER_VIEWED,
    kinds.SIGNER_VERIFIED,
    kinds.SIGNER_SIGNED,
    kinds.SIGNER_DECLINED,
    kinds.ENVELOPE_MILESTONE,
    kinds.ENVELOPE_COMPLETED,
    kinds.ENVELOPE_EXPIRED,
    kinds.ENVELOPE_VOIDED,
)
JOB_KIND = "webhook.deliver"
RETRY_FOR = timedelta(hours=24)
MAX_ATTEMPTS = jobs.attempts_within(RETRY_FOR)
TIMEOUT = httpx.Timeout(10.0, connect=10.0, read=10.0)
# A slow-drip receiver must not hold a worker longer than this, whatever the read timeout.
ATTEMPT_DEADLINE_SECONDS = 30.0
SIGNATURE_HEADER = "SignLink-Signature"
SECRET_PREFIX = "whsec_"
# Audit data copied into the payload; the rest (IP, user agent, phone) stays in the trail.
_DATA_KEYS = ("method", "document_sha256", "milestone", "reason", "certificate_serial")


@dataclass
class _Wiring:
    allow_private: bool = False


_wiring = _Wiring()


# ---------------------------------------------------------------- signatures


def sign_body(secret: str, body: str, timestamp: int | None = None) -> str:
    """The SignLink-Signature header value: t=<unix seconds>,v1=<hex HMAC-SHA256>."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify_signature(secret: str, body: str, header: str, tolerance: int = 300) -> bool:
    """What a receiver does (see README.md): check the MAC and that the time is recent."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - t) > tolerance:
        return False
    expected = sign_body(secret, body, t).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def callback_secret(organisation_id: uuid.UUID) -> str:
    """Secret for envelope callback_url deliveries: derived per organisation, never stored."""
    return SECRET_PREFIX + keyed_token("signlink/webhook-callback/v1", str(organisation_id), 43)


# ---------------------------------------------------------------- destinations


class BlockedDestination(Exception):
    """The URL resolves to an address webhooks may not reach (loopback, private, ...)."""


def _forbidden(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


async def resolve_destination(url: str, allow_private: bool) -> list[str]:
    """Every address the host resolves to; refused if any is not a public unicast address."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve {host}: {exc}") from None
    addresses = sorted({str(info[4][0]).split("%")[0] for info in infos})
    if not addresses:
        raise OSError(f"cannot resolve {host}")
    if not allow_private:
        blocked = [a for a in addresses if _forbidden(ipaddress.ip_address(a))]
        if blocked:
            raise BlockedDestination(f"{host} resolves to a non-public address")
    return addresses


async def _post(url: str, address: str, body: str, headers: dict[str, str]) -> httpx.Response:
    """POST to the address already checked, so a second DNS answer cannot redirect us."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    netloc = literal + (f":{parts.port}" if parts.port else "")
    pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    host_header = host + (f":{parts.port}" if parts.port else "")
    async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False, trust_env=False) as c:
        return await c.post(
            pinned,
            content=body.encode(),
            headers={**headers, "Host": host_header},
            extensions={"sni_hostname": host} if parts.scheme == "https" else {},
        )


def _url_problems(url: str, allow_private: bool) -> list[FieldProblem]:
    parts = urlsplit(url)
    ok = parts.scheme in ("http", "https") and bool(parts.hostname) and len(url) <= 500
    if not ok:
        return [
            FieldProblem(
                "url",
                "回调地址应为 http(s):// 开头的完整网址（不超过 500 个字符）。",
                "url must be a full http(s):// URL of at most 500 characters.",
            )
        ]
    try:
        literal = ipaddress.ip_address(parts.hostname or "")
    except ValueError:
        return []
    if not allow_private and _forbidden(literal):
        return [
            FieldProblem(
                "url",
                "回调地址不能是内网、本机或链路本地地址。",
                "url may not point to a loopback, private or link-local address.",
            )
        ]
    return []


# ---------------------------------------------------------------- events -> deliveries


def _event_payload(event: AuditEvent, envelope: dict[str, Any]) -> dict[str, Any]:
    audit = event.data if isinstance(event.data, dict) else json.loads(event.data or "{}")
    data: dict[str, Any] = {
        "envelope": {
            "id": str(envelope["id"]),
            "number": envelope["number"],
            "template": envelope["template"],
            "status": envelope["status"],
        }
    }
    if "signer" in audit:
        data["signer"] = {"id": audit["signer"], "role": event.actor}
    data.update({k: audit[k] for k in _DATA_KEYS if k in audit})
    return {
        "id": str(event.id),
        "type": event.kind,
        "created_at": event.at.isoformat(),
        "data": data,
    }


def _events_of(endpoint: Endpoint) -> list[str]:
    raw = endpoint.events
    return list(json.loads(raw) if isinstance(raw, str) else raw or [])


async def on_audit_event(event: AuditEvent) -> None:
    """Audit listener: queue the deliveries of this event (inside its transaction)."""
    if event.kind not in EVENT_TYPES:
        return
    envelope = (
        await Envelope.select(
            Envelope.id,
            Envelope.organisation,
            Envelope.number,
            Envelope.template,
            Envelope.status,
            Envelope.callback_url,
        )
        .where(Envelope.id == event.envelope)
        .first()
    )
    if envelope is None:
        return
    organisation = envelope["organisation"]
    endpoints = await Endpoint.objects().where(
        (Endpoint.organisation == organisation)
        & (Endpoint.active == True)  # noqa: E712 - a SQL expression
        & Endpoint.deleted_at.is_null()
    )
    targets: list[tuple[uuid.UUID | None, str]] = [
        (ep.id, ep.url) for ep in endpoints if not _events_of(ep) or event.kind in _events_of(ep)
    ]
    if envelope["callback_url"]:
        targets.append((None, envelope["callback_url"]))
    if not targets:
        return
    body = json.dumps(
        _event_payload(event, envelope), ensure_ascii=False, separators=(",", ":"), default=str
    )
    now = utcnow()
    for endpoint_id, url in targets:
        delivery_id = uuid.uuid4()
        await Delivery.insert(
            Delivery(
                id=delivery_id,
                organisation=organisation,
                endpoint=endpoint_id,
                envelope_id=envelope["id"],
                event_id=event.id,
                event_type=event.kind,
                url=url,
                body=body,
                created_at=now,
            )
        )
        await jobs.enqueue(JOB_KIND, {"delivery_id": str(delivery_id)})


async def _secret_for(delivery: Delivery) -> str | None:
    """The signing secret, or None when the endpoint was deleted or switched off."""
    if delivery.endpoint is None:
        return callback_secret(delivery.organisation)
    endpoint = (
        await Endpoint.select(Endpoint.secret_sealed, Endpoint.active, Endpoint.deleted_at)
        .where(Endpoint.id == delivery.endpoint)
        .first()
    )
    if endpoint is None or not endpoint["active"] or endpoint["deleted_at"] is not None:
        return None
    return unseal(endpoint["secret_sealed"])


class DeliveryFailed(Exception):
    """The attempt failed and another will follow (the job system's backoff)."""


async def deliver(delivery_id: uuid.UUID, *, allow_private: bool) -> None:
    """One attempt at one delivery; raises DeliveryFailed when it should be retried."""
    delivery = await Delivery.objects().where(Delivery.id == delivery_id).first()
    if delivery is None or delivery.status in ("delivered", "failed"):
        return
    attempt = delivery.attempts + 1
    secret = await _secret_for(delivery)
    status_code: int | None = None
    error = ""
    final = False
    if secret is None:
        error, final = "endpoint deleted or disabled", True
    else:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "SignLink-Webhooks/1",
            SIGNATURE_HEADER: sign_body(secret, delivery.body),
            "SignLink-Event-Id": str(delivery.event_id),
            "SignLink-Event-Type": delivery.event_type,
            "SignLink-Delivery-Id": str(delivery.id),
        }
        try:
            addresses = await resolve_destination(delivery.url, allow_private)
            response = await asyncio.wait_for(
                _post(delivery.url, addresses[0], delivery.body, headers),
                timeout=ATTEMPT_DEADLINE_SECONDS,
            )
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except BlockedDestination as exc:
            error, final = str(exc), True
        except (httpx.HTTPError, OSError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
    delivered = status_code is not None and not error
    final = final or delivered or attempt >= MAX_ATTEMPTS
    outcome = "delivered" if delivered else ("failed" if final else "retrying")
    WEBHOOK_DELIVERIES.labels(outcome).inc()
    now = utcnow()
    await Delivery.update(
        {
            Delivery.attempts: attempt,
            Delivery.last_status_code: status_code,
            Delivery.last_error: error,
            Delivery.last_attempt_at: now,
            Delivery.status: outcome,
            Delivery.delivered_at: now if delivered else None,
        }
    ).where(Delivery.id == delivery.id)
    if not final:
        raise DeliveryFailed(error)


def register(settings: Settings) -> None:
    """Wire webhooks into this process: the audit listener and the delivery job."""
    _wiring.allow_private = settings.webhook_allow_private
    evidence.add_listener(on_audit_event)

    @jobs.handler(JOB_KIND, retry_for=RETRY_FOR)
    async def deliver_job(payload: dict[str, Any]) -> None:
        await deliver(uuid.UUID(payload["delivery_id"]), allow_private=_wiring.allow_private)


# ---------------------------------------------------------------- endpoints (API)


def _not_found(what: str = "webhook") -> AppError:
    return AppError(
        "not_found",
        "找不到该回调地址。" if what == "webhook" else "找不到该投递记录。",
        f"No such {what}.",
        404,
    )


def _check_events(events: list[str]) -> list[FieldProblem]:
    unknown = [e for e in events if e not in EVENT_TYPES]
    if not unknown:
        return []
    return [
        FieldProblem(
            "events",
            f"不支持的事件类型：{'、'.join(unknown)}。可用：{'、'.join(EVENT_TYPES)}。",
            f"Unknown event types: {', '.join(unknown)}. Known: {', '.join(EVENT_TYPES)}.",
        )
    ]


def _endpoint_out(ep: Endpoint) -> schemas.EndpointOut:
    return schemas.EndpointOut(
        id=str(ep.id),
        url=ep.url,
        events=_events_of(ep),
        description=ep.description,
        active=ep.active,
        created_at=ep.created_at,
        updated_at=ep.updated_at,
    )


def _with_secret(ep: Endpoint, secret: str) -> schemas.EndpointSecretOut:
    out = _endpoint_out(ep)
    return schemas.EndpointSecretOut(
        **{f: getattr(out, f) for f in out.__struct_fields__}, secret=secret
    )


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


async def _owned_endpoint(caller: Caller, endpoint_id: uuid.UUID) -> Endpoint:
    ep = (
        await Endpoint.objects()
        .where(
            (Endpoint.id == endpoint_id)
            & (Endpoint.organisation == caller.organisation_id)
            & Endpoint.deleted_at.is_null()
        )
        .first()
    )
    if ep is None:
        raise _not_found()
    return ep


async def create_endpoint(caller: Caller, body: schemas.EndpointIn) -> schemas.EndpointSecretOut:
    problems = _url_problems(body.url, _wiring.allow_private) + _check_events(body.events)
    if len(body.description) > 200:
        problems.append(
            FieldProblem("description", "说明不超过 200 个字符。", "At most 200 characters.")
        )
    if problems:
        raise validation_error(problems)
    secret = _new_secret()
    now = utcnow()
    ep = Endpoint(
        id=uuid.uuid4(),
        organisation=caller.organisation_id,
        url=body.url,
        description=body.description,
        events=sorted(set(body.events)),
        secret_sealed=seal(secret),
        active=True,
        created_at=now,
        updated_at=now,
    )
    await ep.save()
    return _with_secret(ep, secret)


async def list_endpoints(caller: Caller) -> list[schemas.EndpointOut]:
    rows = (
        await Endpoint.objects()
        .where((Endpoint.organisation == caller.organisation_id) & Endpoint.deleted_at.is_null())
        .order_by(Endpoint.created_at)
    )
    return [_endpoint_out(ep) for ep in rows]


async def show_endpoint(caller: Caller, endpoint_id: uuid.UUID) -> schemas.EndpointOut:
    return _endpoint_out(await _owned_endpoint(caller, endpoint_id))


async def update_endpoint(
    caller: Caller, endpoint_id: uuid.UUID, body: schemas.EndpointPatch
) -> schemas.EndpointOut:
    ep = await _owned_endpoint(caller, endpoint_id)
    problems: list[FieldProblem] = []
    if body.url is not None:
        problems += _url_problems(body.url, _wiring.allow_private)
    if body.events is not None:
        problems += _check_events(body.events)
    if body.description is not None and len(body.description) > 200:
        problems.append(
            FieldProblem("description", "说明不超过 200 个字符。", "At most 200 characters.")
        )
    if problems:
        raise validation_error(problems)
    if body.url is not None:
        ep.url = body.url
    if body.events is not None:
        ep.events = json.dumps(sorted(set(body.events)))
    if body.description is not None:
        ep.description = body.description
    if body.active is not None:
        ep.active = body.active
    ep.updated_at = utcnow()
    await ep.save()
    return _endpoint_out(ep)


async def rotate_secret(caller: Caller, endpoint_id: uuid.UUID) -> schemas.EndpointSecretOut:
    ep = await _owned_endpoint(caller, endpoint_id)
    secret = _new_secret()
    ep.secret_sealed = seal(secret)
    ep.updated_at = utcnow()
    await ep.save()
    return _with_secret(ep, secret)


async def delete_endpoint(caller: Caller, endpoint_id: uuid.UUID) -> None:
    ep = await _owned_endpoint(caller, endpoint_id)
    await Endpoint.update({Endpoint.deleted_at: utcnow(), Endpoint.active: False}).where(
        Endpoint.id == ep.id
    )


# ---------------------------------------------------------------- delivery log (API)


def _delivery_out(d: dict[str, Any]) -> schemas.DeliveryOut:
    def text(value: Any) -> str | None:
        return None if value is None else str(value)

    return schemas.DeliveryOut(
        id=str(d["id"]),
        endpoint_id=text(d["endpoint"]),
        envelope_id=str(d["envelope_id"]),
        event_id=str(d["event_id"]),
        event_type=d["event_type"],
        url=d["url"],
        status=d["status"],
        attempts=d["attempts"],
        last_status_code=d["last_status_code"],
        last_error=d["last_error"],
        replay_of=text(d["replay_of"]),
        created_at=d["created_at"],
        last_attempt_at=d["last_attempt_at"],
        delivered_at=d["delivered_at"],
    )


_LOG_COLUMNS = tuple(c for c in Delivery._meta.columns if c._meta.name != "body")


async def list_deliveries(
    caller: Caller,
    *,
    endpoint_id: uuid.UUID | None,
    envelope_id: uuid.UUID | None,
    event_id: uuid.UUID | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> schemas.DeliveryPage:
    limit = check_limit(limit)
    where: Combinable = Delivery.organisation == caller.organisation_id
    for column, value in (
        (Delivery.endpoint, endpoint_id),
        (Delivery.envelope_id, envelope_id),
        (Delivery.event_id, event_id),
        (Delivery.status, status),
    ):
        if value is not None:
            where = where & (column == value)
    after = older_than(Delivery.created_at, Delivery.id, cursor)
    if after is not None:
        where = where & after
    rows = (
        await Delivery.select(*_LOG_COLUMNS)
        .where(where)
        .order_by(Delivery.created_at, Delivery.id, ascending=False)
        .limit(limit + 1)
    )
    return schemas.DeliveryPage(
        items=[_delivery_out(r) for r in rows[:limit]], next_cursor=next_cursor(rows, limit)
    )


async def _owned_delivery(caller: Caller, delivery_id: uuid.UUID) -> dict[str, Any]:
    row = (
        await Delivery.select()
        .where((Delivery.id == delivery_id) & (Delivery.organisation == caller.organisation_id))
        .first()
    )
    if row is None:
        raise _not_found("delivery")
    return row


async def show_delivery(caller: Caller, delivery_id: uuid.UUID) -> schemas.DeliveryOut:
    return _delivery_out(await _owned_delivery(caller, delivery_id))


async def replay(caller: Caller, delivery_id: uuid.UUID) -> schemas.DeliveryOut:
    """Send the same event (same id and body) again, as a new delivery, to the current URL."""
    original = await _owned_delivery(caller, delivery_id)
    url = original["url"]
    if original["endpoint"] is not None:
        ep = await _owned_endpoint(caller, original["endpoint"])
        url = ep.url
    now = utcnow()
    new_id = uuid.uuid4()
    async with transaction():
        await Delivery.insert(
            Delivery(
                id=new_id,
                organisation=caller.organisation_id,
                endpoint=original["endpoint"],
                envelope_id=original["envelope_id"],
                event_id=original["event_id"],
                event_type=original["event_type"],
                url=url,
                body=original["body"],
                replay_of=original["id"],
                created_at=now,
            )
        )
        await jobs.enqueue(JOB_KIND, {"delivery_id": str(new_id)})
    jobs.wake_worker()
    return _delivery_out(await _owned_delivery(caller, new_id))
