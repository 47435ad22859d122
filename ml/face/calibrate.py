"""``python -m ml.face.calibrate DIR``: distances of every pair of labelled photos.

A photo's person is the part of its file name before the first underscore
(``obama_1.jpg`` -> ``obama``); pictures with more or fewer than one face are skipped.
Prints every pair and FAR/FRR at the threshold.
"""

from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

from ml.face.match import DEFAULT_THRESHOLD, sample_face

_IMAGES = {".jpg", ".jpeg", ".png", ".webp"}


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    same: bool
    distance: float


@dataclass(frozen=True)
class Calibration:
    pairs: list[Pair]
    threshold: float

    @property
    def false_accepts(self) -> list[Pair]:
        return [p for p in self.pairs if not p.same and p.distance <= self.threshold]

    @property
    def false_rejects(self) -> list[Pair]:
        return [p for p in self.pairs if p.same and p.distance > self.threshold]

    @property
    def far(self) -> float:
        n = sum(not p.same for p in self.pairs)
        return len(self.false_accepts) / n if n else 0.0

    @property
    def frr(self) -> float:
        n = sum(p.same for p in self.pairs)
        return len(self.false_rejects) / n if n else 0.0


def calibrate(folder: Path, threshold: float = DEFAULT_THRESHOLD) -> Calibration:
    samples = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in _IMAGES:
            continue
        sample = sample_face(path.read_bytes(), role="photo")
        if sample.descriptor is not None:
            samples[path.name] = sample.descriptor
    pairs = []
    for a, b in itertools.combinations(samples, 2):
        distance = float(((samples[a] - samples[b]) ** 2).sum() ** 0.5)
        pairs.append(Pair(a, b, a.split("_")[0] == b.split("_")[0], distance))
    return Calibration(pairs, threshold)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m ml.face.calibrate")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    args = parser.parse_args()
    result = calibrate(args.folder, args.threshold)
    for p in sorted(result.pairs, key=lambda p: p.distance):
        print(f"{'same' if p.same else 'diff'}  {p.distance:.3f}  {p.a} ~ {p.b}")
    same = [p.distance for p in result.pairs if p.same]
    diff = [p.distance for p in result.pairs if not p.same]
    summary = {
        "threshold": result.threshold,
        "same_pairs": len(same),
        "different_pairs": len(diff),
        "max_same": round(max(same, default=0), 3),
        "min_different": round(min(diff, default=0), 3),
        "FAR": result.far,
        "FRR": result.frr,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
