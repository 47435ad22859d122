"""The CA's registers in the database: certificates issued and certificates revoked.

Used in the scale-out mode (PostgreSQL), where several app processes and workers issue
certificates and answer OCSP; see :class:`backend.pki.DatabaseRevocationStore`.
"""
