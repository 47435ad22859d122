"""Face match on the shared photos: calibrated threshold, CLI, bad pictures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ml.face import DEFAULT_THRESHOLD, FaceInputError, decode_image, match_images, sample_face
from ml.face.calibrate import calibrate
from tests.unit.face.conftest import jpeg

REPO = Path(__file__).resolve().parents[3]


def test_every_same_person_pair_matches_and_no_different_pair_does(faces: Path) -> None:
    result = calibrate(faces, DEFAULT_THRESHOLD)
    assert sum(p.same for p in result.pairs) >= 10
    assert sum(not p.same for p in result.pairs) >= 20
    assert result.false_rejects == []
    assert result.false_accepts == []
    # The threshold leaves a margin on both sides, not just a lucky split.
    assert max(p.distance for p in result.pairs if p.same) < DEFAULT_THRESHOLD - 0.02
    assert min(p.distance for p in result.pairs if not p.same) > DEFAULT_THRESHOLD + 0.1


def test_cli_prints_match_and_distance(faces: Path) -> None:
    def run(a: str, b: str) -> dict[str, object]:
        done = subprocess.run(
            [sys.executable, "-m", "ml.face", "match", str(faces / a), str(faces / b)],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        return dict(json.loads(done.stdout))

    same = run("biden_1.jpg", "biden_2.jpg")
    assert same["match"] is True and 0 < float(same["distance"]) < DEFAULT_THRESHOLD  # type: ignore[arg-type]
    other = run("obama_1.jpg", "alex_1.jpg")
    assert other["match"] is False and float(other["distance"]) > DEFAULT_THRESHOLD  # type: ignore[arg-type]


def test_two_faces_in_the_reference_are_refused(faces: Path) -> None:
    result = match_images(
        (faces / "obama_1.jpg").read_bytes(), (faces / "two_people.jpg").read_bytes()
    )
    assert not result.match and result.reasons == ["reference_multiple_faces"]


def test_a_picture_without_a_face_is_explained() -> None:
    wall = np.full((480, 640, 3), 180, dtype=np.uint8)
    assert sample_face(jpeg(wall), role="reference").problem == "reference_no_face"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "not_an_image"),
        (b"%PDF-1.7 not a photo", "not_an_image"),
        (b"\xff\xd8\xff" + b"\0" * 50, "not_an_image"),
    ],
)
def test_non_image_bytes_raise_a_coded_error(data: bytes, code: str) -> None:
    with pytest.raises(FaceInputError) as err:
        decode_image(data)
    assert err.value.code == code


def test_a_decompression_bomb_is_refused_before_decoding() -> None:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (8000, 6000)).save(buf, format="PNG")
    with pytest.raises(FaceInputError) as err:
        decode_image(buf.getvalue())
    assert err.value.code == "image_too_large"
