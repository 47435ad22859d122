"""`python -m bench.handwriting`: check + render one handwritten signature from its strokes.

Target: parsing, checking and rendering (with features and hash) within 50 ms per signature.
The baseline, measured in the same run, is the naive way: the same strokes drawn as plain
Pillow polylines (no smoothing, no pen model, no antialiasing) and saved as PNG.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

from PIL import Image, ImageDraw

from bench.timing import measure
from ml import handwriting

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "handwriting"))
from handwriting_data import as_json, write_characters, write_name

BUDGET_MS = 50.0


def naive_png(strokes_json: str) -> bytes:
    obj = json.loads(strokes_json)
    im = Image.new("RGBA", (round(obj["width"]) * 2, round(obj["height"]) * 2), (0, 0, 0, 0))
    draw = ImageDraw.Draw(im)
    for stroke in obj["strokes"]:
        draw.line([(p["x"] * 2, p["y"] * 2) for p in stroke], fill=(17, 17, 17, 255), width=5)
    out = io.BytesIO()
    im.crop(im.getbbox()).save(out, format="PNG")
    return out.getvalue()


def main() -> None:
    cases = [
        ("张三, finger", "张三", as_json(write_name("张三"))),
        ("李经理, stylus", "李经理", as_json(write_name("李经理", stylus=True))),
        ("司马小川, slow (4x points)", "司马小川", as_json(write_name("司马小川", speed=0.12))),
        ("司马小川, character boxes", "司马小川", as_json(write_characters("司马小川"))),
    ]
    print(f"{'signature':30} {'points':>6} {'median ms':>10} {'naive ms':>9} {'x naive':>8}")
    worst = 0.0
    for label, name, text in cases:
        points = handwriting.parse_strokes(text).point_count
        ms = measure(lambda t=text, n=name: handwriting.prepare_signature(t, n), 21)
        flat = handwriting.to_json(handwriting.parse_strokes(text))
        naive = measure(lambda f=flat: naive_png(f), 21)
        worst = max(worst, ms)
        print(f"{label:30} {points:6d} {ms:10.1f} {naive:9.1f} {ms / naive:8.2f}")
    verdict = "within" if worst <= BUDGET_MS else "OVER"
    print(f"slowest: {worst:.1f} ms — {verdict} the {BUDGET_MS:.0f} ms budget")


if __name__ == "__main__":
    main()
