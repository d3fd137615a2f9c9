"""Images with text in them that is not a message, made here with Pillow (nothing downloaded), and
images whose text is one (phishing and spam), for tamis's read-text judgement.

Benign: product shots with component labels and part numbers, screenshots of code, street signs and
memes with captions: 56 images, 14 of each kind, with varied fonts, sizes and backgrounds. Text read
from them must never make a spam or scam verdict (issue 16: a circuit board went to review as spam).
Phishing: texts that carry a link, a phone number, a handle or a call to action, drawn the same ways.

`benign()` and `phishing()` give (name, JPEG bytes) pairs; deterministic for a given Pillow and fonts.
Used by tests/test_read_text.py and bench/read_text.py.
"""

from __future__ import annotations

import functools
import io
import random
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FIXTURES = Path(__file__).parent / "fixtures"
PHOTOS = sorted((FIXTURES / "benign").glob("*.jpg"))  # CC0 photos (see their LICENCE.md)
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation")
FONT_NAMES = ("DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf", "LiberationSans-Bold.ttf", "DejaVuSerif.ttf",
              "LiberationMono-Regular.ttf", "DejaVuSansCondensed.ttf")

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def font(index: int, size: int) -> Font:
    """One of a few installed TrueType fonts, or Pillow's own default where none is installed."""
    files = [Path(d) / n for n in FONT_NAMES for d in FONT_DIRS if (Path(d) / n).exists()]
    if not files:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(str(files[index % len(files)]), size)


def mono(size: int) -> Font:
    for name in ("DejaVuSansMono.ttf", "LiberationMono-Regular.ttf"):
        for d in FONT_DIRS:
            if (Path(d) / name).exists():
                return ImageFont.truetype(str(Path(d) / name), size)
    return ImageFont.load_default(size=size)


def jpeg(image: Image.Image, quality: int = 88) -> bytes:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


# --- product shots ---------------------------------------------------------------------------------

BOARDS = [
    ["R25", "C10", "USB", "ST-LINK"],
    ["U1", "STM32F103C8T6", "R3 10K", "LED1"],
    ["J1 PWR", "C7 100nF", "Q2", "GND"],
    ["ESP32-WROOM-32", "EN", "BOOT", "IO0"],
    ["SW1 RESET", "D4", "3V3", "5V", "TX RX"],
    ["L1 4.7uH", "C22", "R101", "F1 2A"],
    ["ATMEGA328P-PU", "X1 16MHz", "ICSP"],
]
BOXES = [  # lot numbers, barcodes' digits and serials: text models read them as spam or scam codes
    ["WIRELESS MOUSE", "Model M-220", "S/N 4481-2290-1137"],
    ["Organic Olive Oil", "500 ml", "LOT 240611"],
    ["USB-C Cable", "60 W", "5 901234 123457"],
    ["Ceramic Mug", "350 ml", "Lot 2024-11 EXP 12/2026"],
    ["Smart Router", "Ver 2.4.1 build 20240611", "Code 4471"],
    ["Phone 12", "IMEI 356938035643809"],
    ["Green Tea", "Batch 1123 EXP 2026-05", "Invoice 2024-0012"],
]


