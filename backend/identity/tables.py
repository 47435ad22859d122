from piccolo.columns import UUID, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.table import Table

from backend.envelopes.tables import Signer


class OtpChallenge(Table, tablename="otp_challenge"):
    """An SMS code sent to a signer; only a keyed hash of the code is stored."""

    id = UUID(primary_key=True)
    signer = ForeignKey(references=Signer, index=True)
    purpose = Varchar(length=16, default="intent")
    code_hash = Varchar(length=64)
    sent_at = Timestamptz()
    expires_at = Timestamptz()
    attempts = Integer(default=0)
    consumed_at = Timestamptz(null=True, default=None)
