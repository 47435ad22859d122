"""Template + data → PDF with an empty signature field per role (and per further box).

WeasyPrint lays out the Jinja2 HTML; the position of each ``#sig-<role>`` box is
read from that same layout and turned into a pyHanko signature field, so the
field sits exactly inside the box the template draws.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import itertools
import math
import re
import threading
import xml.etree.ElementTree as ElementTree
import zlib
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import cssselect2
import jinja2
import pydyf
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from backend.documents import fonts
from backend.documents.catalog import ContractTemplate
from backend.documents.fonts import fast_subsetting_available, font_face_css
from backend.documents.validation import FieldError, Invalid, TemplateDataError, clean_text
from backend.worker_processes import spawn_pool

TEMPLATES_DIR = Path(__file__).parent / "templates"
_PX_TO_PT = 72 / 96  # CSS px are 1/96 in, PDF points 1/72 in
_FIELD_INSET_PT = 1  # keep the field inside the drawn border
_DOCUMENT_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_PARTIES = ("甲方", "乙方", "丙方", "丁方", "戊方")

# WeasyPrint (pango, fontconfig) is not thread-safe; one layout at a time per process.
_weasy_lock = threading.Lock()


@dataclass(frozen=True)
class SignatureSlot:
    """Where a role signs: field ``sig_<role>`` on ``page`` (0-based), or
    ``sig_<role>__<slot>`` for a further box of the same role (a handover page, initials).

    ``box`` is (x1, y1, x2, y2) in PDF points, origin at the bottom-left of the page.
    """

    role: str
    field_name: str
    page: int
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class RenderedDocument:
    pdf: bytes
    sha256: str
    page_count: int
    slots: tuple[SignatureSlot, ...]


def render_document(
    template: ContractTemplate,
    data: Mapping[str, object],
    *,
    document_number: str,
    signers: Mapping[str, str],
) -> RenderedDocument:
    """Render ``data`` (cleaned by ``template.validate``) to a PDF ready for signing.

    Raises :class:`TemplateDataError` for bad data or signer names and
    :class:`ValueError` for a malformed document number or an unknown role.
    """
    if not _DOCUMENT_NUMBER.fullmatch(document_number):
        raise ValueError(f"malformed document number: {document_number!r}")
    cleaned = template.clean_stored(data)
    signer_names = _clean_signers(template, signers)
    html = _render_html(template, cleaned, document_number, signer_names)

    fast_subsetting_available()  # logs once if renders will be slow
    with _weasy_lock:
        layout = _parse(html).render(
            stylesheets=_stylesheets(fonts.compact_fonts_ready()), font_config=_font_config()
        )
        slots = tuple(_find_slots(layout, template))
        pdf = layout.write_pdf(finisher=_signature_fields(slots))
    return RenderedDocument(
        pdf=pdf,
        sha256=hashlib.sha256(pdf).hexdigest(),
        page_count=len(layout.pages),
        slots=slots,
    )


async def async_render_document(
    template: ContractTemplate,
    data: Mapping[str, object],
    *,
    document_number: str,
    signers: Mapping[str, str],
) -> RenderedDocument:
    """:func:`render_document` off the event loop: a thread, or a process of the render pool."""
    if _pool is not None:
        call = functools.partial(
            _render_catalogued, template.key, dict(data), document_number, dict(signers)
        )
        return await asyncio.get_running_loop().run_in_executor(_pool, call)
    return await asyncio.to_thread(
        render_document, template, data, document_number=document_number, signers=signers
    )


def _render_catalogued(
    key: str, data: dict[str, object], document_number: str, signers: dict[str, str]
) -> RenderedDocument:
    # Runs in a pool process: templates hold closures, so they travel by key.
    from backend.documents.catalog import get_template

    template = get_template(key)
    if template is None:
        raise ValueError(f"unknown template {key!r}")
    return render_document(template, data, document_number=document_number, signers=signers)


_pool: ProcessPoolExecutor | None = None


def use_render_processes(count: int) -> None:
    """Render in ``count`` processes (0: in a thread of this one).

    WeasyPrint lays out one document at a time per process; a job worker rendering a batch
    uses every core this way. Templates and data are plain, picklable values.
    """
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)  # reaped: no orphans, CPU accounted
    _pool = spawn_pool(count, _warm_up) if count > 0 else None


def _warm_up() -> None:
    _stylesheets(fonts.compact_fonts_ready())


def _clean_signers(template: ContractTemplate, signers: Mapping[str, str]) -> dict[str, str]:
    known = {role.key: role for role in template.roles}
    unknown = sorted(set(signers) - set(known))
    if unknown:
        raise ValueError(f"unknown roles for {template.key}: {', '.join(unknown)}")
    names: dict[str, str] = {}
    errors: list[FieldError] = []
    for key, name in signers.items():
        role = known[key]
        try:
            names[key] = clean_text(
                name,
                label=f"{role.label}签署人姓名",
                label_en=f"{role.label_en} signer name",
                max_length=30,
                person_name=True,
            )
        except Invalid as problem:
            errors.append(FieldError(f"signers.{key}", problem.message, problem.message_en))
    if errors:
        raise TemplateDataError(errors)
    return names


@cache
def _jinja() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every value is untrusted user input
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _render_html(
    template: ContractTemplate,
    cleaned: Mapping[str, object],
    document_number: str,
    signers: Mapping[str, str],
) -> str:
    context = template.build_context(cleaned)
    organisations = context.get("organisations")
    organisations = organisations if isinstance(organisations, Mapping) else {}
    roles = []
    for index, role in enumerate(template.roles):
        organisation = organisations.get(role.key)
        roles.append(
            {
                "key": role.key,
                "label": role.label,
                "party": _PARTIES[index],
                "organisation": organisation,
                "signature_caption": f"{role.label}授权代表（签字）"
                if organisation
                else f"{role.label}（签字）",
                "signer": signers.get(role.key),
            }
        )
    html = (
        _jinja()
        .get_template(template.html_template)
        .render(**context, template=template, document_number=document_number, roles=roles)
    )
    return _CLAUSE_LIST.sub(_number_clauses, html)


# Clause numbers are written into the HTML rather than drawn by a CSS counter in an
# absolutely positioned ::before: WeasyPrint lays out every absolute box in a pass of its
# own, and that cost ~10 % of a render. Values from the data are escaped by Jinja, so the
# only "<li>" in the page are the template's own.
_CLAUSE_LIST = re.compile(r'<ol class="clauses">.*?</ol>', re.S)
_CLAUSE = re.compile(r"<li>")


def _number_clauses(found: re.Match[str]) -> str:
    numbers = itertools.count(1)
    return _CLAUSE.sub(lambda _: f'<li><span class="n">{next(numbers)}．</span>', found.group(0))


class _ContractHTML(HTML):
    """A contract page as WeasyPrint's :class:`HTML`, from a tree the C XML parser built.

    WeasyPrint parses with tinyhtml5, an HTML5 parser in pure Python: ~6 % of a render.
    The templates are well-formed XHTML without a namespace (``<br/>``, ``<meta .../>``)
    and every value in them is escaped by Jinja, so the XML parser reads them to the same
    tree; the tests render each template through here.
    """

    def __init__(self, root: ElementTree.Element) -> None:
        # Not HTML.__init__, which would parse again: the attributes it sets after parsing.
        self.base_url = str(TEMPLATES_DIR)
        self.url_fetcher = URLFetcher()
        self.media_type = "print"
        self.wrapper_element = cssselect2.ElementWrapper.from_html_root(root, content_language=None)
        self.etree_element = self.wrapper_element.etree_element


def _parse(html: str) -> HTML:
    """The page for WeasyPrint: XML-parsed, or HTML5-parsed if a value is not valid XML
    (a control character the data checks let through)."""
    try:
        return _ContractHTML(ElementTree.fromstring(html))
    except ElementTree.ParseError:
        return HTML(string=html, base_url=str(TEMPLATES_DIR))


@cache
def _font_config() -> FontConfiguration:
    return FontConfiguration()


@cache
def _stylesheets(compact: bool) -> tuple[CSS, ...]:
    if not compact:
        fonts.start_compact_build()
    config = _font_config()
    return (
        CSS(string=font_face_css(compact=compact), font_config=config),
        CSS(filename=str(TEMPLATES_DIR / "contract.css"), font_config=config),
    )


def _descendants(box: Any) -> Iterator[Any]:
    yield box
    for child in getattr(box, "children", ()):
        yield from _descendants(child)


# A role's further boxes (a handover page, initials): id ``sig-<role>--<slot>``.
_EXTRA_SLOT = re.compile(r"sig-([a-z][a-z0-9_]*)--([a-z0-9]{1,16})")


def slot_field_name(role: str, slot: str | None = None) -> str:
    """The signature field of a role's box: ``sig_<role>``, or ``sig_<role>__<slot>``."""
    return f"sig_{role}" if slot is None else f"sig_{role}__{slot}"


