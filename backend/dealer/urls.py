"""Route paths of the dealer's phone pages, named once."""

APP = "/app"
LOGIN = "/app/login"
LOGIN_CODE = "/app/login/code"
LOGOUT = "/app/logout"
NEW = "/app/new"
NEW_FROM = "/app/new/{key:str}"
EXPORT = "/app/export.csv"
ENVELOPE = "/app/envelopes/{envelope_id:uuid}"
ENVELOPE_PDF = "/app/envelopes/{envelope_id:uuid}/pdf"
ENVELOPE_VOID = "/app/envelopes/{envelope_id:uuid}/void"
ENVELOPE_REMIND = "/app/envelopes/{envelope_id:uuid}/remind/{signer_id:uuid}"
SHARE = "/p/{token:str}"
SHARE_THUMB = "/p/{token:str}/thumb.jpg"
STAMPS = "/app/stamps"
STAMPS_CODE = "/app/stamps/code"


def envelope(envelope_id: object) -> str:
    return f"/app/envelopes/{envelope_id}"
