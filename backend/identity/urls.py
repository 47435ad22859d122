"""Route paths of the identity domain, named once."""

IDENTITY = "/s/{token:str}/identity"
IDENTITY_METHODS = "/s/{token:str}/identity/methods"
IDENTITY_PHONE3 = "/s/{token:str}/identity/phone3"
IDENTITY_PHONE3_CODE = "/s/{token:str}/identity/phone3/code"
IDENTITY_BANK4 = "/s/{token:str}/identity/bank4"
IDENTITY_BANK4_CODE = "/s/{token:str}/identity/bank4/code"
IDENTITY_MANUAL = "/s/{token:str}/identity/manual"

API_REVIEWS = "/api/v1/identity/reviews"
API_REVIEW_IMAGE = "/api/v1/identity/reviews/{review_id:uuid}/images/{kind:str}"
API_REVIEW_APPROVE = "/api/v1/identity/reviews/{review_id:uuid}/approve"
API_REVIEW_REJECT = "/api/v1/identity/reviews/{review_id:uuid}/reject"


def page(token: str, suffix: str = "") -> str:
    return f"/s/{token}/identity{suffix}"


def face(token: str) -> str:
    """The live-face step (built in its own package); linked from the method list."""
    return f"/s/{token}/face"
