from piccolo.columns import UUID, ForeignKey, Timestamptz, Varchar
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
