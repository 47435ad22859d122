from piccolo.columns import Text, Timestamptz, Varchar
from piccolo.table import Table


class WeChatCredential(Table, tablename="wechat_credential"):
    """One Official Account's current access token and jsapi_ticket, shared by every app
    process: WeChat honours only the newest access token, so no process fetches its own."""

    app_id = Varchar(length=64, primary_key=True)
    access_token = Text(default="")
    access_token_expires_at = Timestamptz(null=True, default=None)
    jsapi_ticket = Text(default="")
    jsapi_ticket_expires_at = Timestamptz(null=True, default=None)
    # Set by the one process that is asking WeChat; others wait for it (or its lease to lapse).
    refreshing_until = Timestamptz(null=True, default=None)
    updated_at = Timestamptz()
