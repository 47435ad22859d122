"""Route paths of the verify domain, named once."""

PAGE = "/verify"
API = "/api/v1/verify"
