"""Parsing the pad's JSON: limits, bad numbers and malformed input, always a clear error."""

from __future__ import annotations

import contextlib
import json
import math

import pytest
from handwriting_data import as_json, write_name
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml.handwriting import (
    MAX_PAYLOAD_CHARS,
    MAX_POINTS,
    MAX_STROKES,
    HandwritingError,
    canonical_json,
    parse_strokes,
    strokes_sha256,
)


def _with_point(**point: object) -> str:
    drawing = write_name("张三")
    drawing["strokes"][0][1] = {"x": 10, "y": 10, "t": 20, "p": 0.5} | point
    return json.dumps(drawing, allow_nan=True)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "handwriting_empty"),
        ("   ", "handwriting_empty"),
        ("{", "handwriting_malformed"),
        ("[]", "handwriting_malformed"),
        ("null", "handwriting_malformed"),
        ('{"width": 300, "height": 150}', "handwriting_malformed"),
        ('{"width": 300, "height": 150, "strokes": {}}', "handwriting_malformed"),
        ('{"width": 300, "height": 150, "strokes": [[1, 2]]}', "handwriting_malformed"),
        ('{"width": "300", "height": 150, "strokes": []}', "handwriting_malformed"),
        ('{"width": true, "height": 150, "strokes": []}', "handwriting_malformed"),
        ('{"width": NaN, "height": 150, "strokes": []}', "handwriting_malformed"),
        ('{"width": 1e999, "height": 150, "strokes": []}', "handwriting_out_of_range"),
        ('{"width": 1e12, "height": 150, "strokes": []}', "handwriting_out_of_range"),
        ('{"width": -300, "height": 150, "strokes": []}', "handwriting_out_of_range"),
        ('{"width": 5, "height": 150, "strokes": []}', "handwriting_out_of_range"),
        ('{"width": 1' + "0" * 5000 + ', "height": 150, "strokes": []}', "handwriting_malformed"),
        ("[" * 400_000 + "]" * 400_000, "handwriting_too_large"),
        ("[" * 50_000 + "]" * 50_000, "handwriting_malformed"),
        ('{"chars": []}', "handwriting_malformed"),
    ],
)
def test_malformed_input_is_a_clear_error(text: str, code: str) -> None:
    with pytest.raises(HandwritingError) as refused:
        parse_strokes(text)
    assert refused.value.code == code
    assert refused.value.message_zh and refused.value.message_en


@pytest.mark.parametrize(
    ("point", "code"),
    [
        ({"x": math.nan}, "handwriting_malformed"),
        ({"y": math.inf}, "handwriting_malformed"),
        ({"x": -50}, "handwriting_out_of_range"),
        ({"y": 10_000}, "handwriting_out_of_range"),
        ({"x": 10**30}, "handwriting_out_of_range"),
        ({"t": -1}, "handwriting_out_of_range"),
        ({"t": 10**9}, "handwriting_out_of_range"),
        ({"p": 1.5}, "handwriting_out_of_range"),
        ({"p": None}, "handwriting_malformed"),
        ({"x": "12"}, "handwriting_malformed"),
    ],
)
def test_bad_numbers_in_a_point_are_refused(point: dict[str, object], code: str) -> None:
    with pytest.raises(HandwritingError) as refused:
        parse_strokes(_with_point(**point))
    assert refused.value.code == code


def test_time_going_backwards_within_a_stroke_is_refused() -> None:
    drawing = write_name("张三")
    stroke = drawing["strokes"][1]
    stroke[2]["t"] = stroke[0]["t"]
    with pytest.raises(HandwritingError) as refused:
        parse_strokes(as_json(drawing))
    assert refused.value.code == "handwriting_malformed"


def test_too_many_points_strokes_or_characters_are_refused() -> None:
    point = {"x": 1, "y": 1, "t": 0}
    many_points = {"width": 300, "height": 150, "strokes": [[point] * (MAX_POINTS + 1)]}
    many_strokes = {"width": 300, "height": 150, "strokes": [[point]] * (MAX_STROKES + 1)}
    many_chars = {"chars": [{"width": 100, "height": 100, "strokes": [[point]]}] * 9}
    for obj in (many_points, many_strokes, many_chars):
        with pytest.raises(HandwritingError) as refused:
            parse_strokes(json.dumps(obj, separators=(",", ":")))
        assert refused.value.code == "handwriting_too_large"
    with pytest.raises(HandwritingError) as refused:
        parse_strokes(" " * (MAX_PAYLOAD_CHARS + 1))
    assert refused.value.code == "handwriting_too_large"


def test_a_realistic_signature_fits_well_within_the_limits() -> None:
    long = write_name("司马小川", speed=0.1)  # a slow, careful signer: 4x the points
    text = as_json(long)
    drawing = parse_strokes(text)
    assert drawing.point_count < MAX_POINTS / 10
    assert len(text) < MAX_PAYLOAD_CHARS / 10


def test_missing_pressure_defaults_to_a_middle_value() -> None:
    drawing = write_name("张三")
    for stroke in drawing["strokes"]:
        for pt in stroke:
            del pt["p"]
    parsed = parse_strokes(as_json(drawing))
    assert {pt.p for s in parsed.strokes for pt in s} == {0.5}


def test_hash_is_stable_for_equal_strokes_and_changes_with_any_point() -> None:
    obj = write_name("李经理")
    a = parse_strokes(as_json(obj))
    b = parse_strokes(json.dumps(obj, indent=2))  # same numbers, other formatting
    assert strokes_sha256(a) == strokes_sha256(b)
    assert canonical_json(a) == canonical_json(b)
    obj["strokes"][3][2]["x"] += 0.5
    assert strokes_sha256(parse_strokes(as_json(obj))) != strokes_sha256(a)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=20,
)
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.booleans(),
    st.none(),
)
point_dicts = st.fixed_dictionaries(
    {"x": numbers, "y": numbers}, optional={"t": numbers, "p": numbers}
)
drawings = st.fixed_dictionaries(
    {
        "width": numbers,
        "height": numbers,
        "strokes": st.lists(st.lists(point_dicts, max_size=6), max_size=4),
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_any_text_parses_or_raises_a_handwriting_error(text: str) -> None:
    with contextlib.suppress(HandwritingError):
        parse_strokes(text)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_parses_or_raises_a_handwriting_error(value: object) -> None:
    with contextlib.suppress(HandwritingError):
        parse_strokes(json.dumps(value, allow_nan=True))


@settings(max_examples=300, deadline=None)
@given(st.one_of(drawings, st.fixed_dictionaries({"chars": st.lists(drawings, max_size=3)})))
def test_any_drawing_shaped_json_parses_or_raises_a_handwriting_error(value: object) -> None:
    try:
        drawing = parse_strokes(json.dumps(value, allow_nan=True))
    except HandwritingError:
        return
    for stroke in drawing.strokes:
        for pt in stroke:
            assert all(math.isfinite(v) for v in pt)
            assert 0 <= pt.p <= 1
