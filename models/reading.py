"""Read results, candidate assembly from OCR lines, and multi-frame voting (shared by readers)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from kakou.models.ocr import TextLine


class Read(BaseModel):
    """`text` is None when nothing was read with enough confidence: the officer keys it."""

    model_config = ConfigDict(frozen=True)

    text: str | None
    confidence: float
    valid: bool
    raw: str | None = None  # what OCR actually said, for the pass record and debugging
    error: str | None = None  # why nothing could be read (bad image), never raised to callers
    # How far the runner-up string the grammar allows stays behind (1 - P(2nd)/P(best)); None
    # when the read did not come from grammar-constrained decoding.
    margin: float | None = None


R = TypeVar("R", bound=Read)


def row_groups(lines: Sequence[TextLine]) -> list[list[TextLine]]:
    """Lines sharing a text row, each row left to right, rows top to bottom."""
    rows: list[list[TextLine]] = []
    for line in sorted(lines, key=lambda ln: (ln.y0 + ln.y1) / 2):
        cy = (line.y0 + line.y1) / 2
        for row in rows:
            ref = row[0]
            if abs(cy - (ref.y0 + ref.y1) / 2) < 0.5 * max(ref.height, line.height):
                row.append(line)
                break
        else:
            rows.append([line])
    for row in rows:
        row.sort(key=lambda ln: ln.x0)
    return rows


def candidates(lines: Sequence[TextLine], max_parts: int = 3, stacked: bool = False) -> list[tuple[str, float]]:
    """Texts worth parsing: each line, runs of neighbours in a row (a plate split at its
    dot, a container code split owner/serial/check) and, if `stacked`, a short line over a
    taller one (double-row plates). Score of a join is its weakest part."""
    out: list[tuple[str, float]] = []
    for row in row_groups(lines):
        for i in range(len(row)):
            text, score = "", 1.0
            for j in range(i, min(i + max_parts, len(row))):
                if j > i:
                    gap = row[j].x0 - row[j - 1].x1
                    if gap > 2.5 * max(row[j].height, row[j - 1].height):
                        break
                text += row[j].text
                score = min(score, row[j].score)
                out.append((text, score))
    if stacked:
        # A short line, or a row of them (the province and the letter of a double-row plate
        # are often detected as two boxes), over a taller line.
        tops = [[ln] for ln in lines] + [row for row in row_groups(lines) if len(row) > 1]
        for top in tops:
            tx0, tx1 = min(t.x0 for t in top), max(t.x1 for t in top)
            ty1, th = max(t.y1 for t in top), max(t.height for t in top)
            ttext, tscore = "".join(t.text for t in top), min(t.score for t in top)
            for low in lines:
                if any(t is low for t in top):
                    continue
                overlap = min(tx1, low.x1) - max(tx0, low.x0)
                below = -0.3 * low.height <= low.y0 - ty1 < 0.8 * low.height
                if below and overlap > 0.5 * (tx1 - tx0) and th < low.height:
                    out.append((ttext + low.text, min(tscore, low.score)))
    return out


def vote(reads: Iterable[R], threshold: float, make: Callable[..., R]) -> R:
    """Combine per-frame reads of one vehicle. Valid texts outvote invalid ones; the winner's
    confidence is its mean confidence scaled by its share of the frames that read anything, so
    frames that disagree push the result toward the officer."""
    reads = list(reads)
    readable = [r for r in reads if r.text is not None]
    pool = [r for r in readable if r.valid] or readable
    if not pool:
        errors = {r.error for r in reads if r.error}
        return make(text=None, confidence=0.0, valid=False, error="; ".join(sorted(errors)) or None)
    weight: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    for r in pool:
        assert r.text is not None
        weight[r.text] += r.confidence
        count[r.text] += 1
    best = max(weight, key=lambda t: (weight[t], count[t]))
    conf = (weight[best] / count[best]) * (count[best] / len(readable))
    winner = next(r for r in pool if r.text == best)
    if conf < threshold:
        return make(text=None, confidence=conf, valid=False, raw=best)
    return winner.model_copy(update={"confidence": conf})
