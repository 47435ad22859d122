"""HTTP for webhooks: endpoints, the callback secret, the delivery log and replay."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, patch, post

from backend.orgs.services import Caller
from backend.webhooks import schemas, services, urls


class WebhookApi(Controller):
    tags = ("webhooks",)
    security = ({"BearerAuth": []},)

    @post(urls.API_ENDPOINTS, status_code=201, summary="Add a webhook endpoint")
    async def create(self, data: schemas.EndpointIn, caller: Caller) -> schemas.EndpointSecretOut:
        return await services.create_endpoint(caller, data)

    @get(urls.API_ENDPOINTS, summary="The organisation's webhook endpoints")
    async def list_endpoints(self, caller: Caller) -> list[schemas.EndpointOut]:
        return await services.list_endpoints(caller)

    @get(urls.API_ENDPOINT, summary="One webhook endpoint")
    async def show(self, endpoint_id: uuid.UUID, caller: Caller) -> schemas.EndpointOut:
        return await services.show_endpoint(caller, endpoint_id)

    @patch(urls.API_ENDPOINT, summary="Change an endpoint's URL, events, description or state")
    async def update(
        self, endpoint_id: uuid.UUID, data: schemas.EndpointPatch, caller: Caller
    ) -> schemas.EndpointOut:
        return await services.update_endpoint(caller, endpoint_id, data)

    @delete(urls.API_ENDPOINT, summary="Delete an endpoint (its delivery log stays)")
    async def remove(self, endpoint_id: uuid.UUID, caller: Caller) -> None:
        await services.delete_endpoint(caller, endpoint_id)

    @post(urls.API_ENDPOINT_ROTATE, status_code=200, summary="Replace an endpoint's secret")
    async def rotate(self, endpoint_id: uuid.UUID, caller: Caller) -> schemas.EndpointSecretOut:
        return await services.rotate_secret(caller, endpoint_id)

    @get(urls.API_CALLBACK_SECRET, summary="Secret that signs envelope callback_url deliveries")
    async def callback_secret(self, caller: Caller) -> schemas.CallbackSecretOut:
        return schemas.CallbackSecretOut(secret=services.callback_secret(caller.organisation_id))

    @get(urls.API_DELIVERIES, summary="Delivery log, newest first")
    async def deliveries(
        self,
        caller: Caller,
        endpoint_id: uuid.UUID | None = None,
        envelope_id: uuid.UUID | None = None,
        event_id: uuid.UUID | None = None,
        status: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> schemas.DeliveryPage:
        return await services.list_deliveries(
            caller,
            endpoint_id=endpoint_id,
            envelope_id=envelope_id,
            event_id=event_id,
            status=status,
            limit=limit,
            cursor=cursor,
        )

    @get(urls.API_DELIVERY, summary="One delivery and its last attempt")
    async def delivery(self, delivery_id: uuid.UUID, caller: Caller) -> schemas.DeliveryOut:
        return await services.show_delivery(caller, delivery_id)

    @post(urls.API_DELIVERY_REPLAY, status_code=202, summary="Send a delivery's event again")
    async def replay(self, delivery_id: uuid.UUID, caller: Caller) -> schemas.DeliveryOut:
        return await services.replay(caller, delivery_id)
