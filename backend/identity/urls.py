"""Route paths of the identity domain, named once."""

IDENTITY = "/s/{token:str}/identity"
IDENTITY_METHODS = "/s/{token:str}/identity/methods"
IDENTITY_MANUAL = "/s/{token:str}/identity/manual"
# A paid method (verification.PAID_METHODS): /identity/phone3, /identity/bank4. The static
# paths above (methods, manual) win over this parameter in Litestar's router.
IDENTITY_METHOD = "/s/{token:str}/identity/{method:str}"
IDENTITY_METHOD_CODE = "/s/{token:str}/identity/{method:str}/code"

# The reviewers' phone pages live under /app: the member session cookie is scoped to it.
APP_LOGIN = "/app/login"
APP_REVIEWS = "/app/reviews"
APP_REVIEW = "/app/reviews/{review_id:uuid}"
APP_REVIEW_IMAGE = "/app/reviews/{review_id:uuid}/images/{kind:str}"
APP_REVIEW_DECIDE = "/app/reviews/{review_id:uuid}/decision"

API_REVIEWS = "/api/v1/identity/reviews"
API_REVIEW_IMAGE = "/api/v1/identity/reviews/{review_id:uuid}/images/{kind:str}"
API_REVIEW_APPROVE = "/api/v1/identity/reviews/{review_id:uuid}/approve"
API_REVIEW_REJECT = "/api/v1/identity/reviews/{review_id:uuid}/reject"


def page(token: str, suffix: str = "") -> str:
    return f"/s/{token}/identity{suffix}"


def app_review(review_id: object, suffix: str = "") -> str:
    return f"/app/reviews/{review_id}{suffix}"


def face(token: str) -> str:
    """The live-face step (built in its own package); linked from the method list."""
    return f"/s/{token}/face"
