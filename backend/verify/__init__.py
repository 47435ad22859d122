"""Verify: anyone uploads a signed PDF and sees what each signature proves (no tables)."""
