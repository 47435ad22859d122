"""Webhooks: per-organisation endpoints, signed deliveries, retries, the delivery log."""
