from piccolo.columns import UUID, Bytea, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.table import Table

from backend.envelopes.tables import Envelope, Signer
from backend.orgs.tables import Organisation


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


class IdentityClaim(Table, tablename="identity_claim"):
    """Step 1 of real-name verification: who the signer says they are (ID number sealed)."""

    id = UUID(primary_key=True)
    signer = ForeignKey(references=Signer, unique=True, index=True)
    name = Varchar(length=100)
    # id_card | passport | hk_macau | taiwan (the last three: manual review only)
    id_type = Varchar(length=16)
    id_sealed = Bytea()
    id_hash = Varchar(length=64, index=True)
    id_masked = Varchar(length=32)
    updated_at = Timestamptz()


class IdentityCode(Table, tablename="identity_code"):
    """An SMS code proving the signer holds the mobile being verified (keyed hash only)."""

    id = UUID(primary_key=True)
    signer = ForeignKey(references=Signer, index=True)
    method = Varchar(length=16)
    phone_hash = Varchar(length=64, index=True)
    ip_hash = Varchar(length=64, default="")
    code_hash = Varchar(length=64)
    sent_at = Timestamptz(index=True)
    expires_at = Timestamptz()
    attempts = Integer(default=0)
    consumed_at = Timestamptz(null=True, default=None)


class IdentityCheck(Table, tablename="identity_check"):
    """One paid verification attempt; also the shared store the rate limits count."""

    id = UUID(primary_key=True)
    signer = ForeignKey(references=Signer, index=True)
    envelope = ForeignKey(references=Envelope, index=True)
    method = Varchar(length=16)
    provider = Varchar(length=32)
    id_hash = Varchar(length=64)
    phone_hash = Varchar(length=64, index=True)
    ip_hash = Varchar(length=64, index=True)
    # Bank-card numbers are never stored: the mask for people, a keyed hash for lookup.
    card_masked = Varchar(length=32, default="")
    card_hash = Varchar(length=64, default="")
    # pending -> match | mismatch | no_record | error
    outcome = Varchar(length=16, default="pending")
    sub_code = Varchar(length=64, default="")
    provider_request_id = Varchar(length=100, default="")
    created_at = Timestamptz(index=True)
    finished_at = Timestamptz(null=True, default=None)


class VerifiedIdentity(Table, tablename="verified_identity"):
    """A passed check, reused for the same person (ID number, name, phone) for a while."""

    id = UUID(primary_key=True)
    id_hash = Varchar(length=64, index=True)
    name = Varchar(length=100)
    phone_hash = Varchar(length=64)
    method = Varchar(length=16)
    provider = Varchar(length=32)
    provider_request_id = Varchar(length=100)
    verified_at = Timestamptz()


class IdentityReview(Table, tablename="identity_review"):
    """Manual review: a document photo and a photo holding it, both sealed at rest."""

    id = UUID(primary_key=True)
    signer = ForeignKey(references=Signer, index=True)
    envelope = ForeignKey(references=Envelope)
    organisation = ForeignKey(references=Organisation, index=True)
    name = Varchar(length=100)
    id_type = Varchar(length=16)
    id_sealed = Bytea()
    id_hash = Varchar(length=64)
    id_masked = Varchar(length=32)
    front_sealed = Bytea()
    front_type = Varchar(length=32)
    holding_sealed = Bytea()
    holding_type = Varchar(length=32)
    # pending -> approved | rejected
    status = Varchar(length=16, default="pending", index=True)
    reason = Varchar(length=200, default="")
    decided_by = Varchar(length=100, default="")
    created_at = Timestamptz()
    decided_at = Timestamptz(null=True, default=None)


class FaceEvidenceFrame(Table, tablename="face_evidence_frame"):
    """The best frame of a passed face check, sealed at rest and deleted at ``expires_at``.

    ``sha256`` is of the JPEG before sealing: the same hash as in the audit trail.
    """

    id = UUID(primary_key=True)
    signer = ForeignKey(references=Signer, index=True)
    envelope = ForeignKey(references=Envelope, index=True)
    sha256 = Varchar(length=64)
    frame_sealed = Bytea()
    created_at = Timestamptz()
    expires_at = Timestamptz(index=True)
