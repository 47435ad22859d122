"""What a person does on their phone, in Playwright terms: read, get a code, draw, confirm.

Touch gestures go through the Chrome DevTools Protocol (`Input.dispatchTouchEvent`,
`Input.synthesizeScrollGesture`), the same path a real touchscreen takes in Chromium: the
page sees touch events *and* the pointer events (pointerType "touch") derived from them.
"""

from __future__ import annotations

import io
import itertools
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.integration.journey import car_purchase_body


def random_mobile(prefix: str) -> str:
    """A random mobile number under ``prefix`` (3 digits)."""
    return prefix + "".join(random.SystemRandom().choice("0123456789") for _ in range(8))


ANDROID_CHROME_UA = (
    "Mozilla/5.0 (Linux; Android 13; V2055A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36"
)
WECHAT_UA = (
    ANDROID_CHROME_UA + " MicroMessenger/8.0.50.2600(0x28003253) NetType/WIFI Language/zh_CN"
)


def phone_profiles(playwright: Any) -> dict[str, dict[str, Any]]:
    """Context options per profile; all on the Chromium engine."""

    def chromium(device: dict[str, Any]) -> dict[str, Any]:
        opts = {k: v for k, v in device.items() if k != "default_browser_type"}
        opts.update(locale="zh-CN", timezone_id="Asia/Shanghai")
        return opts

    return {
        "android": chromium(playwright.devices["Pixel 7"]),
        "iphone": chromium(playwright.devices["iPhone 13"]),
        "wechat": {
            "user_agent": WECHAT_UA,
            "viewport": {"width": 360, "height": 740},
            "screen": {"width": 360, "height": 740},
            "device_scale_factor": 3,
            "is_mobile": True,
            "has_touch": True,
            "locale": "zh-CN",
            "timezone_id": "Asia/Shanghai",
        },
    }


def unique_phones() -> tuple[str, str]:
    rng = random.SystemRandom()
    buyer = "138" + "".join(rng.choice("0123456789") for _ in range(8))
    dealer = "139" + buyer[3:]
    return buyer, dealer


def purchase_body() -> tuple[dict[str, Any], str, str]:
    buyer, dealer = unique_phones()
    return car_purchase_body(buyer, dealer), buyer, dealer


# "张三" written with a finger: strokes as polylines in a unit box (x right, y down).
NAME_STROKES: list[list[tuple[float, float]]] = [
    # 张: 弓
    [(0.03, 0.18), (0.18, 0.16), (0.16, 0.42)],
    [(0.05, 0.42), (0.17, 0.44), (0.15, 0.75), (0.08, 0.88)],
    # 张: 长
    [(0.27, 0.10), (0.27, 0.62)],
    [(0.41, 0.12), (0.30, 0.30)],
    [(0.22, 0.45), (0.45, 0.43)],
    [(0.27, 0.62), (0.25, 0.88), (0.33, 0.80)],
    [(0.30, 0.52), (0.46, 0.88)],
    # 三
    [(0.60, 0.22), (0.88, 0.20)],
    [(0.63, 0.50), (0.85, 0.49)],
    [(0.56, 0.82), (0.97, 0.79)],
]


def _densify(points: list[tuple[float, float]], step: float) -> list[tuple[float, float]]:
    out = [points[0]]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        n = max(1, math.ceil(math.hypot(x1 - x0, y1 - y0) / step))
        out.extend((x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n) for i in range(1, n + 1))
    return out


# Elements whose box ends right of the screen, unless an ancestor scrolls or clips them
# (a scrolling table, the signature pad) or they are fixed (the action bar).
_CUT_OFF_AT_THE_RIGHT = """() => {
  const width = document.documentElement.clientWidth, found = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || box.right <= width + 1) continue;
    let up = el.parentElement, clipped = false;
    while (up && up !== document.body) {
      if (getComputedStyle(up).overflowX !== 'visible') { clipped = true; break; }
      up = up.parentElement;
    }
    if (!clipped && getComputedStyle(el).position !== 'fixed') {
      found.push(`${el.tagName.toLowerCase()}.${el.className} ends at ${Math.round(box.right)}`);
    }
  }
  return found.slice(0, 5);
}"""


