from piccolo.columns import Bytea, Integer, Timestamptz, Varchar
from piccolo.table import Table


class Blob(Table, tablename="blob"):
    """Document and image bytes, keyed by their SHA-256: identical content is stored once."""

    sha256 = Varchar(length=64, primary_key=True)
    data = Bytea()
    size = Integer()
    created_at = Timestamptz()
