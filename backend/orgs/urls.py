"""Route paths of the orgs domain, named once."""

API_KEYS = "/api/v1/keys"
API_KEY_REVOKE = "/api/v1/keys/{key_id:uuid}/revoke"
API_MEMBERS = "/api/v1/members"