@dataclass
class Phone:
    """One signer's phone: a page in an emulated mobile context, with screenshots."""

    page: Page
    name: str
    shots: Path
    seq: int = 0
    check_layout: bool = False
    """Also assert at every screenshot that the page does not scroll sideways."""
    taken: list[Path] = field(default_factory=list)

    def shot(self, step: str, *, full_page: bool = False) -> None:
        if self.check_layout:
            self.no_horizontal_scroll(step)
        self.seq += 1
        path = self.shots / f"{self.name}-{self.seq:02d}-{step}.png"
        self.page.screenshot(
            path=str(path), full_page=full_page, scale="css", animations="disabled"
        )
        self.taken.append(path)

    def no_horizontal_scroll(self, where: str) -> None:
        sizes = self.page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert sizes[0] <= sizes[1], f"{where}: page scrolls sideways ({sizes[0]} > {sizes[1]})"
        # A phone widens the layout viewport to fit what overflows (and zooms out), and
        # body clips sideways overflow: compare with the screen, and look for cut-off boxes.
        screen = (self.page.viewport_size or {"width": sizes[1]})["width"]
        assert sizes[1] <= screen, f"{where}: laid out {sizes[1]} px wide on a {screen} px screen"
        cut = self.page.evaluate(_CUT_OFF_AT_THE_RIGHT)
        assert not cut, f"{where}: content sticks out of the {screen} px screen: {cut}"

    # -- gestures --

    def swipe_up(self, distance: float) -> None:
        """A finger drag that scrolls the page down by about `distance` CSS px (plus fling).

        (`Input.synthesizeScrollGesture` with a touch source does not scroll in headless
        Chromium; raw touch events do, exactly as on a phone.)"""
        vp = self.page.viewport_size or {"width": 360, "height": 640}
        x, y0 = vp["width"] * 0.5, vp["height"] * 0.8
        steps = 6
        cdp = self.page.context.new_cdp_session(self.page)
        try:
            for i in range(steps + 1):
                point = {"x": x, "y": y0 - distance * i / steps, "id": 1}
                kind = "touchStart" if i == 0 else "touchMove"
                cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [point]})
            cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        finally:
            cdp.detach()
        self.page.wait_for_timeout(120)

    def draw(self, canvas_selector: str, strokes: list[list[tuple[float, float]]]) -> None:
        """Write `strokes` (unit-box polylines) on the canvas with touch events."""
        canvas = self.page.locator(canvas_selector)
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 60, f"signature pad too small: {box}"
        mx, my = box["width"] * 0.08, box["height"] * 0.1
        w, h = box["width"] - 2 * mx, box["height"] - 2 * my

        def to_screen(u: float, v: float) -> tuple[float, float]:
            return box["x"] + mx + u * w, box["y"] + my + v * h

        # Every point must land on the pad itself, not on a bar or label drawn over it.
        covered = self.page.evaluate(
            """([sel, pts]) => {
                const c = document.querySelector(sel);
                return pts.filter(([x, y]) => document.elementFromPoint(x, y) !== c);
            }""",
            [canvas_selector, [to_screen(u, v) for s in strokes for (u, v) in (s[0], s[-1])]],
        )
        assert not covered, f"the signature pad is covered at {covered}"

        cdp = self.page.context.new_cdp_session(self.page)
        t = time.time()
        try:
            for stroke in strokes:
                pts = _densify([to_screen(u, v) for u, v in stroke], step=36.0)
                for i, (x, y) in enumerate(pts):
                    kind = "touchStart" if i == 0 else "touchMove"
                    t += 0.045  # ~0.8 px/ms: a calm hand, so the pen width varies
                    cdp.send(
                        "Input.dispatchTouchEvent",
                        {
                            "type": kind,
                            "touchPoints": [
                                {"x": x, "y": y, "id": 1, "radiusX": 6, "radiusY": 6, "force": 0.5}
                            ],
                            "timestamp": t,
                        },
                    )
                t += 0.15
                cdp.send(
                    "Input.dispatchTouchEvent",
                    {"type": "touchEnd", "touchPoints": [], "timestamp": t},
                )
        finally:
            cdp.detach()


def read_to_the_end(phone: Phone) -> None:
    """Scroll through every page image with the finger until the send button unlocks."""
    page = phone.page
    send = page.get_by_test_id("otp-send")
    vp = page.viewport_size or {"width": 360, "height": 640}
    for _ in range(30):
        if send.is_enabled():
            break
        at_bottom = page.evaluate(
            "() => window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2"
        )
        if at_bottom:
            break
        phone.swipe_up(vp["height"] * 0.5)
    expect(send).to_be_enabled(timeout=10_000)


def unlock_batch(phone: Phone, server: Any, to: str) -> None:
    """On the batch page: the SMS code to the phone, before anything is listed."""
    page = phone.page
    expect(page.get_by_test_id("batch-access-form")).to_be_visible()
    expect(page.get_by_test_id("batch-item")).to_have_count(0)
    before = len(server.messages(to))
    page.get_by_test_id("batch-access-send").click()
    expect(page.get_by_test_id("batch-access-sent")).to_be_visible()
    phone.shot("batch-access")
    page.get_by_test_id("batch-access-code").fill(server.wait_for_code(to, before))
    page.get_by_test_id("batch-access-verify").click()
    expect(page.get_by_test_id("batch-form")).to_be_visible()


