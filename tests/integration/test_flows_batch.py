"""Batches: one API call or one CSV, per-row errors, valid rows kept, nothing half-created."""

from __future__ import annotations

import asyncio
import copy
import csv
import io
import uuid

from backend.envelopes.tables import Batch, Envelope, Signer
from tests.integration.flows import body, phone
from tests.integration.journey import car_purchase_body


def _item(**changes: object) -> dict[str, object]:
    b = car_purchase_body(phone(), phone())
    item = {"data": b["data"], "signers": b["signers"]}
    for path, value in changes.items():
        node = item
        *parents, leaf = path.split(".")
        for name in parents:
            node = node[int(name)] if name.isdigit() else node[name]  # type: ignore[index]
        node[leaf] = value  # type: ignore[index]
    return item


async def _finished(client, auth, url: str, timeout: float = 60) -> dict:
    for _ in range(int(timeout / 0.1)):
        shown = (await client.get(url, headers=auth)).json()
        if shown["done"]:
            return shown
        await asyncio.sleep(0.1)
    raise AssertionError(f"batch not rendered in {timeout}s: {shown}")


async def test_api_batch_keeps_the_valid_rows_and_reports_the_bad(client, auth, outbox):
    items = [
        _item(),
        _item(**{"data.vehicle.vin": "LGXCE6CD1R0123456"}),  # wrong check digit
        _item(),
        _item(**{"signers.0.phone": "12345"}),  # invalid phone
        _item(**{"signers.1.phone": "SAME"}),  # replaced below: duplicate signer phone
        _item(**{"data.price": "abc", "data.buyer.name": ""}),  # two bad fields, one row
    ]
    items[4]["signers"][1]["phone"] = items[4]["signers"][0]["phone"]  # type: ignore[index]
    created = await client.post(
        "/api/v1/envelopes/batch", json={"template": "car-purchase", "items": items}, headers=auth
    )
    assert created.status_code == 202, created.text
    batch = created.json()
    assert (batch["total"], batch["accepted"], batch["rejected"]) == (6, 2, 4)
    by_row = {e["row"]: {p["field"] for p in e["errors"]} for e in batch["errors"]}
    assert by_row == {
        2: {"data.vehicle.vin"},
        4: {"signers[0].phone"},
        5: {"signers[1].phone"},
        6: {"data.price", "data.buyer.name"},
    }
    shown = await _finished(client, auth, batch["url"])
    assert shown["progress"] == {"sent": 2}
    for item in (items[0], items[2]):
        first = item["signers"][0]["phone"]  # type: ignore[index]
        for _ in range(100):
            if outbox.messages(first):
                break
            await asyncio.sleep(0.05)
        assert "/s/" in outbox.last(first)["text"]
    envelopes = await Envelope.select(Envelope.id, Envelope.batch).where(
        Envelope.batch == uuid.UUID(batch["id"])
    )
    assert len(envelopes) == 2


