"""Decoding untrusted image bytes into RGB pixels, and downscaling for detection."""

from __future__ import annotations

import hashlib
import io

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from ml.face.errors import FaceInputError

RGBImage = npt.NDArray[np.uint8]

#: Larger pictures are refused before decoding (a phone photo is ~12 MP).
MAX_PIXELS = 40_000_000
#: Smallest side a face picture may have and still be worth analysing.
MIN_SIDE = 64


def decode_image(data: bytes) -> RGBImage:
    """RGB pixels of a JPEG/PNG/WebP upload, upright per EXIF, or FaceInputError."""
    if not data:
        raise FaceInputError("not_an_image", "empty upload")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise FaceInputError("not_an_image", "not a picture PIL can read") from exc
    if width * height > MAX_PIXELS:
        raise FaceInputError("image_too_large", f"{width}x{height} exceeds {MAX_PIXELS} pixels")
    # OpenCV applies the EXIF orientation, so an ID card photographed sideways stands up.
    bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        try:
            with Image.open(io.BytesIO(data)) as im:
                rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
        except (OSError, ValueError) as exc:
            raise FaceInputError("not_an_image", "undecodable picture") from exc
    else:
        rgb = np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)
    if min(rgb.shape[:2]) < MIN_SIDE:
        raise FaceInputError("image_too_small", f"{rgb.shape[1]}x{rgb.shape[0]} is too small")
    return np.ascontiguousarray(rgb)


def downscale(image: RGBImage, max_side: int) -> tuple[RGBImage, float]:
    """The image shrunk so its longer side is at most max_side, and the factor used."""
    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale >= 1.0:
        return image, 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(small), scale


def pixel_digest(image: RGBImage) -> str:
    """SHA-256 of the decoded pixels: equal for byte-different encodings of one picture."""
    return hashlib.sha256(image.tobytes()).hexdigest()


def encode_jpeg(image: RGBImage, quality: int = 85) -> bytes:
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise FaceInputError("not_an_image", "could not encode JPEG")
    return bytes(buf.tobytes())
