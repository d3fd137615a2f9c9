"""QR codes and Aztec codes in an image, read with zxing-cpp (Apache-2.0).

Codes are read on the 512 px working copy first. A QR code that covers a small part of a big photo
(a flyer photographed whole, a sticker on a poster) has modules too small to read at 512 px, so when
nothing is found and the original is larger, it is read once more in the larger copy (up to
`LARGE_SIZE` px, decoded once per image and shared with OCR: tamis.media.images.larger_copy) (bench/links.py measures what each step finds and costs). Positions are given in
the original image's pixels, after EXIF orientation, like every other box in tamis.
"""

from __future__ import annotations

from dataclasses import dataclass

import zxingcpp
from PIL import Image

from tamis.media.images import LARGER_SIZE, larger_copy
from tamis.schema import DecodedImage

# Longest side of the second, larger look. 2048 px reads QR codes down to ~4% of a 4000 px
# photo's width (bench/links.py) at a fraction of a full decode's time and memory.
LARGE_SIZE = LARGER_SIZE

# The codes whose text can be a link that people are sent to: the QR family, which phone cameras open,
# and Aztec. Their detectors find a code at any angle, so zxing's rotated scans (try_rotate, for 1-D
# and stacked codes) are skipped: 0.9 ms per 512 px photo against 4.4 with the formats read before
# (1-D retail and logistics codes, DataMatrix, PDF417; bench/links.py). Those are not read: EAN and UPC
# hold digits only, and DataMatrix, PDF417 and Code128 label parts, parcels, tickets and IDs.
FORMATS = zxingcpp.barcode_formats_from_str("QRCode,MicroQRCode,RMQRCode,Aztec")
# The second look is for small codes in big photos, the QR codes of a flyer or a sticker photographed
# whole: the QR family only (bench/links.py).
LARGE_FORMATS = zxingcpp.barcode_formats_from_str("QRCode,MicroQRCode,RMQRCode")
_QR = {"QRCode", "QRCodeModel1", "QRCodeModel2", "MicroQRCode", "RMQRCode"}


@dataclass(frozen=True)
class Code:
    """One decoded code: its text, its format, and its bounding box in original pixels."""

    text: str
    format: str  # zxing's name, e.g. "QRCode", "EAN13"
    x: int
    y: int
    w: int
    h: int

    @property
    def is_qr(self) -> bool:
        return self.format in _QR


def read_codes(image: DecodedImage, *, large: bool = True) -> list[Code]:
    """Every code found in `image`; the larger second look only when the first finds nothing."""
    codes = first_look(image)
    if codes or not large or max(image.width, image.height) <= max(image.image.size):
        return codes
    bigger = larger_copy(image)  # decoded once per image, shared with OCR
    if bigger is None or max(bigger.size) <= max(image.image.size):
        return codes
    return _read(bigger, image.width, image.height, LARGE_FORMATS)


def first_look(image: DecodedImage) -> list[Code]:
    """The codes in the working copy, read once per image: `links` and image-text's message cue both ask."""
    with image.derived_lock:
        if "codes" not in image.derived:
            image.derived["codes"] = _read(image.image, image.width, image.height)
        return list(image.derived["codes"])


def _read(im: Image.Image, width: int, height: int, formats: zxingcpp.BarcodeFormats = FORMATS) -> list[Code]:
    sx, sy = width / im.width, height / im.height
    found = []
    for barcode in zxingcpp.read_barcodes(im.convert("L"), formats=formats, try_rotate=False):
        if not barcode.valid or not barcode.text:
            continue
        p = barcode.position
        xs = [p.top_left.x, p.top_right.x, p.bottom_right.x, p.bottom_left.x]
        ys = [p.top_left.y, p.top_right.y, p.bottom_right.y, p.bottom_left.y]
        x0, y0 = max(0, round(min(xs) * sx)), max(0, round(min(ys) * sy))
        x1, y1 = min(width, round((max(xs) + 1) * sx)), min(height, round((max(ys) + 1) * sy))
        found.append(Code(barcode.text, barcode.format.name, x0, y0, max(1, x1 - x0), max(1, y1 - y0)))
    return found
