"""Which drawings count as a signature: names pass, dots, lines and scribbles do not."""

from __future__ import annotations

import itertools

import pytest
from handwriting_data import INVALID, NAMES, as_json, write_characters, write_name

from ml.handwriting import HandwritingError, check_drawing, parse_strokes, prepare_signature


@pytest.mark.parametrize("name", NAMES.values())
@pytest.mark.parametrize("stylus", [False, True])
def test_names_of_two_to_four_characters_pass(name: str, stylus: bool) -> None:
    signature = prepare_signature(as_json(write_name(name, stylus=stylus)), name)
    assert signature.png.startswith(b"\x89PNG")
    assert signature.features.stroke_count == len(signature.drawing.strokes) >= len(name)


@pytest.mark.parametrize("name", NAMES.values())
@pytest.mark.parametrize("char_size", [40.0, 150.0])
def test_small_and_large_writing_both_pass(name: str, char_size: float) -> None:
    drawing = write_name(name, char_size=char_size, pad=(len(name) * char_size * 1.3, 200.0))
    check_drawing(parse_strokes(as_json(drawing)), name)


@pytest.mark.parametrize("kind", INVALID)
def test_non_signatures_are_refused_with_their_reason(kind: str) -> None:
    drawing, code = INVALID[kind]
    with pytest.raises(HandwritingError) as refused:
        prepare_signature(as_json(drawing), "张三")
    assert refused.value.code == code
    assert refused.value.message_zh and refused.value.message_en


@pytest.mark.parametrize("kind", ["dot", "line", "zigzag", "box scribble"])
def test_non_signatures_are_refused_for_latin_names_too(kind: str) -> None:
    with pytest.raises(HandwritingError):
        prepare_signature(as_json(INVALID[kind][0]), "John Smith")


def test_one_stroke_is_not_a_chinese_name_of_two_characters() -> None:
    # 张 alone is plenty of ink, but written in one continuous stroke
    one = write_name("张三")
    joined = [pt for stroke in one["strokes"] for pt in stroke]
    one["strokes"] = [joined]
    with pytest.raises(HandwritingError) as refused:
        prepare_signature(as_json(one), "张三")
    assert refused.value.code == "handwriting_too_few_strokes"
    assert "张三" in refused.value.message_zh


def test_one_short_character_is_too_little_for_a_four_character_name() -> None:
    with pytest.raises(HandwritingError) as refused:
        prepare_signature(as_json(write_name("三")), "司马小川")
    assert refused.value.code == "handwriting_too_little"


def test_character_boxes_are_assembled_left_to_right_into_one_signature() -> None:
    name = "司马小川"
    signature = prepare_signature(as_json(write_characters(name)), name)
    drawing = signature.drawing
    assert len(drawing.strokes) == sum(len(write_name(ch)["strokes"]) for ch in name)
    # each character's ink starts to the right of where the previous one ended
    starts = []
    index = 0
    for ch in name:
        count = len(write_name(ch)["strokes"])
        xs = [pt.x for s in drawing.strokes[index : index + count] for pt in s]
        starts.append((min(xs), max(xs)))
        index += count
    for (_, prev_end), (start, _) in itertools.pairwise(starts):
        assert start > prev_end
    min_x, _, max_x, _ = drawing.bbox()
    assert min_x == pytest.approx(0, abs=0.01) and max_x <= drawing.width + 0.01


def test_an_empty_character_box_names_the_box() -> None:
    chars = write_characters("李经理")
    chars["chars"][1]["strokes"] = []
    with pytest.raises(HandwritingError) as refused:
        parse_strokes(as_json(chars))
    assert refused.value.code == "handwriting_char_missing"
    assert "第 2 个字" in refused.value.message_zh