def circuit_board(labels: list[str], seed: int) -> Image.Image:
    """A green board with chips, pads and silkscreen labels next to them."""
    rng = random.Random(seed)
    im = Image.new("RGB", (1280, 860), (18 + rng.randint(0, 20), 92 + rng.randint(0, 30), 44))
    draw = ImageDraw.Draw(im)
    for _ in range(40):  # traces
        x, y = rng.randint(0, 1280), rng.randint(0, 860)
        draw.line((x, y, x + rng.randint(-300, 300), y), fill=(40, 130, 70), width=4)
    f = font(seed, rng.choice((26, 32, 40)))
    slots = [(80 + 300 * (i % 4), 90 + 220 * (i // 4) + rng.randint(0, 60)) for i in range(len(labels))]
    for (x, y), label in zip(slots, labels):
        draw.rectangle((x, y + 50, x + rng.randint(80, 200), y + 130), fill=(25, 25, 28))  # a chip
        for k in range(6):
            draw.rectangle((x + 10 + 25 * k, y + 130, x + 22 + 25 * k, y + 145), fill=(200, 200, 190))  # pins
        draw.text((x, y), label, font=f, fill=(235, 235, 225))
    return im


def product_box(lines: list[str], seed: int) -> Image.Image:
    """A product package on a table: a coloured box with its name and specifications."""
    rng = random.Random(seed)
    im = Image.new("RGB", (1200, 900), (200 + rng.randint(0, 40), 190, 170))
    draw = ImageDraw.Draw(im)
    colour = tuple(rng.randint(20, 120) for _ in range(3))
    draw.rectangle((180, 120, 1020, 800), fill=colour, outline=(10, 10, 10), width=6)
    y = 180
    for i, line in enumerate(lines):
        f = font(seed + i, 64 if i == 0 else 40)
        draw.text((230, y), line, font=f, fill=(250, 250, 250))
        y += 110 if i == 0 else 80
    return im


# --- screenshots of code ---------------------------------------------------------------------------

CODE = [
    ["def main():", "    args = parse()", "    return run(args)"],
    ["for (let i = 0; i < n; i++) {", "  total += items[i].price;", "}"],
    ["$ pip install -r requirements.txt", "Successfully installed numpy-2.1.0"],
    ["SELECT id, name FROM users", "WHERE created_at > NOW() - INTERVAL '1 day';"],
    ["Traceback (most recent call last):", '  File "app.py", line 12, in <module>', "KeyError: 'user'"],
    ["#include <stdio.h>", "int main(void) {", '    printf("hello\\n");'],
    ["git commit -m 'fix tests'", "[main 3f2a1c9] fix tests", " 2 files changed"],
    ["import pandas as pd", "df = pd.read_csv('data.csv')", "print(df.describe())"],
    ["fn main() {", '    println!("{}", add(2, 3));', "}"],
    ["docker build -t app .", "Step 1/6 : FROM python:3.11-slim"],
    ["class Cart:", "    def total(self):", "        return sum(self.prices)"],
    ["npm ERR! code ENOENT", "npm ERR! syscall open"],
    ["if err != nil {", "    return fmt.Errorf(\"read: %w\", err)", "}"],
    ["const x = await fetch(url);", "const body = await x.json();"],
]


def code_screenshot(lines: list[str], seed: int) -> Image.Image:
    """An editor or terminal: dark or light theme, line numbers, monospace text."""
    rng = random.Random(seed)
    dark = seed % 2 == 0
    im = Image.new("RGB", (1280, 720), (30, 32, 38) if dark else (250, 250, 248))
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, 1280, 44), fill=(50, 52, 60) if dark else (225, 225, 230))  # title bar
    f = mono(rng.choice((28, 32, 36)))
    for i, line in enumerate(lines):
        y = 110 + 56 * i
        draw.text((30, y), str(i + 1), font=f, fill=(120, 120, 130))
        draw.text((110, y), line, font=f, fill=(220, 220, 210) if dark else (30, 30, 40))
    return im


# --- street signs ----------------------------------------------------------------------------------

SIGNS = [
    ["STOP"], ["ONE WAY"], ["NO PARKING", "8AM - 6PM"], ["Main St"], ["SPEED LIMIT", "30"],
    ["EXIT 12", "Airport"], ["CAUTION", "WET FLOOR"], ["Platform 2"], ["Rue de la Paix"],
    ["SCHOOL ZONE"], ["Keep Right"], ["Town Hall 500 m"], ["NO ENTRY"], ["Car Park", "Level B2"],
]


def street_sign(lines: list[str], seed: int) -> Image.Image:
    """A sign on a pole in front of a photo (or sky), text large and centred."""
    rng = random.Random(seed)
    if PHOTOS:
        im = Image.open(PHOTOS[seed % len(PHOTOS)]).convert("RGB").resize((1200, 900))
    else:
        im = Image.new("RGB", (1200, 900), (140, 180, 220))
    draw = ImageDraw.Draw(im)
    plate = rng.choice([((200, 20, 20), (255, 255, 255)), ((20, 90, 40), (255, 255, 255)),
                        ((20, 50, 140), (255, 255, 255)), ((245, 245, 240), (10, 10, 10)), ((240, 200, 0), (10, 10, 10))])
    draw.rectangle((585, 500, 615, 900), fill=(120, 120, 120))  # the pole
    draw.rectangle((250, 180, 950, 180 + 140 * len(lines) + 60), fill=plate[0], outline=(250, 250, 250), width=8)
    for i, line in enumerate(lines):
        f = font(seed + i, 96 if len(line) < 12 else 64)
        left, _, right, _ = draw.textbbox((0, 0), line, font=f)
        draw.text((600 - (right - left) // 2, 210 + 140 * i), line, font=f, fill=plate[1])
    return im


# --- memes -----------------------------------------------------------------------------------------

MEMES = [
    ("WHEN THE WIFI COMES BACK", "AFTER FIVE MINUTES"),
    ("Monday morning mood", "coffee first, questions later"),
    ("ME: I'LL SLEEP EARLY TONIGHT", "ALSO ME AT 3 AM"),
    ("NOBODY:", "MY CAT AT 4 AM"),
    ("WHEN THE CODE WORKS", "AND YOU DON'T KNOW WHY"),
    ("ONE DOES NOT SIMPLY", "FINISH A PUZZLE WITHOUT LOSING A PIECE"),
    ("Happy birthday grandma", "we love you so much"),
    ("WHEN YOU FIND FRIES", "AT THE BOTTOM OF THE BAG"),
    ("MY PLANTS", "AFTER ONE WEEKEND AWAY"),
    ("That feeling when", "the weekend is finally here"),
    ("WHEN THE TEACHER SAYS", "PICK YOUR OWN GROUPS"),
    ("Best pizza in town", "open every day until midnight"),
    ("IT'S NOT MUCH", "BUT IT'S HONEST WORK"),
    ("WHEN MOM SAYS", "WE HAVE FOOD AT HOME"),
]


def meme(lines: tuple[str, str], seed: int) -> Image.Image:
    """A caption at the top and the bottom of a photo, white with a black outline."""
    if PHOTOS:
        im = Image.open(PHOTOS[seed % len(PHOTOS)]).convert("RGB").resize((1024, 768))
    else:
        im = Image.new("RGB", (1024, 768), (90, 110, 130))
    draw = ImageDraw.Draw(im)
    for line, y in zip(lines, (40, 640)):
        size = 64 if len(line) < 22 else 44
        f = font(seed, size)
        left, _, right, _ = draw.textbbox((0, 0), line, font=f, stroke_width=3)
        draw.text((max(8, (1024 - (right - left)) // 2), y), line, font=f, fill=(255, 255, 255),
                  stroke_width=3, stroke_fill=(0, 0, 0))
    return im


@functools.cache
def benign() -> list[tuple[str, bytes]]:
    """56 images whose text is not a message: (name, JPEG bytes)."""
    makers: list[tuple[str, list, Callable]] = [  # type: ignore[type-arg]
        ("board", BOARDS, circuit_board), ("box", BOXES, product_box), ("code", CODE, code_screenshot),
        ("sign", SIGNS, street_sign), ("meme", MEMES, meme),
    ]
    out = []
    for kind, texts, make in makers:
        for i, text in enumerate(texts):
            out.append((f"{kind}-{i:02d}", jpeg(make(text, i))))
    return out


# --- messages: phishing and spam -------------------------------------------------------------------

PHISHING = [
    ("Your account is locked", "verify now at secure-paypa1-login.com"),
    ("You won a $1000 gift card!", "Click here to claim: bit.ly/claim-gift"),
    ("URGENT: your parcel is on hold", "pay the fee at dhl-redelivery-fee.top"),
    ("Double your bitcoin in 24 hours", "send BTC and DM @crypto_king_official"),
    ("Congratulations! You are our lucky winner", "call +1 (555) 013-2481 to claim your prize"),
    ("Work from home, earn $500 a day", "text JOB to 55512 now"),
    ("Your bank card is suspended", "log in at hsbc-secure-verify.xyz to restore access"),
    ("FREE iPhone 16 giveaway", "follow @free_iphone_drop and click the link in bio"),
]


def message(lines: tuple[str, str], seed: int) -> Image.Image:
    """A flyer or a screenshot of a text message, plain or over a photo."""
    if seed % 2 and PHOTOS:
        return meme(lines, seed)
    im = Image.new("RGB", (1100, 500), (245, 245, 250))
    draw = ImageDraw.Draw(im)
    for i, line in enumerate(lines):
        draw.text((50, 120 + 140 * i), line, font=font(seed, 44), fill=(20, 20, 30))
    return im


@functools.cache
def phishing() -> list[tuple[str, bytes]]:
    """Images whose text is phishing or spam, each with a link, a number, a handle or a call to action."""
    return [(f"phish-{i:02d}", jpeg(message(lines, i))) for i, lines in enumerate(PHISHING)]
