"""Idempotency-Key for API POSTs: the same key and body get the same response."""
