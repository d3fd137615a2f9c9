"""tamis.media.ocr: both engines read rendered text, boxes come back in original pixels, the gate
lets text through and photos without text stop there."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from tamis.media import ocr
from tamis.media.images import decode_image

BENIGN = sorted((Path(__file__).parent / "fixtures" / "benign").glob("*.jpg"))
BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
NO_TESSERACT = "Debian's tesseract-ocr is not installed (apt-get install tesseract-ocr); rapidocr covers the pip-only path"


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.truetype(str(BOLD), size) if BOLD.exists() else ImageFont.load_default(size=size)


def render(lines: list[str], size: tuple[int, int] = (1600, 800), px: int = 72,
           background: Image.Image | None = None) -> tuple[Image.Image, dict[str, tuple[int, int, int, int]]]:
    """An image with `lines` drawn one under the other; and each word's true box (x, y, w, h)."""
    image = background.resize(size) if background else Image.new("RGB", size, (250, 250, 245))
    draw = ImageDraw.Draw(image)
    f = font(px)
    boxes = {}
    y = size[1] // 8
    for line in lines:
        x = size[0] // 16
        for word in line.split(" "):
            left, top, right, bottom = draw.textbbox((x, y), word, font=f)
            boxes[word] = (left, top, right - left, bottom - top)
            x += int(draw.textlength(word + " ", font=f))
        outline = {"stroke_width": 3, "stroke_fill": (0, 0, 0)} if background else {}
        draw.text((size[0] // 16, y), line, font=f, fill=(255, 255, 255) if background else (20, 20, 20), **outline)
        y += px * 2
    return image, boxes


def encoded(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def covers(found: tuple[int, int, int, int], true: tuple[int, int, int, int], px: int) -> bool:
    """The found box holds the drawn word's box (slack: a sixth of the text size) and overshoots none of its edges
    by more than half the text size (engines box the whole line height, with a margin)."""
    slack, overshoot = px / 6, px / 2
    fx, fy, fw, fh = found
    tx, ty, tw, th = true
    inner = fx <= tx + slack and fy <= ty + slack and fx + fw >= tx + tw - slack and fy + fh >= ty + th - slack
    tight = tx - fx <= overshoot and ty - fy <= overshoot and fx + fw - tx - tw <= overshoot and fy + fh - ty - th <= overshoot
    return inner and tight


def engines() -> list[object]:
    tesseract = pytest.param("tesseract", marks=pytest.mark.skipif(ocr.tesseract_binary() is None, reason=NO_TESSERACT))
    return ["rapidocr", tesseract]


@pytest.mark.models
@pytest.mark.parametrize("name", engines())
def test_engine_reads_rendered_text_with_word_boxes_in_original_pixels(name: str) -> None:
    image, truth = render(["shut up you clown", "see you tomorrow"])
    decoded = decode_image(encoded(image), field="file")
    assert max(decoded.image.size) == 512  # the working copy is small; boxes must still be in original pixels
    read = ocr.read_image(decoded, ocr.get_engine(name), ocr.get_gate())
    assert read is not None and read.engine == name
    assert read.text.split("\n") == ["shut up you clown", "see you tomorrow"]
    start = read.text.index("clown")
    [(box, words)] = read.boxes(start, start + len("clown"))
    assert words == "clown"
    assert covers(box, truth["clown"], 72), (box, truth["clown"])
    # A span over two words of the second line: one box covering both.
    start = read.text.index("you tomorrow")
    [(box, words)] = read.boxes(start, start + len("you tomorrow"))
    x, y, w, h = truth["tomorrow"]
    assert words == "you tomorrow" and box[0] < x and box[0] + box[2] >= x + w - 24


@pytest.mark.models
def test_exif_rotated_image_boxes_are_in_upright_original_pixels() -> None:
    upright, truth = render(["never give up"], size=(1400, 700))
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what the camera wrote; orientation 6 turns it back
    exif = Image.Exif()
    exif[0x0112] = 6
    decoded = decode_image(encoded(stored, "JPEG", quality=95, exif=exif), field="file")
    assert (decoded.width, decoded.height) == (1400, 700)
    read = ocr.read_image(decoded, ocr.get_engine("rapidocr"), ocr.get_gate())
    assert read is not None and read.text == "never give up"
    [(box, _)] = read.boxes(read.text.index("give"), read.text.index("give") + 4)
    assert covers(box, truth["give"], 72), (box, truth["give"])


@pytest.mark.models
def test_reading_at_1280_px_reads_text_too_small_for_the_working_copy() -> None:
    image, _ = render(["small print says you lose"], size=(2400, 1200), px=26)
    decoded = decode_image(encoded(image), field="file")
    read = ocr.read_image(decoded, ocr.get_engine("rapidocr"))
    assert read is not None and read.text == "small print says you lose"
    assert max(ocr.ocr_copy(decoded).size) == ocr.OCR_SIZE


@pytest.mark.models
def test_gate_passes_text_and_stops_text_less_photos() -> None:
    gate = ocr.get_gate()
    photos = [decode_image(p.read_bytes(), field="file") for p in BENIGN]
    assert not any(gate.has_text(d.image) for d in photos)
    # Text on those same photos, meme style, goes through.
    for path in BENIGN:
        image, _ = render(["WHEN IT IS MONDAY"], size=(1200, 800), px=64, background=Image.open(path).convert("RGB"))
        assert gate.has_text(decode_image(encoded(image, "JPEG"), field="file").image), path.name
    # And a text-less photo is never read at all.
    assert all(ocr.read_image(d, ocr.get_engine("rapidocr"), gate) is None for d in photos)


@pytest.mark.models
def test_gate_stops_a_line_shaped_box_that_is_no_text() -> None:
    """A blank caption bar on a photo is shaped like a line and the detector boxes it; the recogniser
    reads nothing there, so the image is not read (a video with such an overlay paid a read a frame)."""
    photo = Image.open(BENIGN[0].with_name("chelsea.jpg")).convert("RGB").resize((1280, 720))
    ImageDraw.Draw(photo).rectangle((400, 600, 560, 660), fill=(240, 240, 240))
    decoded = decode_image(encoded(photo, "JPEG"), field="file")
    gate = ocr.get_gate()
    assert ocr.is_text(gate.detect(decoded.image), decoded.image.size[1])  # the detector sees a "line"
    assert not gate.has_text(decoded.image)
    assert ocr.read_image(decoded, ocr.get_engine("rapidocr"), gate) is None
    # The same bar with a word on it goes through.
    ImageDraw.Draw(photo).text((410, 605), "SALE", fill=(0, 0, 0), font=font(44))
    assert gate.has_text(decode_image(encoded(photo, "JPEG"), field="file").image)


@pytest.mark.models
@pytest.mark.parametrize(("size", "decodes"), [((1600, 800), 0), ((6000, 3000), 1)])
def test_ocr_and_the_qr_codes_second_look_share_one_larger_decode(monkeypatch: pytest.MonkeyPatch, size, decodes) -> None:
    """The larger copy is decode_image's own pixels where they are at its scale (1600 px: both decode it
    whole), else one more decode shared by OCR and the codes' second look (6000 px: 1/4 against 1/2)."""
    from tamis.analyzers import get_analyzer
    from tamis.schema import Item

    image, _ = render(["one decode is enough"], size=size, px=64 * size[0] // 1600)
    decoded = decode_image(encoded(image, "JPEG"), field="file")
    image_text, links = get_analyzer("image-text"), get_analyzer("links")  # loaded (and derived) before counting
    opened: list[int] = []
    real_open = Image.open
    monkeypatch.setattr(Image, "open", lambda *a, **k: opened.append(1) or real_open(*a, **k))
    read = image_text.analyze([Item("a", image=decoded)])[0]
    links.analyze([Item("a", image=decoded)])  # no code at 512 px: the second look
    assert read.read is not None and read.read.text == "one decode is enough"  # type: ignore[attr-defined]
    assert len(opened) == decodes  # OCR's 1280 px copy and the codes' 2048 px look come from one decode


def test_proportional_split_when_the_engine_gives_only_a_line_box() -> None:
    line = ocr.Line("abcd efgh", ((100.0, 50.0), (190.0, 50.0), (190.0, 70.0), (100.0, 70.0)), 0.99)
    read = ocr.ReadText([ocr.Line("first", ((0.0, 0.0), (50.0, 0.0), (50.0, 10.0), (0.0, 10.0)), 0.9), line], "test")
    start = read.text.index("efgh")
    assert read.boxes(start, start + 4) == [((150, 50, 40, 20), "efgh")]
    # Scaling to the original multiplies every coordinate.
    assert read.scaled(2.0, 3.0).boxes(start, start + 4) == [((300, 150, 80, 60), "efgh")]
    # A span across the newline gives one box per line.
    assert [w for _, w in read.boxes(2, start + 2)] == ["rst", "abcd ef"]


@pytest.mark.models
def test_engine_loads_once_and_reads_safely_from_threads() -> None:
    engine = ocr.get_engine("rapidocr")
    assert ocr.get_engine("rapidocr") is engine and ocr.get_gate() is ocr.get_gate()
    image, _ = render(["two threads one engine"], size=(1000, 300), px=48)
    results: list[str] = []

    def read() -> None:
        results.append(" ".join(line.text for line in engine.read(image)))

    threads = [threading.Thread(target=read) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["two threads one engine"] * 3


@pytest.mark.models
def test_engine_setting() -> None:
    assert ocr.engine_name("off") == "off" and ocr.get_engine("off") is None
    assert ocr.engine_name("rapidocr") == "rapidocr"
    # auto: rapidocr won on bench/ocr.py's numbers, so auto is rapidocr whether or not tesseract is installed.
    assert ocr.engine_name("auto") == "rapidocr"