def is_role_field(field_name: str, role: str) -> bool:
    """``field_name`` is one of ``role``'s signature fields (its main one or an extra box)."""
    main = slot_field_name(role)
    return field_name == main or field_name.startswith(main + "__")


def _find_slots(layout: Any, template: ContractTemplate) -> Iterator[SignatureSlot]:
    wanted = {f"sig-{role.key}": role for role in template.roles}
    roles = {role.key: role for role in template.roles}
    found: set[str] = set()
    for page_index, page in enumerate(layout.pages):
        page_height_px = page.height
        for box in _descendants(page._page_box):
            element = getattr(box, "element", None)
            box_id = str(element.get("id") or "") if element is not None else ""
            extra = _EXTRA_SLOT.fullmatch(box_id)
            if extra is not None and extra.group(1) not in roles:
                raise RuntimeError(f"template {template.key}: {box_id} names no role")
            if (box_id not in wanted and extra is None) or box_id in found:
                continue
            found.add(box_id)
            role = roles[extra.group(1)] if extra else wanted[box_id]
            field_name = slot_field_name(role.key, extra.group(2) if extra else None)
            # padding box = inside the drawn border; CSS y grows down, PDF y grows up
            left, top = box.padding_box_x(), box.padding_box_y()
            right, bottom = left + box.padding_width(), top + box.padding_height()
            # whole points, rounded inwards, so the field never touches the border
            box = (
                math.ceil(left * _PX_TO_PT + _FIELD_INSET_PT),
                math.ceil((page_height_px - bottom) * _PX_TO_PT + _FIELD_INSET_PT),
                math.floor(right * _PX_TO_PT - _FIELD_INSET_PT),
                math.floor((page_height_px - top) * _PX_TO_PT - _FIELD_INSET_PT),
            )
            yield SignatureSlot(
                role=role.key,
                field_name=field_name,
                page=page_index,
                box=(float(box[0]), float(box[1]), float(box[2]), float(box[3])),
            )
    missing = set(wanted) - found
    if missing:
        raise RuntimeError(f"template {template.key} has no element for {sorted(missing)}")


