"""``python -m ml.face match A B`` and ``python -m ml.face liveness DIR --challenge ...``."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from ml.face.errors import FaceInputError
from ml.face.image import decode_image
from ml.face.liveness import LiveFrame, check_liveness, parse_actions
from ml.face.match import DEFAULT_THRESHOLD, match_images
from ml.face.video import frames_from_video

_IMAGES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


def _frames(source: Path, interval_ms: float) -> list[LiveFrame]:
    """A folder of pictures (times from a number in the name, else evenly spaced) or a clip."""
    if source.is_file():
        return [LiveFrame.of(p, t) for p, t in frames_from_video(source.read_bytes())]
    paths = sorted(p for p in source.iterdir() if p.suffix.lower() in _IMAGES)
    frames = []
    for i, path in enumerate(paths):
        found = re.findall(r"\d+", path.stem)
        t = float(found[-1]) if found and len(paths) > 1 and "ms" in path.stem else i * interval_ms
        frames.append(LiveFrame.of(decode_image(path.read_bytes()), t))
    return frames


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.face")
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("match", help="same person? prints {match, distance}")
    m.add_argument("a", type=Path)
    m.add_argument("b", type=Path)
    m.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    m.add_argument("--verbose", action="store_true", help="also print threshold and reasons")
    lv = sub.add_parser("liveness", help="judge a folder of frames (or a clip)")
    lv.add_argument("source", type=Path, help="folder of frames (e.g. 0003_450ms.jpg) or a video")
    lv.add_argument("--challenge", default="", help="comma-separated: blink,left,right,mouth,nod")
    lv.add_argument("--interval-ms", type=float, default=200.0, help="frame spacing if unnamed")
    args = parser.parse_args(argv)
    try:
        if args.command == "match":
            result = match_images(args.a.read_bytes(), args.b.read_bytes(), args.threshold)
            body: dict[str, object] = {
                "match": result.match,
                "distance": None if result.distance is None else round(result.distance, 4),
            }
            if args.verbose:
                body = result.to_json()
            elif result.reasons:
                body["reasons"] = result.reasons
            print(json.dumps(body))
            return 0
        verdict = check_liveness(
            _frames(args.source, args.interval_ms), parse_actions(args.challenge)
        )
        print(json.dumps(verdict.to_json(), ensure_ascii=False))
        return 0
    except (FaceInputError, OSError, ValueError) as exc:
        print(json.dumps({"error": str(exc)}), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