async def test_a_batch_with_only_bad_rows_creates_nothing(client, auth):
    before = await Envelope.count()
    batches = await Batch.count()
    refused = await client.post(
        "/api/v1/envelopes/batch",
        json={"template": "car-purchase", "items": [_item(**{"data.price": -1})]},
        headers=auth,
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"][0]["path"].startswith("items[1].data.price")
    assert await Envelope.count() == before and await Batch.count() == batches


async def test_batch_size_limit(client, auth):
    refused = await client.post(
        "/api/v1/envelopes/batch",
        json={"template": "car-purchase", "items": [_item()] * 1001},
        headers=auth,
    )
    assert refused.status_code == 400
    assert "1000" in refused.json()["error"]["fields"][0]["message"]


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("gb18030")  # as Excel saves it on a Chinese Windows


async def test_csv_upload_with_broken_lines(client, auth, outbox):
    template = (await client.get("/api/v1/templates/test-drive/batch.csv", headers=auth)).text
    header, example = list(csv.reader(io.StringIO(template.lstrip("\ufeff"))))
    assert "customer.name" in header and "signers.customer.phone" in header

    def row(**cells: str) -> list[str]:
        values = dict(zip(header, example, strict=True))
        values["signers.customer.phone"] = phone()
        values["signers.dealer.phone"] = phone()
        values.update(cells)
        return [values[h] for h in header]

    good = row()
    lines = [
        header,
        good,
        row(**{"customer.licence_number": "110105199001011233"}),  # check char wrong
        good[:-2],  # too few cells
        [],  # blank line: skipped
        row(**{"drive.date": "2020-01-01"}),  # in the past
        row(),
    ]
    created = await client.post(
        "/api/v1/envelopes/batch/csv?template=test-drive",
        content=_csv(lines),
        headers={**auth, "Content-Type": "text/csv"},
    )
    assert created.status_code == 202, created.text
    batch = created.json()
    assert (batch["accepted"], batch["rejected"]) == (2, 3)
    errors = {e["row"]: e["errors"] for e in batch["errors"]}
    assert set(errors) == {3, 4, 6}  # line numbers in the file (line 5 is blank)
    assert errors[3][0]["field"] == "data.customer.licence_number"
    assert errors[4][0]["field"] == "row" and "列" in errors[4][0]["message"]
    assert errors[6][0]["field"] == "data.drive.date"
    await _finished(client, auth, batch["url"])
    signers = await Signer.count().where(
        Signer.envelope.is_in(
            Envelope.select(Envelope.id).where(Envelope.batch == uuid.UUID(batch["id"]))
        )
    )
    assert signers == 4


async def test_csv_with_unknown_columns_is_refused_whole(client, auth):
    refused = await client.post(
        "/api/v1/envelopes/batch/csv?template=test-drive",
        content=_csv([["customer.name", "colour_of_sky"], ["王芳", "蓝"]]),
        headers={**auth, "Content-Type": "text/csv"},
    )
    assert refused.status_code == 400
    assert "colour_of_sky" in refused.json()["error"]["fields"][0]["message"]


async def test_bad_input_on_single_creation_reports_each_field(client, auth):
    payload, _ = body("waybill")
    bad = copy.deepcopy(payload)
    bad["data"]["vehicles"] = [
        {"vin": "LGXCE6CD9R0123456", "model": "汉"},
        {"vin": "LGXCE6CD9R0123456", "model": "汉"},  # duplicate VIN
        {"vin": "SHORT", "model": ""},
    ]
    bad["data"]["due_date"] = "2020-01-01"
    bad["signers"][1]["phone"] = "1380013800"
    before = await Envelope.count()
    refused = await client.post("/api/v1/envelopes", json=bad, headers=auth)
    assert refused.status_code == 400
    paths = {f["path"] for f in refused.json()["error"]["fields"]}
    assert {"data.vehicles[2].vin", "data.vehicles[2].model", "signers[1].phone"} <= paths
    assert await Envelope.count() == before


async def test_first_sms_is_queued_with_the_batch_and_sent_once_rendered(client, auth, outbox):
    from backend.envelopes.services import held_invitation_id
    from backend.jobs.tables import Job

    items = [_item(), _item()]
    created = await client.post(
        "/api/v1/envelopes/batch", json={"template": "car-purchase", "items": items}, headers=auth
    )
    assert created.status_code == 202, created.text
    batch = created.json()
    signers = await Signer.select(Signer.id, Signer.role).where(
        Signer.envelope.is_in(
            Envelope.select(Envelope.id).where(Envelope.batch == uuid.UUID(batch["id"]))
        )
    )
    held = await Job.select(Job.id).where(
        Job.id.is_in([held_invitation_id(s["id"]) for s in signers])
    )
    # one SMS per buyer (the first group) stored with the batch; the dealer's comes later
    assert len(held) == 2
    await _finished(client, auth, batch["url"])
    for item in items:
        buyer, dealer = (s["phone"] for s in item["signers"])  # type: ignore[attr-defined]
        for _ in range(100):
            if outbox.messages(buyer):
                break
            await asyncio.sleep(0.05)
        assert len(outbox.messages(buyer)) == 1  # released, not sent a second time
        assert "/s/" in outbox.last(buyer)["text"]
        assert not outbox.messages(dealer)


async def test_a_held_sms_for_a_document_never_rendered_sends_nothing(api_key, outbox):
    from backend.config import get_settings
    from backend.database import transaction, utcnow
    from backend.envelopes import schemas, services
    from backend.jobs import services as jobs
    from backend.orgs.services import authenticate

    settings = get_settings()
    caller = await authenticate(api_key)
    assert caller is not None
    item = _item()
    buyer = item["signers"][0]["phone"]  # type: ignore[index]
    draft, problems = services.check_envelope(
        schemas.CreateEnvelope(
            template="car-purchase",
            data=item["data"],  # type: ignore[arg-type]
            signers=[schemas.SignerIn(**s) for s in item["signers"]],  # type: ignore[union-attr]
        )
    )
    assert draft is not None, problems
    async with transaction():  # a draft whose render job is lost: nothing will render it
        envelope_id = await services.insert_draft(caller, draft, settings)
        await services.hold_first_invitations(envelope_id, utcnow())
    await jobs.drain()
    await asyncio.sleep(0.3)
    assert not outbox.messages(buyer)
    env = await Envelope.objects().where(Envelope.id == envelope_id).first()
    assert env is not None and env.status == "draft"
