"""QR codes and barcodes rendered by the test (zxing-cpp) into benign photos, read back with positions
in the original image's pixels."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from tamis.media.codes import read_codes
from tamis.media.images import decode_image

BENIGN = Path(__file__).parent / "fixtures" / "benign"
URL = "https://prize-claim.example.top/win?id=88213"


def code_image(text: str, fmt: zxingcpp.BarcodeFormat, scale: int) -> Image.Image:
    barcode = zxingcpp.create_barcode(text, fmt)
    return Image.fromarray(np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=scale))).convert("RGB")


def photo_with(code: Image.Image, at: tuple[int, int], size: tuple[int, int] | None = None, fmt: str = "JPEG") -> bytes:
    photo = Image.open(BENIGN / "coffee.jpg").convert("RGB")
    if size:
        photo = photo.resize(size, Image.Resampling.BICUBIC)
    photo.paste(code, at)
    buf = io.BytesIO()
    photo.save(buf, fmt, quality=92)
    return buf.getvalue()


def test_qr_code_in_a_photo_is_read_with_its_position() -> None:
    code = code_image(URL, zxingcpp.BarcodeFormat.QRCode, scale=4)
    decoded = decode_image(photo_with(code, (150, 40)), field="image")
    (found,) = read_codes(decoded)
    assert found.text == URL and found.is_qr and found.format == "QRCode"
    quiet = 4 * 4  # write_barcode_to_image adds a 4-module quiet zone
    assert abs(found.x - (150 + quiet)) <= 3 and abs(found.y - (40 + quiet)) <= 3
    assert abs(found.w - (code.width - 2 * quiet)) <= 4 and abs(found.h - (code.height - 2 * quiet)) <= 4


def test_small_qr_code_in_a_big_photo_needs_the_larger_look() -> None:
    """At 4% of a 4000 px photo's width the code is unreadable in the 512 px working copy."""
    code = code_image(URL, zxingcpp.BarcodeFormat.QRCode, scale=1).resize((200, 200), Image.Resampling.NEAREST)
    decoded = decode_image(photo_with(code, (2600, 1900), size=(4000, 3000)), field="image")
    assert max(decoded.image.size) == 512
    assert read_codes(decoded, large=False) == []
    (found,) = read_codes(decoded)
    assert found.text == URL
    # position in ORIGINAL pixels: the code's modules start after the quiet zone (200/37*4 px)
    assert abs(found.x - 2622) <= 12 and abs(found.y - 1922) <= 12 and abs(found.w - 156) <= 15


def test_rotated_photo_positions_follow_exif_orientation() -> None:
    code = code_image(URL, zxingcpp.BarcodeFormat.QRCode, scale=4)
    photo = Image.open(BENIGN / "coffee.jpg").convert("RGB")  # 400x267
    photo.paste(code, (10, 10))
    # store it rotated with orientation 6 (rotate 90° clockwise to display): viewers see it upright
    stored = photo.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    stored.save(buf, "JPEG", quality=92, exif=exif)
    decoded = decode_image(buf.getvalue(), field="image")
    assert (decoded.width, decoded.height) == (400, 267)
    (found,) = read_codes(decoded)
    assert found.text == URL and abs(found.x - 26) <= 3 and abs(found.y - 26) <= 3


def test_an_aztec_code_is_read_as_a_barcode() -> None:
    code = code_image(URL, zxingcpp.BarcodeFormat.Aztec, scale=4)
    decoded = decode_image(photo_with(code, (150, 40), fmt="PNG"), field="image")
    (found,) = read_codes(decoded)
    assert found.text == URL and found.format == "Aztec" and not found.is_qr


@pytest.mark.parametrize("angle", [90, 180, 270, 23])
def test_a_qr_code_at_any_angle_is_read_without_rotated_scans(angle: int) -> None:
    """zxing's rotated scans (try_rotate) are off: the QR detector must find a turned code by itself."""
    code = code_image(URL, zxingcpp.BarcodeFormat.QRCode, scale=3).rotate(angle, expand=True, fillcolor="white")
    decoded = decode_image(photo_with(code, (60, 20), fmt="PNG"), field="image")
    assert [c.text for c in read_codes(decoded, large=False)] == [URL]


@pytest.mark.parametrize("fmt", [zxingcpp.BarcodeFormat.EAN13, zxingcpp.BarcodeFormat.DataMatrix])
def test_codes_that_do_not_carry_links_to_people_are_not_read(fmt: zxingcpp.BarcodeFormat) -> None:
    """EAN-13 holds digits only; DataMatrix marks parts and parcels: neither is worth a zxing pass."""
    text, scale = ("5901234123457", 2) if fmt == zxingcpp.BarcodeFormat.EAN13 else ("https://ex.am/p1", 4)
    code = code_image(text, fmt, scale=scale)
    png = photo_with(code, (40, 60), fmt="PNG")
    assert zxingcpp.read_barcodes(decode_image(png, field="image").image, formats=fmt)  # readable
    assert read_codes(decode_image(png, field="image")) == []


def test_benign_photos_have_no_codes() -> None:
    for path in sorted(BENIGN.glob("*.jpg")):
        assert read_codes(decode_image(path.read_bytes(), field="image")) == [], path.name


def test_the_working_copy_is_read_once_per_image(monkeypatch: pytest.MonkeyPatch) -> None:
    """links and image-text's message cue both ask for the codes of the same image: one zxing pass."""
    from tamis.media import codes

    calls = []
    real = codes._read
    monkeypatch.setattr(codes, "_read", lambda *a, **k: calls.append(1) or real(*a, **k))
    decoded = decode_image(photo_with(code_image(URL, zxingcpp.BarcodeFormat.QRCode, scale=4), (150, 40)), field="image")
    first, again = read_codes(decoded), read_codes(decoded, large=False)
    assert [c.text for c in first] == [c.text for c in again] == [URL] and len(calls) == 1
