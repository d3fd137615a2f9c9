"""Media checks: image decoding within limits, and URL fetching that cannot reach private networks.

Images are made in memory with Pillow. Fetch tests talk only to a server on 127.0.0.1; every other
address must be refused before any connection is made.
"""

from __future__ import annotations

import io
import ipaddress
import socket
import struct
import threading
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

from tamis.config import Settings
from tamis.errors import ProblemError
from tamis.media import decode_image, fetch_url
from tamis.media import fetch as fetch_module
from tamis.media.images import WORKING_SIZE, allowed_formats

FIELD = "items[0].image"
LOOPBACK = ["127.0.0.1/32"]


def problem(call: Callable[[], object], status: int, field: str = FIELD) -> ProblemError:
    """Run call, expect a ProblemError with this status naming this field, and return it."""
    with pytest.raises(ProblemError) as info:
        call()
    assert info.value.status == status, info.value.detail
    assert info.value.field == field
    return info.value


def encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height greyscale pixels, with one tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (width + 1) * 4)  # a few rows of zeros; the rest is missing
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


# --- decode_image ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", allowed_formats())
def test_each_allowed_format_decodes(fmt: str) -> None:
    data = encode(Image.new("RGB", (64, 48), (200, 30, 30)), fmt)
    decoded = decode_image(data, field=FIELD)
    assert decoded.format == fmt
    assert (decoded.width, decoded.height) == (64, 48)
    assert decoded.image.mode == "RGB" and decoded.image.size == (64, 48)
    assert decoded.data == data
    r, g, b = decoded.image.getpixel((32, 24))
    assert r > 150 and g < 80 and b < 80


def test_format_comes_from_bytes_not_names() -> None:
    decoded = decode_image(encode(Image.new("RGB", (8, 8)), "PNG"), field=FIELD)
    assert decoded.format == "PNG"


def test_exif_orientation_is_applied() -> None:
    im = Image.new("RGB", (40, 20), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, 20, 20))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    decoded = decode_image(encode(im, "JPEG", exif=exif, quality=95), field=FIELD)
    assert (decoded.width, decoded.height) == (20, 40)
    assert decoded.image.size == (20, 40)
    # Clockwise rotation puts the left half on top.
    assert decoded.image.getpixel((10, 5))[0] > 200
    assert decoded.image.getpixel((10, 35))[2] > 200


def test_rgba_is_flattened_onto_white() -> None:
    im = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    im.putpixel((5, 5), (255, 0, 0, 255))
    decoded = decode_image(encode(im, "PNG"), field=FIELD)
    assert decoded.image.mode == "RGB"
    assert decoded.image.getpixel((0, 0)) == (255, 255, 255)
    assert decoded.image.getpixel((5, 5)) == (255, 0, 0)


def test_palette_transparency_is_flattened() -> None:
    im = Image.new("P", (10, 10), 0)
    im.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    im.putpixel((1, 1), 1)
    decoded = decode_image(encode(im, "GIF", transparency=0), field=FIELD)
    assert decoded.image.getpixel((0, 0)) == (255, 255, 255)
    assert decoded.image.getpixel((1, 1)) == (0, 255, 0)


def test_16_bit_greyscale_is_scaled_not_clipped() -> None:
    decoded = decode_image(encode(Image.new("I;16", (8, 8), 32768), "PNG"), field=FIELD)
    assert decoded.image.getpixel((0, 0)) == (127, 127, 127)


def test_animated_gif_uses_first_frame() -> None:
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    decoded = decode_image(data, field=FIELD)
    r, _, b = decoded.image.getpixel((8, 8))
    assert r > 200 and b < 50


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_working_copy_is_small_and_original_size_is_kept(fmt: str) -> None:
    data = encode(Image.new("RGB", (3000, 1000), (10, 120, 10)), fmt)
    decoded = decode_image(data, field=FIELD)
    assert (decoded.width, decoded.height) == (3000, 1000)
    assert max(decoded.image.size) == WORKING_SIZE
    assert decoded.image.size == (512, 171)


@pytest.mark.parametrize(
    "data",
    [
        b"just some text, not an image",
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF",
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
    ],
    ids=["text", "pdf", "svg"],
)
def test_non_image_bytes_are_unsupported(data: bytes) -> None:
    problem(lambda: decode_image(data, field=FIELD), 415)


def test_formats_we_do_not_accept_are_unsupported() -> None:
    # Pillow reads ICO and PPM, but they are not on the list: their parsers are not exposed.
    for fmt in ("ICO", "PPM"):
        problem(lambda: decode_image(encode(Image.new("RGB", (16, 16)), fmt), field=FIELD), 415)


def test_truncated_jpeg_is_invalid() -> None:
    im = Image.effect_noise((256, 256), 64).convert("RGB")
    data = encode(im, "JPEG")
    err = problem(lambda: decode_image(data[: len(data) // 2], field=FIELD), 422)
    assert err.detail.startswith("could not decode image")


def test_corrupt_png_is_invalid() -> None:
    data = bytearray(encode(Image.effect_noise((64, 64), 64), "PNG"))
    start = data.index(b"IDAT") + 4
    data[start + 10 : start + 200] = bytes(190)  # garble the compressed pixels
    err = problem(lambda: decode_image(bytes(data), field=FIELD), 422)
    assert err.detail.startswith("could not decode image")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow's own, expected here
def test_decompression_bomb_is_refused_before_decoding() -> None:
    data = png_with_header(10_000, 10_000)  # 1e8 pixels: above our limit, under Pillow's error
    assert len(data) < 1000
    started = time.perf_counter()
    err = problem(lambda: decode_image(data, field=FIELD), 413)
    assert time.perf_counter() - started < 1.0
    assert "10000x10000" in err.detail and "100000000" in err.detail


def test_huge_bomb_past_pillows_own_limit_is_413() -> None:
    started = time.perf_counter()
    problem(lambda: decode_image(png_with_header(30_000, 30_000), field=FIELD), 413)
    assert time.perf_counter() - started < 1.0


def test_pillow_bomb_warning_as_error_is_still_413() -> None:
    # Pillow warns above its own limit; where warnings are errors that must not become a 500.
    settings = Settings(max_image_pixels=10**9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        problem(lambda: decode_image(png_with_header(10_000, 10_000), field=FIELD, settings=settings), 413)


def test_pixel_limit_comes_from_settings() -> None:
    data = encode(Image.new("RGB", (2000, 1000)), "PNG")
    err = problem(lambda: decode_image(data, field=FIELD, settings=Settings(max_image_pixels=1_000_000)), 413)
    assert "2000000" in err.detail


def test_oversized_bytes_are_refused() -> None:
    data = encode(Image.effect_noise((64, 64), 64), "PNG")
    problem(lambda: decode_image(data, field=FIELD, settings=Settings(max_image_bytes=len(data) - 1)), 413)


def test_empty_bytes_are_invalid() -> None:
    problem(lambda: decode_image(b"", field="photo"), 422, field="photo")


# --- fetch_url: a real HTTP server on 127.0.0.1 --------------------------------------------------

IMAGE = encode(Image.new("RGB", (8, 8), (1, 2, 3)), "PNG")


class Handler(BaseHTTPRequestHandler):
    seen_hosts: list[str] = []

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        path = self.path
        Handler.seen_hosts.append(self.headers.get("Host", ""))
        port = self.server.server_address[1]
        if path == "/image.png":
            self.reply(200, IMAGE)
        elif path == "/relative":
            self.redirect("/image.png")
        elif path == "/to-other-loopback":
            self.redirect(f"http://127.0.0.2:{port}/image.png")
        elif path.startswith("/chain/"):
            left = int(path.rsplit("/", 1)[1])
            self.redirect(f"/chain/{left - 1}" if left > 0 else "/image.png")
        elif path == "/big":
            self.reply(200, b"x" * 10_000)
        elif path == "/big-no-length":
            self.send_response(200)
            self.end_headers()  # HTTP/1.0: the body ends when the connection closes
            self.wfile.write(b"x" * 10_000)
        elif path == "/slow":
            time.sleep(2)
            self.reply(200, IMAGE)
        elif path == "/gzip":
            self.reply(200, zlib.compress(IMAGE), {"Content-Encoding": "deflate"})
        else:
            self.reply(404, b"not here")

    def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_fetch_returns_the_body(server: str) -> None:
    assert fetch_url(f"{server}/image.png", field=FIELD, allowed_networks=LOOPBACK) == IMAGE


def test_fetch_then_decode(server: str) -> None:
    data = fetch_url(f"{server}/image.png", field=FIELD, allowed_networks=LOOPBACK)
    assert decode_image(data, field=FIELD).format == "PNG"


def test_fetch_allow_private_setting(server: str) -> None:
    assert fetch_url(f"{server}/image.png", field=FIELD, settings=Settings(fetch_allow_private=True)) == IMAGE


def test_relative_redirect_is_followed(server: str) -> None:
    assert fetch_url(f"{server}/relative", field=FIELD, allowed_networks=LOOPBACK) == IMAGE


def test_redirect_chain_within_limit(server: str) -> None:
    settings = Settings(fetch_max_redirects=3)
    assert fetch_url(f"{server}/chain/2", field=FIELD, settings=settings, allowed_networks=LOOPBACK) == IMAGE


def test_redirect_chain_over_limit_is_refused(server: str) -> None:
    settings = Settings(fetch_max_redirects=3)
    err = problem(lambda: fetch_url(f"{server}/chain/5", field=FIELD, settings=settings, allowed_networks=LOOPBACK), 422)
    assert "redirects" in err.detail


def test_redirect_to_a_forbidden_address_is_refused(server: str) -> None:
    err = problem(lambda: fetch_url(f"{server}/to-other-loopback", field=FIELD, allowed_networks=LOOPBACK), 422)
    assert "127.0.0.2" in err.detail and "loopback" in err.detail


@pytest.mark.parametrize(
    "url, why",
    [
        ("http://127.0.0.1/", "loopback"),
        ("http://10.0.0.1/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://100.64.0.1/", "CGNAT"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://2130706433/", "not resolve to a public address"),  # 127.0.0.1 spelled as an integer
        ("http://localhost/", "does not resolve to a public address"),  # a name: not told why
    ],
)
def test_private_addresses_are_refused_before_connecting(url: str, why: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_connections(*args: object, **kwargs: object) -> None:
        raise AssertionError("a refused URL must not be connected to")

    monkeypatch.setattr(socket, "create_connection", no_connections)
    err = problem(lambda: fetch_url(url, field="image_url"), 422, field="image_url")
    assert why in err.detail and "refused" in err.detail


def test_allowed_networks_are_exact(server: str) -> None:
    port = server.rsplit(":", 1)[1]
    problem(lambda: fetch_url(f"http://127.0.0.2:{port}/image.png", field=FIELD, allowed_networks=LOOPBACK), 422)


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/a.png", "not a url", "gopher://x/", "http:///nohost", ""]
)
def test_bad_schemes_and_non_urls_are_refused(url: str) -> None:
    problem(lambda: fetch_url(url, field=FIELD), 422)


def test_host_resolving_to_any_private_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def resolve(host: str, port: int, *args: object, **kwargs: object) -> list[tuple]:
        addresses = ["127.0.0.1", "10.0.0.1"]  # one public-looking answer is not enough
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    err = problem(lambda: fetch_url("http://images.example/a.png", field=FIELD, allowed_networks=LOOPBACK), 422)
    assert "refused" in err.detail


def test_a_refused_name_answers_like_a_missing_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """image_url must not work as a lookup tool for internal names: a name that resolves inside the
    network and one that does not resolve at all get the same answer, with no address in it."""
    def resolve(host: str, port: int, *args: object, **kwargs: object) -> list[tuple]:
        if host == "db.internal.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    inside = problem(lambda: fetch_url("http://db.internal.example/", field=FIELD), 422)
    missing = problem(lambda: fetch_url("http://nowhere.example/", field=FIELD), 422)
    assert "10.1.2.3" not in inside.detail and "private" not in inside.detail
    assert inside.detail.replace("db.internal.example", "HOST") == missing.detail.replace("nowhere.example", "HOST")


def test_connection_is_pinned_to_the_checked_address(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the name answers 127.0.0.1 when checked and 127.0.0.2 afterwards."""
    real_getaddrinfo = socket.getaddrinfo
    answers = iter(["127.0.0.1"])

    def resolve(host: str, port: int, *args: object, **kwargs: object) -> list[tuple]:
        if host == "images.example":
            address = next(answers, "127.0.0.2")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    port = server.rsplit(":", 1)[1]
    Handler.seen_hosts.clear()
    assert fetch_url(f"http://images.example:{port}/image.png", field=FIELD, allowed_networks=LOOPBACK) == IMAGE
    assert Handler.seen_hosts == [f"images.example:{port}"]


def test_body_over_the_limit_is_refused(server: str) -> None:
    settings = Settings(max_image_bytes=1000)
    for path in ("/big", "/big-no-length"):
        err = problem(lambda: fetch_url(server + path, field=FIELD, settings=settings, allowed_networks=LOOPBACK), 413)
        assert "1000" in err.detail


def test_not_found_is_invalid(server: str) -> None:
    err = problem(lambda: fetch_url(f"{server}/missing", field=FIELD, allowed_networks=LOOPBACK), 422)
    assert "404" in err.detail


def test_timeout_is_invalid(server: str) -> None:
    settings = Settings(fetch_timeout_s=0.3)
    started = time.perf_counter()
    err = problem(lambda: fetch_url(f"{server}/slow", field=FIELD, settings=settings, allowed_networks=LOOPBACK), 422)
    assert "timed out" in err.detail
    assert time.perf_counter() - started < 1.5


def test_compressed_bodies_are_refused(server: str) -> None:
    problem(lambda: fetch_url(f"{server}/gzip", field=FIELD, allowed_networks=LOOPBACK), 422)


def test_connection_refused_is_invalid(server: str) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    problem(lambda: fetch_url(f"http://127.0.0.1:{port}/", field=FIELD, allowed_networks=LOOPBACK), 422)


@pytest.mark.parametrize(
    "address, forbidden",
    [
        ("8.8.8.8", False),
        ("2606:4700:4700::1111", False),
        ("192.168.1.1", True),
        ("172.16.0.1", True),
        ("fc00::1", True),
        ("fe80::1", True),
        ("64:ff9b::a00:1", True),  # NAT64 for 10.0.0.1
        ("2002:a00:1::1", True),  # 6to4 for 10.0.0.1
        ("255.255.255.255", True),
        ("240.0.0.1", True),
    ],
)
def test_address_classification(address: str, forbidden: bool) -> None:
    assert (fetch_module._forbidden(ipaddress.ip_address(address)) is not None) is forbidden


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P"])
def test_larger_copy_of_an_opaque_image_equals_the_flattened_one(mode: str) -> None:
    """The larger copy skips compositing onto white for opaque RGB and grey pictures: same pixels."""
    from PIL import ImageOps
    from tamis.media.images import larger_copy

    rng = np.random.default_rng(3)
    im = Image.fromarray(rng.integers(0, 256, (700, 900, 3), dtype=np.uint8)).convert(mode)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    copy = larger_copy(decode_image(buf.getvalue(), field="image"))
    rgba = ImageOps.exif_transpose(Image.open(io.BytesIO(buf.getvalue()))).convert("RGBA")
    flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    flat.alpha_composite(rgba)
    assert copy is not None and copy.mode == "RGB" and copy.tobytes() == flat.convert("RGB").tobytes()


def _photo_bytes(size: tuple[int, int], fmt: str, mode: str = "RGB", orientation: int = 1) -> bytes:
    """Gradients with a tiled patch of noise (detail at every scale, cheap to make at 24 MP)."""
    rng = np.random.default_rng(size[0] + orientation)
    w, h = size
    x, y = np.arange(w, dtype=np.uint16)[None, :], np.arange(h, dtype=np.uint16)[:, None]
    base = np.stack(np.broadcast_arrays(x % 256, (y * 3) % 256, (x + y) % 256), axis=-1).astype(np.uint8)
    noise = np.tile(rng.integers(0, 40, (64, 64, 3), dtype=np.uint8), (h // 64 + 1, w // 64 + 1, 1))[:h, :w]
    im = Image.fromarray(base + noise).convert(mode)  # uint8 wraps around: still structure, still detail
    buf = io.BytesIO()
    if fmt == "JPEG":
        exif = Image.Exif()
        exif[0x0112] = orientation
        im.save(buf, fmt, exif=exif.tobytes())
    else:
        im.save(buf, fmt)
    return buf.getvalue()


@pytest.mark.parametrize(("size", "fmt", "mode", "orientation"), [
    ((640, 480), "JPEG", "RGB", 1),     # no draft either way
    ((4032, 3024), "JPEG", "RGB", 1),   # a 12-MP phone photo: both decodes at 1/2
    ((3024, 4032), "JPEG", "RGB", 6),   # the same, turned upright by EXIF
    ((4032, 3024), "JPEG", "L", 1),
    ((6000, 4000), "JPEG", "RGB", 1),   # the working copy decodes at 1/4, the larger copy at 1/2: decoded again
    ((1500, 900), "PNG", "RGBA", 1),
    ((1200, 800), "PNG", "P", 1),
    ((400, 300), "JPEG", "RGB", 1),     # no larger than the working copy: no larger copy
])
def test_the_larger_copy_decode_image_keeps_equals_a_second_decode(size, fmt: str, mode: str, orientation: int) -> None:
    """decode_image keeps the larger copy when its own decode is at the larger copy's scale; its pixels
    (and the working copy's) are those of decoding the bytes again, as larger_copy does otherwise."""
    from tamis.media import images

    data = _photo_bytes(size, fmt, mode, orientation)
    kept = decode_image(data, field="image")
    again = images._decode_larger(kept)
    reused = "larger" in kept.derived
    assert reused == (size not in ((6000, 4000), (400, 300)))
    copy = images.larger_copy(kept)
    assert (copy is None) == (again is None) == (max(size) <= images.WORKING_SIZE)
    if copy is not None:
        assert copy.size == again.size and copy.mode == again.mode == "RGB" and copy.tobytes() == again.tobytes()
    # the working copy is the one decode_image always made
    with Image.open(io.BytesIO(data)) as im:
        images._draft(im)
        im.load()
        assert kept.image.tobytes() == images._working_copy(im).tobytes()
