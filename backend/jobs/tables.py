from piccolo.columns import JSON, UUID, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class Job(Table, tablename="job"):
    """Transactional outbox: work written in the same transaction as the change that causes it."""

    id = UUID(primary_key=True)
    kind = Varchar(length=40, index=True)
    payload = JSON(default="{}")
    status = Varchar(length=12, default="pending", index=True)
    attempts = Integer(default=0)
    run_at = Timestamptz(index=True)
    locked_until = Timestamptz(null=True, default=None)
    last_error = Text(default="")
    created_at = Timestamptz()
    done_at = Timestamptz(null=True, default=None)
