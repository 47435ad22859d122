"""Route paths of the webhooks domain, named once."""

API_ENDPOINTS = "/api/v1/webhooks"
API_ENDPOINT = "/api/v1/webhooks/{endpoint_id:uuid}"
API_ENDPOINT_ROTATE = "/api/v1/webhooks/{endpoint_id:uuid}/rotate-secret"
API_CALLBACK_SECRET = "/api/v1/webhooks/callback-secret"
API_DELIVERIES = "/api/v1/webhooks/deliveries"
API_DELIVERY = "/api/v1/webhooks/deliveries/{delivery_id:uuid}"
API_DELIVERY_REPLAY = "/api/v1/webhooks/deliveries/{delivery_id:uuid}/replay"