def sign_on_phone(
    phone: Phone, link: str, server: Any, to: str, who: str, *, unread: bool = True
) -> bytes:
    """The whole journey of one signer from their SMS link; returns the downloaded PDF.

    ``unread=False``: the signer has read the document already (e.g. before an identity step).
    """
    page = phone.page
    response = page.goto(link)
    assert response and response.ok, f"{link}: {response and response.status}"
    expect(page.get_by_test_id("doc-page").first).to_be_visible()
    send = page.get_by_test_id("otp-send")
    expect(send).to_be_visible()
    if unread:
        expect(send).to_be_disabled()
    phone.shot(f"{who}-read")

    read_to_the_end(phone)
    phone.shot(f"{who}-read-end")

    codes_before = len(server.messages(to))
    send.click()
    code_input = page.get_by_test_id("otp-input")
    expect(code_input).to_be_visible()
    code = server.wait_for_code(to, codes_before)
    code_input.fill(code)
    phone.shot(f"{who}-code")
    page.get_by_test_id("otp-submit").click()

    page.wait_for_url("**/sign")
    pad = page.get_by_test_id("signature-pad")
    expect(pad).to_be_visible()
    page.wait_for_function("() => window.SignLinkPad !== undefined")
    phone.shot(f"{who}-pad")
    phone.draw('[data-testid="signature-pad"]', NAME_STROKES)
    strokes = page.evaluate(
        "() => window.SignLinkPad.strokeCount(document.querySelector('[data-signature-pad]'))"
    )
    assert strokes == len(NAME_STROKES), f"touch drew {strokes} of {len(NAME_STROKES)} strokes"
    png = page.locator('input[name="signature_png"]').input_value()
    assert png.startswith("data:image/png;base64,")
    phone.shot(f"{who}-drawn")

    page.get_by_test_id("signature-submit").click()
    confirm = page.get_by_test_id("sign-confirm")
    expect(confirm).to_be_visible()
    expect(page.get_by_test_id("signature-preview")).to_be_visible()
    phone.shot(f"{who}-confirm")
    confirm.click()

    page.wait_for_url("**/done")
    download_button = page.get_by_test_id("download-signed")
    expect(download_button).to_be_visible()
    phone.shot(f"{who}-done")
    with page.expect_download() as info:
        download_button.click()
    download = info.value
    assert download.suggested_filename.endswith(".pdf"), download.suggested_filename
    path = download.path()
    assert path
    return Path(path).read_bytes()


def ink_pixels(pdf: bytes, page_index: int, rect: tuple[float, ...], caption_pt: float) -> int:
    """Dark pixels in the handwriting part of a field (above its caption line), rendered
    the way a reader shows the signature appearance."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        doc.init_forms()
        page = doc[page_index]
        scale = 2.0
        bitmap = page.render(scale=scale, may_draw_forms=True)
        image = bitmap.to_pil().convert("L")
        _, height = page.get_size()
        x0, y0, x1, y1 = rect
        top = y1
        bottom = max(y0 + caption_pt, y0 + (y1 - y0) * 0.3)
        crop = image.crop(
            (
                round(x0 * scale),
                round((height - top) * scale),
                round(x1 * scale),
                round((height - bottom) * scale),
            )
        )
        return sum(crop.histogram()[:90])
    finally:
        doc.close()


def field_box(pdf: bytes, field_name: str) -> tuple[int, tuple[float, ...]]:
    """(page index, /Rect) of the signature field `field_name`, read with pyHanko."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf))
    pages: list[Any] = []

    def walk(node: Any) -> None:
        node_obj = node.get_object()
        if node_obj.get("/Type") == "/Pages":
            for kid in node_obj["/Kids"]:
                walk(kid)
        else:
            pages.append(node)

    walk(reader.root.raw_get("/Pages"))
    page_ids = [p.idnum for p in pages]

    for ref in reader.root["/AcroForm"]["/Fields"]:
        fld = ref.get_object()
        if str(fld.get("/T")) != field_name:
            continue
        widgets = list(fld.get("/Kids", [])) or [ref]
        widget_ref = widgets[0]
        widget = widget_ref.get_object()
        rect = tuple(float(v) for v in widget["/Rect"])
        rect = (
            min(rect[0], rect[2]),
            min(rect[1], rect[3]),
            max(rect[0], rect[2]),
            max(rect[1], rect[3]),
        )
        if "/P" in widget:
            return page_ids.index(widget.raw_get("/P").idnum), rect
        for i, p in enumerate(pages):
            annots = p.get_object().get("/Annots", [])
            if any(getattr(a, "idnum", None) == widget_ref.idnum for a in annots):
                return i, rect
        raise AssertionError(f"field {field_name} has no page")
    raise AssertionError(f"no field {field_name}")
