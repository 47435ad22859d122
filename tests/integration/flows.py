"""Helpers for the signing-flow tests: bodies for every template, unique phones, links."""

from __future__ import annotations

import copy
import itertools
import uuid
from typing import Any

from backend import documents
from backend.envelopes.services import signer_token
from backend.envelopes.tables import Signer

_numbers = itertools.count(2000)


def phone() -> str:
    return f"1590000{next(_numbers):04d}"


NAMES = ("王芳", "赵师傅", "李经理", "张伟", "陈建国")


def body(template_key: str, **orders: int) -> tuple[dict[str, Any], dict[str, str]]:
    """A valid creation body with the template's example data; role → phone."""
    template = documents.get_template(template_key)
    assert template is not None
    phones = {role.key: phone() for role in template.roles}
    signers = []
    for index, role in enumerate(template.roles):
        signer: dict[str, Any] = {
            "role": role.key,
            "name": NAMES[index % len(NAMES)],
            "phone": phones[role.key],
        }
        if role.key in orders:
            signer["order"] = orders[role.key]
        signers.append(signer)
    return {
        "template": template_key,
        "data": copy.deepcopy(template.example_data()),
        "signers": signers,
    }, phones


async def link_of(envelope_id: str, role: str) -> str:
    s = (
        await Signer.objects()
        .where((Signer.envelope == uuid.UUID(envelope_id)) & (Signer.role == role))
        .first()
    )
    assert s is not None
    return f"/s/{signer_token(s.id, s.link_nonce)}"


async def signer_id(envelope_id: str, role: str) -> str:
    s = (
        await Signer.select(Signer.id)
        .where((Signer.envelope == uuid.UUID(envelope_id)) & (Signer.role == role))
        .first()
    )
    assert s is not None
    return str(s["id"])


def form_for_test_drive(customer: str, dealer: str) -> dict[str, str]:
    """The dealer's phone form for a test-drive agreement, filled in as a dealer would."""
    return {
        "signer.customer.name": "王芳", "signer.customer.phone": customer,
        "signer.dealer.name": "李经理", "signer.dealer.phone": dealer,
        "customer.name": "王芳", "customer.phone": customer,
        "customer.licence_number": "110105199001011232", "customer.licence_class": "C1",
        "customer.licence_valid_until": "2032-05-01",
        "vehicle.model": "比亚迪 汉 EV", "vehicle.plate": "京A·D12345",
        "drive.date": "2026-12-20", "drive.time": "14:00–14:30",
        "drive.route": "店内出发—望京街—返回店内", "dealer.name": "演示汽车销售服务有限公司",
    }  # fmt: skip
