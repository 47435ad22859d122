from piccolo.columns import Timestamptz, Varchar
from piccolo.table import Table


class IssuedCertificate(Table, tablename="pki_issued_certificate"):
    """A certificate the issuing CA signed: OCSP answers good only for these."""

    # Hex, zero-padded to 32 digits, as CertificateAuthority.revoke() accepts.
    serial = Varchar(length=40, primary_key=True)
    not_after = Timestamptz(index=True)
    issued_at = Timestamptz()


class RevokedCertificate(Table, tablename="pki_revoked_certificate"):
    """A revocation; the CRL lists these, OCSP answers revoked."""

    serial = Varchar(length=40, primary_key=True)
    revoked_at = Timestamptz()
    # A cryptography.x509.ReasonFlags name, e.g. key_compromise.
    reason = Varchar(length=32)
