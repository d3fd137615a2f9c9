"""Near-duplicate video frames: a sampled frame that looks like the last frame the analyzers saw is
not analyzed again, it takes that frame's signals at its own time.

A static shot of a minute is then analyzed a handful of times instead of sixty, and its flagged
time ranges still cover every sampled second, since each repeat is a judged frame of its own.

Two checks, both against the *anchor* (the last frame analyzed, never the previous repeat, so a
slow change cannot creep past them one small step at a time):

- PDQ distance (the frames' own hashes, computed for bank matching anyway): the structure is the
  same. Skipped when both frames are too flat for PDQ to mean anything (quality below MIN_QUALITY).
- A 16 x 16 colour grid: no cell moved by more than MAX_CELL_CHANGE in any channel. PDQ sees
  luminance only, and a small inset (a picture-in-picture appearing in a corner) moves few of its
  bits; a cell of the grid is 1/256 of the frame, so the inset moves its cells at once.

And the anchor is analyzed again after MAX_REPEAT_MS at most, whatever the checks say.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from tamis.hashing.pdq import MIN_QUALITY, PdqHash

# Of PDQ's 256 bits. Re-encodes of one picture are within ~10, the usual match distance is 31.
MAX_PDQ_DISTANCE = 16
GRID = 16
# Of 255, per cell mean and channel. Compression noise of a still shot moves cells by 1-3.
MAX_CELL_CHANGE = 12
# A repeat this long after its anchor is analyzed anyway (and becomes the new anchor).
MAX_REPEAT_MS = 15_000


@dataclass
class _Anchor:
    t_ms: int
    pdq: PdqHash | None
    grid: np.ndarray


@dataclass
class NearDuplicates:
    max_distance: int = MAX_PDQ_DISTANCE
    max_cell_change: int = MAX_CELL_CHANGE
    max_repeat_ms: int = MAX_REPEAT_MS
    repeats: int = 0
    _anchor: _Anchor | None = field(default=None, repr=False)

    def repeat(self, t_ms: int, image: Image.Image, pdq: PdqHash | None) -> bool:
        """True when the frame repeats the anchor; otherwise it becomes the anchor (to be analyzed)."""
        grid = np.asarray(image.convert("RGB").resize((GRID, GRID), Image.Resampling.BOX), dtype=np.int16)
        anchor = self._anchor
        if anchor is not None and self._same(anchor, t_ms, grid, pdq):
            self.repeats += 1
            return True
        self._anchor = _Anchor(t_ms, pdq, grid)
        return False

    def _same(self, anchor: _Anchor, t_ms: int, grid: np.ndarray, pdq: PdqHash | None) -> bool:
        if t_ms - anchor.t_ms > self.max_repeat_ms or grid.shape != anchor.grid.shape:
            return False
        if int(np.abs(grid - anchor.grid).max()) > self.max_cell_change:
            return False
        if pdq is None or anchor.pdq is None:
            return False
        if pdq.quality < MIN_QUALITY and anchor.pdq.quality < MIN_QUALITY:
            return True  # flat frames: their hashes are noise, the grid said enough
        return distance(pdq.hex, anchor.pdq.hex) <= self.max_distance


def distance(a: str, b: str) -> int:
    """Hamming distance of two PDQ hashes in hex."""
    return (int(a, 16) ^ int(b, 16)).bit_count()