def _signature_fields(slots: tuple[SignatureSlot, ...]) -> Any:
    """A WeasyPrint finisher adding one empty signature field per slot, as pyHanko would.

    Written into the PDF while WeasyPrint serialises it: no second parse and rewrite of
    the whole file (that cost a quarter of the render time).
    """

    def finish(document: Any, pdf: pydyf.PDF) -> None:
        by_number = {obj.number: obj for obj in pdf.objects if isinstance(obj, pydyf.Object)}
        kids = pdf.pages["Kids"]  # flat: number, 0, "R", number, 0, "R", ...
        pages = [by_number[number] for number in kids[::3]]
        fields = pydyf.Array()
        for slot in slots:
            page = pages[slot.page]
            x1, y1, x2, y2 = (round(v) for v in slot.box)
            appearance = pydyf.Stream(
                extra={
                    "Type": "/XObject",
                    "Subtype": "/Form",
                    "BBox": pydyf.Array([0, 0, x2 - x1, y2 - y1]),
                }
            )
            pdf.add_object(appearance)
            widget = pydyf.Dictionary(
                {
                    "FT": "/Sig",
                    "T": pydyf.String(slot.field_name),
                    "Type": "/Annot",
                    "Subtype": "/Widget",
                    "F": 132,  # print + locked, as pyHanko sets for visible fields
                    "Rect": pydyf.Array([x1, y1, x2, y2]),
                    "P": page.reference,
                    "AP": pydyf.Dictionary({"N": appearance.reference}),
                }
            )
            pdf.add_object(widget)
            if "Annots" not in page:
                page["Annots"] = pydyf.Array()
            page["Annots"].append(widget.reference)
            fields.append(widget.reference)
        pdf.catalog["AcroForm"] = pydyf.Dictionary({"Fields": fields, "SigFlags": 1})
        _compress_streams(pdf)

    return finish


_ZLIB_LEVEL = 6  # pydyf uses 9: twice the time (~8 ms a contract) for 0.3 % fewer bytes


def _compress_streams(pdf: pydyf.PDF) -> None:
    """Deflate the byte streams (embedded fonts, page contents) at ``_ZLIB_LEVEL``.

    A stream compressed here is marked uncompressed for pydyf, which then writes it as is.
    """
    for obj in pdf.objects:
        if not isinstance(obj, pydyf.Stream) or not obj.compress:
            continue
        if not all(isinstance(item, bytes) for item in obj.stream):
            continue  # numbers or objects: pydyf formats those itself
        obj.stream = [zlib.compress(b"\n".join(obj.stream), _ZLIB_LEVEL)]
        obj.extra["Filter"] = "/FlateDecode"
        obj.compress = False
