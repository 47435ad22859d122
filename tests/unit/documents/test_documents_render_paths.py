"""The render's fast paths print the same contract as the slow ones.

Templates are read by the C XML parser (WeasyPrint's own HTML5 parser is pure Python), and
contracts embed the compact TrueType copies of the fonts. Either must be invisible in the
document: the same pages, text and signature boxes, every character still printed.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from chain_support import render, text
from documents_data import car_data, with_changes
from fontTools.pens.boundsPen import BoundsPen
from fontTools.ttLib import TTFont
from pyhanko.pdf_utils.generic import ArrayObject
from pyhanko.pdf_utils.reader import PdfFileReader
from weasyprint import HTML

from backend.documents import fonts, get_template, list_templates, rendering

TEMPLATE_KEYS = [template.key for template in list_templates()]


@pytest.fixture(scope="module", autouse=True)
def compact_fonts() -> None:
    # `make install` builds them; a fresh cache folder gets them here (~30 s).
    fonts.build_compact_fonts()
    assert fonts.compact_fonts_ready()


def _embedded_fonts(pdf: bytes) -> Iterator[tuple[str, str, bytes]]:
    """(base font name, FontFile key, font program) of every font the pages use."""
    reader = PdfFileReader(io.BytesIO(pdf))
    seen = set()
    for index in range(len(reader.root["/Pages"]["/Kids"])):
        page = reader.find_page_for_modification(index)[0].get_object()
        for font_ref in page["/Resources"]["/Font"].values():
            font = font_ref.get_object()
            name = str(font["/BaseFont"])
            if name in seen:
                continue
            seen.add(name)
            descendants = font["/DescendantFonts"]
            assert isinstance(descendants, ArrayObject)
            descriptor = descendants[0].get_object()["/FontDescriptor"]
            for key in ("/FontFile2", "/FontFile3"):
                if key in descriptor:
                    yield name, key, descriptor[key].get_object().data


@pytest.mark.parametrize("key", TEMPLATE_KEYS)
def test_each_template_takes_the_xml_parser_and_prints_the_same(
    key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = get_template(key)
    assert template is not None
    html = rendering._render_html(
        template, template.clean_stored(template.validate(template.example_data())), "SL-1", {}
    )
    assert isinstance(rendering._parse(html), rendering._ContractHTML), (
        f"{template.html_template} is not well-formed XML (e.g. <br> for <br/>): "
        "it renders through the slow HTML5 parser"
    )

    fast = render(key)
    monkeypatch.setattr(
        rendering, "_parse", lambda page: HTML(string=page, base_url=str(rendering.TEMPLATES_DIR))
    )
    slow = render(key)
    assert fast.page_count == slow.page_count
    assert fast.slots == slow.slots
    assert text(fast.pdf) == text(slow.pdf)


def test_a_page_that_is_not_xml_still_renders() -> None:
    page = rendering._parse("<!DOCTYPE html><html><body><p>甲方\x0b乙方<br>丙方</p></body></html>")
    assert not isinstance(page, rendering._ContractHTML)
    assert "丙方" in text(page.render().write_pdf())[0]


def test_contracts_embed_the_compact_truetype_fonts() -> None:
    embedded = list(_embedded_fonts(render("car-purchase").pdf))
    assert {name.split("+")[1] for name, _, _ in embedded} == {
        "SignLink-Serif-SC-Common",
        "SignLink-Sans-SC-Common",
    }
    for _, key, program in embedded:
        assert key == "/FontFile2"
        subset = TTFont(io.BytesIO(program))
        assert "glyf" in subset
        # common hanzi come first, so a subset keeps metrics for ~5,000 ids, not ~7,600
        assert subset["maxp"].numGlyphs < 5600


def test_a_character_beyond_gb2312_prints_from_the_full_font() -> None:
    document = render("car-purchase", with_changes(car_data(), **{"buyer.name": "王喆"}))
    assert "王喆" in text(document.pdf)[0]
    names = {name.split("+")[1] for name, _, _ in _embedded_fonts(document.pdf)}
    assert "SignLink-Serif-SC" in names  # the full font, for 喆 alone


@pytest.mark.parametrize("source", [fonts.serif_path(), fonts.sans_path()], ids=["serif", "sans"])
def test_truetype_copy_has_every_character_in_the_same_shape(source: Path) -> None:
    cff, truetype = TTFont(fonts.compact_path(source)), TTFont(fonts.document_font_path(source))
    cff_map, tt_map = cff.getBestCmap(), truetype.getBestCmap()
    assert set(cff_map) == set(tt_map)
    cff_widths, tt_widths = cff["hmtx"].metrics, truetype["hmtx"].metrics
    assert all(cff_widths[cff_map[cp]][0] == tt_widths[tt_map[cp]][0] for cp in cff_map)
    cff_glyphs, tt_glyphs = cff.getGlyphSet(), truetype.getGlyphSet()
    for char in "合同甲乙方签字鑫A7￥（":
        bounds = []
        for glyphs, cmap in ((cff_glyphs, cff_map), (tt_glyphs, tt_map)):
            pen = BoundsPen(glyphs)
            glyphs[cmap[ord(char)]].draw(pen)
            assert pen.bounds is not None, f"{char} has no outline"
            bounds.append(pen.bounds)
        # quadratic curves within 1/1000 em of the cubic ones
        assert all(abs(a - b) <= 2 for a, b in zip(*bounds, strict=True)), (char, bounds)
