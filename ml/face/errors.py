"""The one error type of ml.face: bad input, identified by a stable code."""

from __future__ import annotations


class FaceInputError(ValueError):
    """Input that cannot be analysed (not an image, too large, unreadable video).

    ``code`` is stable and meant for callers to map to a message in the user's language;
    ``detail`` is for logs.
    """

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail
