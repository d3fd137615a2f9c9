"""A corpus of malformed images and videos, made at test time from a few small valid seeds.

Everything is derived from `random.Random(seed)`, so a corpus (and a failure in it) is the same on
every run and machine. Each item is (name, bytes, kind): the name says how it was made, e.g.
`png/ihdr-size-2147483647x1`, `mp4/bitflip-17`, so a failure can be rebuilt with `corpus()`.

Mutations: truncations, bit flips, overwritten runs, another format's magic, and per format the
headers that lie (giant and zero sizes, chunk and atom lengths, EXIF loops and bloat, decompression
bombs, broken GIF/WebP/PNG chunks, MP4 atoms).
"""

from __future__ import annotations

import io
import os
import random
import struct
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image

MAGICS = {
    "jpeg": b"\xff\xd8\xff\xe0", "png": b"\x89PNG\r\n\x1a\n", "gif": b"GIF89a", "webp": b"RIFF\x00\x00\x00\x00WEBP",
    "bmp": b"BM", "tiff": b"II*\x00", "mp4": b"\x00\x00\x00\x18ftypisom", "mkv": b"\x1a\x45\xdf\xa3",
}


@dataclass(frozen=True)
class Sample:
    name: str
    data: bytes
    kind: str  # "image" or "video": which endpoints it is sent to


# --- seeds -------------------------------------------------------------------------------------------


def _picture(rng: random.Random, size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    pixels = np.random.default_rng(rng.randrange(2**32)).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    pixels[: size[1] // 2] //= 4  # some structure, so that encoders do not see pure noise
    return Image.fromarray(pixels).convert(mode)


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _video(rng: random.Random, fmt: str, codec: str, suffix: str) -> bytes:
    handle, path = tempfile.mkstemp(suffix=suffix)
    os.close(handle)
    try:
        with av.open(path, "w", format=fmt) as container:
            stream = container.add_stream(codec, rate=5)
            stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
            for _ in range(8):
                frame = av.VideoFrame.from_ndarray(np.asarray(_picture(rng, (64, 48))), format="rgb24")
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        return Path(path).read_bytes()
    finally:
        os.unlink(path)


def seeds(rng: random.Random) -> dict[str, tuple[bytes, str]]:
    """Small valid files, one per format: {format: (bytes, kind)}."""
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotated, so the EXIF path is taken
    exif[0x010E] = "seed"
    frames = [_picture(rng, (24, 24), "P") for _ in range(3)]
    return {
        "jpeg": (_save(_picture(rng, (48, 32)), "JPEG", quality=80, exif=exif), "image"),
        "png": (_save(_picture(rng, (40, 30), "RGBA"), "PNG"), "image"),
        "gif": (_save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=[50, 0, 200], loop=0), "image"),
        "webp": (_save(_picture(rng, (32, 32)), "WEBP", quality=70), "image"),
        "bmp": (_save(_picture(rng, (16, 12)), "BMP"), "image"),
        "tiff": (_save(_picture(rng, (16, 12)), "TIFF", compression="tiff_deflate"), "image"),
        "mp4": (_video(rng, "mp4", "libx264", ".mp4"), "video"),
        "webm": (_video(rng, "webm", "libvpx", ".webm"), "video"),
    }


# --- generic mutations -------------------------------------------------------------------------------


def truncations(data: bytes, rng: random.Random, n: int) -> Iterator[tuple[str, bytes]]:
    cuts = sorted({1, 2, 4, 8, 16, 32, len(data) - 1, *(rng.randrange(1, len(data)) for _ in range(n))})
    for cut in cuts[:n]:
        yield f"truncated-{cut}", data[:cut]


def bit_flips(data: bytes, rng: random.Random, n: int) -> Iterator[tuple[str, bytes]]:
    for i in range(n):
        mutated = bytearray(data)
        # Half the items flip bits in the first 64 bytes, where headers are; the rest anywhere.
        span = min(len(data), 64) if i % 2 == 0 else len(data)
        for _ in range(rng.choice((1, 1, 2, 4, 8, 32))):
            mutated[rng.randrange(span)] ^= 1 << rng.randrange(8)
        yield f"bitflip-{i}", bytes(mutated)


def overwrites(data: bytes, rng: random.Random, n: int) -> Iterator[tuple[str, bytes]]:
    for i in range(n):
        mutated = bytearray(data)
        start = rng.randrange(len(data))
        length = rng.choice((1, 4, 16, 256))
        mutated[start : start + length] = bytes([rng.choice((0x00, 0xFF, 0x7F, 0x80))]) * length
        yield f"overwrite-{i}", bytes(mutated)


def wrong_magic(data: bytes, own: str) -> Iterator[tuple[str, bytes]]:
    for fmt, magic in MAGICS.items():
        if fmt != own:
            yield f"magic-{fmt}", magic + data[len(magic) :]
    yield "magic-zeroed", bytes(8) + data[8:]
    yield "magic-only", MAGICS[own] if own in MAGICS else data[:8]


# --- format-specific lies ----------------------------------------------------------------------------

SIZES = (0, 1, 65535, 65536, 2**31 - 1, 2**32 - 1)


def _png_chunk(kind: bytes, body: bytes, *, crc: int | None = None) -> bytes:
    value = zlib.crc32(kind + body) if crc is None else crc
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", value & 0xFFFFFFFF)


def _png(width: int, height: int, idat: bytes, *, depth: int = 8, color: int = 0, extra: bytes = b"") -> bytes:
    ihdr = struct.pack(">IIBBBBB", width & 0xFFFFFFFF, height & 0xFFFFFFFF, depth, color, 0, 0, 0)
    return MAGICS["png"] + _png_chunk(b"IHDR", ihdr) + extra + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def png_lies() -> Iterator[tuple[str, bytes]]:
    row = zlib.compress(b"\x00" + b"\x80" * 4)
    for w in SIZES:
        for h in (0, 1, 65535, 2**31 - 1):
            yield f"ihdr-size-{w}x{h}", _png(w, h, row)
    yield "ihdr-bad-crc", MAGICS["png"] + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 1, 8, 0, 0, 0, 0), crc=0) + _png_chunk(b"IEND", b"")
    yield "ihdr-depth-3", _png(4, 1, row, depth=3)
    yield "ihdr-color-7", _png(4, 1, row, color=7)
    yield "chunk-length-huge", MAGICS["png"] + struct.pack(">I", 0x7FFFFFFF) + b"IHDR" + bytes(13)
    yield "no-idat", MAGICS["png"] + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 1, 8, 0, 0, 0, 0)) + _png_chunk(b"IEND", b"")
    yield "idat-not-zlib", _png(4, 1, b"not zlib at all")
    yield "plte-in-greyscale", _png(4, 1, row, extra=_png_chunk(b"PLTE", bytes(3 * 300)))
    yield "text-chunks-many", _png(4, 1, row, extra=b"".join(_png_chunk(b"tEXt", b"k\x00" + b"v" * 100) for _ in range(2000)))
    yield "iccp-bomb", _png(4, 1, row, extra=_png_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(bytes(50_000_000), 9)))
    yield "ztxt-bomb", _png(4, 1, row, extra=_png_chunk(b"zTXt", b"k\x00\x00" + zlib.compress(bytes(50_000_000), 9)))
    # Decompression bombs: a few hundred KB of zlib that stand for 100 M and 49 M pixels.
    yield "bomb-10000x10000", _png(10_000, 10_000, zlib.compress(bytes(10_001 * 10_000), 9))
    yield "bomb-7000x7000", _png(7_000, 7_000, zlib.compress(bytes(7_001 * 7_000), 9))
    yield "bomb-idat-overlong", _png(4, 1, zlib.compress(bytes(20_000_000), 9))
    # APNG: an animation control chunk that promises more frames than there are.
    actl = _png_chunk(b"acTL", struct.pack(">II", 2**31 - 1, 0))
    yield "apng-frames-lie", _png(4, 1, row, extra=actl)


def _jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, payload) up to the start of scan; the rest as marker 0xDA with everything after."""
    out, i = [], 2
    while i + 4 <= len(data):
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker == 0xDA:
            out.append((marker, data[i + 2 :]))
            break
        out.append((marker, data[i + 4 : i + 2 + length]))
        i += 2 + length
    return out


def _jpeg(segments: list[tuple[int, bytes]]) -> bytes:
    parts = [b"\xff\xd8"]
    for marker, payload in segments:
        if marker == 0xDA:
            parts.append(b"\xff\xda" + payload)
        else:
            parts.append(bytes([0xFF, marker]) + struct.pack(">H", min(len(payload) + 2, 0xFFFF)) + payload)
    return b"".join(parts)


def _tiff_ifd(entries: list[tuple[int, int, int, int]], next_ifd: int) -> bytes:
    return struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries) + struct.pack("<I", next_ifd)


def _exif(ifd: bytes) -> bytes:
    return b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + ifd


def jpeg_lies(seed: bytes) -> Iterator[tuple[str, bytes]]:
    segments = _jpeg_segments(seed)
    sof = next(i for i, (m, _) in enumerate(segments) if m in (0xC0, 0xC1, 0xC2))
    for w in (0, 1, 65535):
        for h in (0, 1, 65535):
            payload = bytearray(segments[sof][1])
            payload[1:5] = struct.pack(">HH", h, w)
            changed = list(segments)
            changed[sof] = (segments[sof][0], bytes(payload))
            yield f"sof-size-{w}x{h}", _jpeg(changed)
    no_exif = [s for s in segments if s[0] != 0xE1]
    lies = {
        # An IFD whose next-IFD offset points back at itself, and one whose ExifIFD pointer does.
        "exif-ifd-loop": _exif(_tiff_ifd([(0x0112, 3, 1, 6)], 8)),
        "exif-subifd-loop": _exif(_tiff_ifd([(0x8769, 4, 1, 8)], 0)),
        # Thousands of entries, each claiming 2**30 values far past the segment's end.
        "exif-entries-lie": _exif(_tiff_ifd([(0x0100 + i, 4, 2**30, 0x7FFFFFFF) for i in range(4000)], 0)),
        # GPS and Interop pointers nested into each other.
        "exif-nested-pointers": _exif(_tiff_ifd([(0x8825, 4, 1, 26), (0xA005, 4, 1, 8)], 8)),
        "exif-orientation-99": _exif(_tiff_ifd([(0x0112, 3, 1, 99)], 0)),
        "exif-bad-byte-order": b"Exif\x00\x00XX*\x00" + bytes(64),
        "exif-64k-of-ones": b"Exif\x00\x00" + b"\xff" * 65_000,
    }
    for name, app1 in lies.items():
        yield name, _jpeg([no_exif[0], (0xE1, app1), *no_exif[1:]])
    yield "exif-repeated-300", _jpeg([no_exif[0], *[(0xE1, lies["exif-entries-lie"][:60_000])] * 300, *no_exif[1:]])
    yield "no-sof", _jpeg([s for s in segments if s[0] not in (0xC0, 0xC1, 0xC2)])
    yield "no-huffman", _jpeg([s for s in segments if s[0] != 0xC4])
    yield "no-quant", _jpeg([s for s in segments if s[0] != 0xDB])
    yield "sos-only", b"\xff\xd8" + b"\xff\xda" + segments[-1][1]
    yield "segment-length-short", seed[:4] + b"\x00\x01" + seed[6:]
    yield "markers-only", b"\xff\xd8" + b"\xff" * 10_000 + b"\xd9"


def gif_lies(seed: bytes) -> Iterator[tuple[str, bytes]]:
    for w, h in ((0, 0), (65535, 65535), (1, 65535), (65535, 1)):
        yield f"screen-{w}x{h}", seed[:6] + struct.pack("<HH", w, h) + seed[10:]
    descriptor = seed.find(b"\x2c")  # the first image descriptor
    if descriptor > 0:
        for w, h in ((65535, 65535), (0, 0)):
            mutated = bytearray(seed)
            mutated[descriptor + 5 : descriptor + 9] = struct.pack("<HH", w, h)
            yield f"frame-{w}x{h}", bytes(mutated)
        for code_size in (0, 1, 12, 255):
            mutated = bytearray(seed)
            mutated[descriptor + 10] = code_size  # LZW minimum code size after a descriptor without local table
            yield f"lzw-code-size-{code_size}", bytes(mutated)
    header = seed[: descriptor if descriptor > 0 else 13]
    frame = b"\x21\xf9\x04\x00\x00\x00\x00\x00" + b"\x2c" + struct.pack("<HHHH", 0, 0, 1, 1) + b"\x00\x02\x02\x44\x01\x00"
    yield "frames-5000-of-1px", header + frame * 5000 + b"\x3b"
    yield "no-trailer", seed.rstrip(b"\x3b")
    yield "extension-unterminated", seed[:13] + b"\x21\xff\x0bNETSCAPE2.0" + b"\x03\x01" * 1000


def _riff(fourcc: bytes, body: bytes, size: int | None = None) -> bytes:
    return b"RIFF" + struct.pack("<I", (len(body) + 4) if size is None else size) + fourcc + body


def webp_lies(seed: bytes) -> Iterator[tuple[str, bytes]]:
    body = seed[12:]
    for size in (0, 4, 2**32 - 1):
        yield f"riff-size-{size}", _riff(b"WEBP", body, size)
    for w, h in ((1, 1), (2**24, 2**24), (2**24, 1)):
        vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x10\x00\x00\x00" + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
        yield f"vp8x-canvas-{w}x{h}", _riff(b"WEBP", vp8x + body)
    yield "chunk-size-huge", _riff(b"WEBP", body[:4] + struct.pack("<I", 0x7FFFFFF0) + body[8:])
    yield "anim-no-frames", _riff(b"WEBP", b"VP8X" + struct.pack("<I", 10) + b"\x02" + bytes(3) + bytes(6) + b"ANIM" + struct.pack("<I", 6) + bytes(6))
    anmf = b"ANMF" + struct.pack("<I", 16 + len(body)) + bytes(6) + (2**24 - 1).to_bytes(3, "little") * 2 + bytes(4) + body
    yield "anmf-frame-huge", _riff(b"WEBP", b"VP8X" + struct.pack("<I", 10) + b"\x02" + bytes(3) + bytes(6) + b"ANIM" + struct.pack("<I", 6) + bytes(6) + anmf)
    yield "vp8l-garbage", _riff(b"WEBP", b"VP8L" + struct.pack("<I", 64) + b"\x2f" + bytes(63))


def bmp_lies(seed: bytes) -> Iterator[tuple[str, bytes]]:
    for w, h in ((0, 0), (2**31 - 1, 1), (1, -(2**31)), (65535, 65535), (-5, 5)):
        yield f"dib-size-{w}x{h}", seed[:18] + struct.pack("<ii", w, h) + seed[26:]
    for bpp in (0, 3, 64, 65535):
        yield f"bpp-{bpp}", seed[:28] + struct.pack("<H", bpp) + seed[30:]
    yield "pixel-offset-huge", seed[:10] + struct.pack("<I", 0xFFFFFFF0) + seed[14:]
    yield "dib-header-size-huge", seed[:14] + struct.pack("<I", 0x7FFFFFFF) + seed[18:]


def tiff_lies() -> Iterator[tuple[str, bytes]]:
    header = b"II*\x00" + struct.pack("<I", 8)
    strips = (0x0111, 4, 1, 200)
    for w, h in ((0, 0), (2**31, 2**31), (65535, 65535), (1, 2**32 - 1)):
        entries = [(0x0100, 4, 1, w & 0xFFFFFFFF), (0x0101, 4, 1, h & 0xFFFFFFFF), (0x0102, 3, 1, 8), (0x0106, 3, 1, 1), strips,
                   (0x0115, 3, 1, 1), (0x0117, 4, 1, 16)]
        yield f"size-{w}x{h}", header + _tiff_ifd(entries, 0) + bytes(64)
    yield "ifd-loop", header + _tiff_ifd([(0x0100, 4, 1, 4), (0x0101, 4, 1, 4)], 8)
    yield "strip-counts-lie", header + _tiff_ifd([(0x0100, 4, 1, 4), (0x0101, 4, 1, 4), (0x0111, 4, 2**30, 8), (0x0117, 4, 2**30, 8)], 0)
    yield "compression-unknown", header + _tiff_ifd([(0x0100, 4, 1, 4), (0x0101, 4, 1, 4), (0x0103, 3, 1, 60000), strips], 0) + bytes(300)
    yield "ifd-offset-past-end", b"II*\x00" + struct.pack("<I", 0xFFFFFFF0)
    yield "ifd-entries-65535", header + struct.pack("<H", 65535) + bytes(100)


def _atoms(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[int, int, bytes]]:
    """(offset, size, type) of the atoms in data[start:end] (one level)."""
    end = len(data) if end is None else end
    out, i = [], start
    while i + 8 <= end:
        size, kind = struct.unpack(">I4s", data[i : i + 8])
        if size < 8:
            break
        out.append((i, size, kind))
        i += size
    return out


def _find(data: bytes, path: list[bytes]) -> tuple[int, int] | None:
    start, end = 0, len(data)
    found = None
    for kind in path:
        match = next(((o, s) for o, s, k in _atoms(data, start, end) if k == kind), None)
        if match is None:
            return None
        found = match
        start, end = match[0] + 8, match[0] + match[1]
    return found


def mp4_lies(seed: bytes) -> Iterator[tuple[str, bytes]]:
    top = _atoms(seed)
    for offset, size, kind in top:
        name = kind.decode("latin-1")
        for lie in (0, 1, 7, 0xFFFFFFFF, size + 1, size - 1):
            yield f"{name}-size-{lie}", seed[:offset] + struct.pack(">I", lie) + seed[offset + 4 :]
        yield f"without-{name}", seed[:offset] + seed[offset + size :]
        yield f"largesize-{name}", seed[:offset] + struct.pack(">I4sQ", 1, kind, 2**63 - 1) + seed[offset + 8 :]
    yield "atoms-reversed", b"".join(seed[o : o + s] for o, s, _ in reversed(top))
    moov = _find(seed, [b"moov"])
    if moov is not None:
        inner = seed[moov[0] : moov[0] + moov[1]]
        nested = inner
        for _ in range(200):  # moov inside moov, 200 deep
            nested = struct.pack(">I4s", len(nested) + 8, b"moov") + nested
        yield "moov-nested-200", seed[: moov[0]] + nested + seed[moov[0] + moov[1] :]
        yield "moov-twice", seed + inner
    for path, field_at, values in (
        ([b"moov", b"trak", b"tkhd"], 8 + 76, (0xFFFFFFFF, 0)),  # width (16.16 fixed point)
        ([b"moov", b"trak", b"mdia", b"mdhd"], 8 + 12, (0, 0xFFFFFFFF)),  # timescale
        ([b"moov", b"trak", b"mdia", b"mdhd"], 8 + 16, (0xFFFFFFFF,)),  # duration
        ([b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsz"], 8 + 8, (0xFFFFFFFF, 0x10000000)),  # sample count
        ([b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stco"], 8 + 4, (0xFFFFFFFF,)),  # chunk offsets count
        ([b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stts"], 8 + 4, (0xFFFFFFFF,)),  # time-to-sample count
        ([b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd"], 8 + 4, (0xFFFFFFFF, 0)),  # sample descriptions
    ):
        found = _find(seed, path)
        if found is None:
            continue
        for value in values:
            at = found[0] + field_at
            yield f"{path[-1].decode()}-{field_at}-{value}", seed[:at] + struct.pack(">I", value) + seed[at + 4 :]
    avc = seed.find(b"avcC")
    if avc > 0:
        yield "avcc-garbage", seed[: avc + 4] + bytes(range(256))[:64] + seed[avc + 68 :]
        for width, height in ((0, 0), (65535, 65535)):
            avc1 = seed.find(b"avc1")
            at = avc1 + 4 + 24
            yield f"avc1-size-{width}x{height}", seed[:at] + struct.pack(">HH", width, height) + seed[at + 4 :]


def mkv_lies(seed: bytes) -> Iterator[tuple[str, bytes]]:
    yield "ebml-size-unknown", seed[:4] + b"\x01\xff\xff\xff\xff\xff\xff\xff" + seed[12:]
    yield "ebml-size-zero", seed[:4] + b"\x80" + seed[5:]
    segment = seed.find(b"\x18\x53\x80\x67")
    if segment > 0:
        yield "segment-size-huge", seed[: segment + 4] + b"\x01\x00\xff\xff\xff\xff\xff\xff" + seed[segment + 12 :]
    for element, name in ((b"\xb0", "pixel-width"), (b"\xba", "pixel-height")):
        at = seed.find(element + b"\x82")
        if at > 0:
            for value in (0, 65535):
                yield f"{name}-{value}", seed[: at + 2] + struct.pack(">H", value) + seed[at + 4 :]


# --- the corpus ----------------------------------------------------------------------------------------

LIES: dict[str, Callable[[bytes], Iterator[tuple[str, bytes]]]] = {
    "png": lambda seed: png_lies(), "jpeg": jpeg_lies, "gif": gif_lies, "webp": webp_lies, "bmp": bmp_lies,
    "tiff": lambda seed: tiff_lies(), "mp4": mp4_lies, "webm": mkv_lies,
}


def corpus(seed: int = 10, per_seed: int = 120) -> list[Sample]:
    """The whole corpus: per valid seed file `per_seed` generic mutations, then the format's lies."""
    rng = random.Random(seed)
    samples = []
    for fmt, (data, kind) in seeds(rng).items():
        n = per_seed // 4
        made = [*truncations(data, rng, n), *bit_flips(data, rng, 2 * n), *overwrites(data, rng, n),
                *wrong_magic(data, fmt), *LIES[fmt](data)]
        samples += [Sample(f"{fmt}/{name}", blob, kind) for name, blob in made if blob]
    return samples
