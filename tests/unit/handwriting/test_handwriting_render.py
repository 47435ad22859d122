"""The PNG rendered from the vectors: transparent, cropped, dark ink, evidence inside."""

from __future__ import annotations

import io
import json

import pytest
from handwriting_data import NAMES, as_json, write_name
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from backend.signing.appearance import handwriting_image
from ml.handwriting import (
    Drawing,
    HandwritingError,
    Point,
    parse_strokes,
    prepare_signature,
    read_evidence,
    render_png,
    stroke_features,
)


def _open(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG" and image.mode == "RGBA"
    return image


def _assert_cropped_transparent_ink(png: bytes) -> Image.Image:
    image = _open(png)
    alpha = image.getchannel("A")
    # cropped to the ink, with one transparent pixel around it
    assert alpha.getbbox() == (1, 1, image.width - 1, image.height - 1)
    assert alpha.getextrema()[0] == 0  # paper is transparent
    r, g, b = (image.getchannel(c).getextrema()[1] for c in "RGB")
    assert max(r, g, b) < 80  # dark ink only, even under transparent pixels
    return image


@pytest.mark.parametrize("name", NAMES.values())
def test_a_name_renders_as_cropped_dark_ink_on_transparent(name: str) -> None:
    signature = prepare_signature(as_json(write_name(name)), name)
    image = _assert_cropped_transparent_ink(signature.png)
    assert max(image.size) <= 800
    # wider than tall, as the name was written; about one character height of pixels
    assert image.width > image.height * len(name) * 0.6
    assert 120 <= image.height <= 260
    # antialiased: edges have partial alpha, not only 0 and 255
    histogram = image.getchannel("A").histogram()
    assert sum(histogram[1:255]) > 0.1 * sum(histogram[255:])


def test_fast_strokes_are_thinner_than_slow_ones() -> None:
    def ink(speed: float) -> int:
        png = render_png(parse_strokes(as_json(write_name("李经理", speed=speed))))
        alpha = _open(png).getchannel("A")
        return sum(alpha.histogram()[128:])

    assert ink(1.6) < ink(0.15) * 0.8


def test_stylus_pressure_changes_the_line_width() -> None:
    finger = render_png(parse_strokes(as_json(write_name("张三"))))
    stylus = render_png(parse_strokes(as_json(write_name("张三", stylus=True))))
    assert _open(finger).tobytes() != _open(stylus).tobytes()


def test_the_signing_core_takes_the_png_without_scaling_it() -> None:
    png = prepare_signature(as_json(write_name("司马小川")), "司马小川").png
    width, height = _open(png).size
    assert handwriting_image(png).size == (width - 2, height - 2)  # less the clear border


def test_evidence_travels_inside_the_png() -> None:
    signature = prepare_signature(as_json(write_name("李经理", stylus=True)), "李经理")
    evidence = read_evidence(signature.png)
    assert evidence is not None
    assert evidence["strokes_sha256"] == signature.strokes_sha256
    assert evidence["features"] == json.loads(json.dumps(signature.features.as_dict()))
    assert read_evidence(b"not a png") is None


def test_features_describe_the_writing() -> None:
    obj = write_name("李经理", stylus=True)
    features = stroke_features(parse_strokes(as_json(obj)))
    points = [pt for s in obj["strokes"] for pt in s]
    assert features.stroke_count == len(obj["strokes"])
    assert features.point_count == len(points)
    assert features.duration_ms == points[-1]["t"] - points[0]["t"]
    assert 0 < features.pen_down_ms < features.duration_ms
    assert 0.1 < features.speed_mean < 2 and features.speed_p95 >= features.speed_median
    assert features.pressure_reported and features.pressure_min < features.pressure_max
    assert not stroke_features(parse_strokes(as_json(write_name("张三")))).pressure_reported


coords = st.floats(min_value=0, max_value=300, allow_nan=False)
points = st.builds(
    Point,
    coords,
    st.floats(min_value=0, max_value=150, allow_nan=False),
    st.floats(min_value=0, max_value=1e5, allow_nan=False),
    st.floats(min_value=0, max_value=1, allow_nan=False),
)
strokes = st.lists(st.lists(points, min_size=1, max_size=30), min_size=1, max_size=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strokes)
def test_any_drawing_renders_a_valid_cropped_transparent_png(raw: list[list[Point]]) -> None:
    fixed = []
    for stroke in raw:
        t = 0.0
        pts = []
        for pt in stroke:
            t = max(t, pt.t)
            pts.append(Point(pt.x, pt.y, t, pt.p))
        fixed.append(tuple(pts))
    drawing = Drawing(300, 150, tuple(fixed))
    png = render_png(drawing)
    _assert_cropped_transparent_ink(png)
    # and the checks either accept it or say why not
    try:
        prepare_signature(as_json_drawing(drawing), "张三")
    except HandwritingError as refused:
        assert refused.code.startswith("handwriting_")


def as_json_drawing(drawing: Drawing) -> str:
    from ml.handwriting import to_json

    return to_json(drawing)


def test_an_empty_drawing_does_not_render() -> None:
    with pytest.raises(HandwritingError):
        render_png(Drawing(300, 150, ()))
