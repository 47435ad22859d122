"""Route paths of the envelopes domain, named once."""

API_ENVELOPES = "/api/v1/envelopes"
API_ENVELOPE = "/api/v1/envelopes/{envelope_id:uuid}"
API_ENVELOPE_PDF = "/api/v1/envelopes/{envelope_id:uuid}/pdf"
API_TEMPLATES = "/api/v1/templates"

SIGN_LINK = "/s/{token:str}"
SIGN_PAGE_IMAGE = "/s/{token:str}/pages/{index:int}"
SIGN_OTP_SEND = "/s/{token:str}/otp"
SIGN_OTP_VERIFY = "/s/{token:str}/otp/verify"
SIGN_PAD = "/s/{token:str}/sign"
SIGN_HANDWRITING = "/s/{token:str}/signature"
SIGN_CONFIRM = "/s/{token:str}/confirm"
SIGN_DONE = "/s/{token:str}/done"
SIGN_DOWNLOAD = "/s/{token:str}/download"
API_ENVELOPE_VOID = "/api/v1/envelopes/{envelope_id:uuid}/void"
API_SIGNER_REMIND = "/api/v1/envelopes/{envelope_id:uuid}/signers/{signer_id:uuid}/remind"
API_BATCH_CREATE = "/api/v1/envelopes/batch"
API_BATCH_CSV = "/api/v1/envelopes/batch/csv"
API_BATCH = "/api/v1/batches/{batch_id:uuid}"
API_TEMPLATE_PREVIEW = "/api/v1/templates/{key:str}/preview.pdf"
API_TEMPLATE_CSV = "/api/v1/templates/{key:str}/batch.csv"
SIGN_DECLINE = "/s/{token:str}/decline"
API_SEALS = "/api/v1/seals"


def link(token: str, suffix: str = "") -> str:
    return f"/s/{token}{suffix}"
