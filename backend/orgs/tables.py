from piccolo.columns import JSON, UUID, Bytea, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.table import Table


class Organisation(Table, tablename="organisation"):
    id = UUID(primary_key=True)
    name = Varchar(length=200)
    created_at = Timestamptz()


class ApiKey(Table, tablename="api_key"):
    """An organisation's API key: only its SHA-256 is stored; the prefix tells keys apart."""

    id = UUID(primary_key=True)
    organisation = ForeignKey(references=Organisation)
    label = Varchar(length=100, default="")
    prefix = Varchar(length=16)
    key_hash = Varchar(length=64, unique=True, index=True)
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)


class Member(Table, tablename="member"):
    """A person who works for an organisation and logs in on the phone pages with an SMS code.

    ``roles`` is a comma list of admin, sender (creates and sends), stamper (may use the
    organisation's seals), reviewer (reads everything, changes nothing) and verifier (decides
    manual identity reviews).
    """

    id = UUID(primary_key=True)
    organisation = ForeignKey(references=Organisation, index=True)
    name = Varchar(length=50)
    phone_hash = Varchar(length=64, index=True)  # keyed hash: find by phone, never store it bare
    phone_sealed = Bytea()
    phone_masked = Varchar(length=16)
    roles = Varchar(length=64, default="sender")
    created_at = Timestamptz()
    disabled_at = Timestamptz(null=True, default=None)


class MemberCode(Table, tablename="member_code"):
    """A login code sent to a member's phone (its own purpose and table, not the signing OTP)."""

    id = UUID(primary_key=True)
    phone_hash = Varchar(length=64, index=True)
    purpose = Varchar(length=16, default="login")  # login | stamp
    code_hash = Varchar(length=64)
    sent_at = Timestamptz()
    expires_at = Timestamptz()
    attempts = Integer(default=0)
    consumed_at = Timestamptz(null=True, default=None)


class MemberSession(Table, tablename="member_session"):
    id = UUID(primary_key=True)
    member = ForeignKey(references=Member, index=True)
    token_hash = Varchar(length=64, unique=True, index=True)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)


class Seal(Table, tablename="seal"):
    """An organisation's seal (公章, 合同专用章): its image, stamped by members with the
    stamper role (``holders``: member ids allowed to use it; empty = every stamper)."""

    id = UUID(primary_key=True)
    organisation = ForeignKey(references=Organisation, index=True)
    name = Varchar(length=50)  # 合同专用章
    png = Bytea()
    holders = JSON(default="[]")
    created_at = Timestamptz()
    disabled_at = Timestamptz(null=True, default=None)
