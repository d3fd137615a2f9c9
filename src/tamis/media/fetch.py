"""Fetching media by URL without letting the URL reach inside the operator's network (SSRF).

Every hop (the URL and each redirect) is checked the same way: http or https only, every address
the host resolves to must be public, and the connection goes to the address that was checked
(pinned), so DNS answering differently between the check and the connect changes nothing.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

import httpx

from tamis.config import Settings, get_settings
from tamis.errors import ProblemError, bad_input, too_large
from tamis.media.deadline import DeadlineTransport

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_SCHEMES = {"http": 80, "https": 443}
_REDIRECTS = {301, 302, 303, 307, 308}
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT; not is_private in Python
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # IPv6 addresses that a NAT64 gateway maps to IPv4
# Name resolution has no timeout of its own (the system resolver retries for tens of seconds, and
# the URL's owner may run a slow name server): it runs on these threads, and a fetch waits for it
# only until its deadline.
_resolver = ThreadPoolExecutor(max_workers=8, thread_name_prefix="tamis-dns")


@dataclass(frozen=True)
class _Target:
    url: httpx.URL  # as given, with the host name: redirects resolve against it
    host: str  # ASCII (IDNA) host name or IP literal
    port: int


def fetch_url(
    url: str,
    *,
    field: str,
    settings: Settings | None = None,
    allowed_networks: Sequence[str] = (),
) -> bytes:
    """GET url and return the body, refusing anything that could reach a private network.

    allowed_networks: CIDRs reachable even though private (tests use ["127.0.0.1/32"]).
    Every failure is a ProblemError naming field: 413 over max_image_bytes, 422 otherwise.
    """
    settings = settings or get_settings()
    allowed = _parse_networks(allowed_networks)
    deadline = time.monotonic() + settings.fetch_timeout_s
    # trust_env=False: no proxy from the environment (it would connect for us, past our checks), no .netrc.
    # The transport ends every connection at the deadline: connect, TLS, headers and body together.
    transport = DeadlineTransport(deadline)
    with httpx.Client(follow_redirects=False, trust_env=False, transport=transport) as client:
        for _ in range(settings.fetch_max_redirects + 1):
            target = _check_url(url, field)
            address = _resolve(target, field, settings, allowed, deadline)
            result = _get(client, target, address, field, settings, deadline)
            if isinstance(result, bytes):
                return result
            url = result  # a redirect: check and fetch the next hop
    raise bad_input(f"more than {settings.fetch_max_redirects} redirects", field)


def _parse_networks(cidrs: Sequence[str]) -> list[IPNetwork]:
    return [ipaddress.ip_network(c, strict=False) for c in cidrs]


def check_url(url: str | httpx.URL, field: str) -> _Target:
    """An http(s) URL with a host, or a 422 naming field (nothing is resolved yet)."""
    return _check_url(url, field)


def _check_url(url: str | httpx.URL, field: str) -> _Target:
    try:
        parsed = httpx.URL(url)
        host = parsed.raw_host.decode("ascii")
    except (httpx.InvalidURL, ValueError, TypeError) as e:
        raise bad_input(f"not a valid URL: {e}", field) from None
    if parsed.scheme not in _SCHEMES:
        raise bad_input(f"URL scheme must be http or https, not {parsed.scheme or 'missing'!r}", field)
    if not host:
        raise bad_input("URL has no host", field)
    return _Target(url=parsed, host=host, port=parsed.port or _SCHEMES[parsed.scheme])


def _resolve(
    target: _Target, field: str, settings: Settings, allowed: list[IPNetwork], deadline: float
) -> IPAddress:
    """Resolve the host and check every address it has; return the one to connect to."""
    lookup = _resolver.submit(resolve, target.host, target.port)
    try:
        addresses = lookup.result(timeout=max(deadline - time.monotonic(), 0))
    except FutureTimeout:
        raise _timed_out(settings, field) from None
    except (OSError, UnicodeError):
        raise _no_public_address(target, field) from None
    if not addresses:
        raise _no_public_address(target, field)
    if not settings.fetch_allow_private:
        for address in addresses:
            why = refusal(address, allowed)
            if why:
                raise _no_public_address(target, field, why)
    return addresses[0]


def _no_public_address(target: _Target, field: str, why: str | None = None) -> ProblemError:
    """One answer for a name that does not resolve and one that resolves inside the network: a caller
    must not learn what a name means to tamis's resolver. Only a literal address is told why."""
    if why and _is_literal(target.host):
        return bad_input(f"{target.host} is a {why} address: refused", field)
    return bad_input(f"host {target.host!r} does not resolve to a public address: refused", field)


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the host resolves to (raises OSError or UnicodeError when it does not)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]


def refusal(address: IPAddress, allowed: Sequence[IPNetwork] = ()) -> str | None:
    """Why the address must not be reached (None: public, or inside an allowed network)."""
    why = _forbidden(address)
    return None if why is None or any(address in net for net in allowed) else why


def _forbidden(address: IPAddress) -> str | None:
    """Why an address must not be reached, or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return _forbidden(embedded)
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("shared (CGNAT)", isinstance(address, ipaddress.IPv4Address) and address in _SHARED),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("non-public", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def pin(target: _Target, address: IPAddress) -> tuple[httpx.URL, str, dict[str, str]]:
    """The URL that connects to the checked address, its Host header, and the request extensions
    that check the certificate against the host name rather than the IP."""
    pinned = target.url.copy_with(host=str(address))
    name = f"[{target.host}]" if ":" in target.host else target.host  # IPv6 literals keep their brackets
    host_header = name if target.url.port is None else f"{name}:{target.port}"
    extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
    return pinned, host_header, extensions


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, NAT64, 6to4, Teredo), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def _get(
    client: httpx.Client,
    target: _Target,
    address: IPAddress,
    field: str,
    settings: Settings,
    deadline: float,
) -> bytes | httpx.URL:
    """One request to the pinned address: the body, or the next URL when redirected."""
    pinned, host_header, extensions = pin(target, address)
    # Images are compressed already; asking for identity keeps decompression bombs out.
    headers = {"Host": host_header, "Accept": "image/*", "Accept-Encoding": "identity"}
    try:
        with client.stream(
            "GET", pinned, headers=headers, extensions=extensions, timeout=_remaining(deadline)
        ) as response:
            if response.status_code in _REDIRECTS and "location" in response.headers:
                return target.url.join(response.headers["location"])
            if not response.is_success:
                raise bad_input(f"fetching the URL returned HTTP {response.status_code}", field)
            return _read_body(response, field, settings, deadline)
    except httpx.TimeoutException:
        raise _timed_out(settings, field) from None
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, OSError, ValueError) as e:
        if time.monotonic() >= deadline:  # the deadline's timer cut the connection
            raise _timed_out(settings, field) from None
        raise bad_input(f"could not fetch the URL: {type(e).__name__}: {e}", field) from None


def _timed_out(settings: Settings, field: str) -> ProblemError:
    return bad_input(f"fetching the URL timed out: the limit is {settings.fetch_timeout_s} s in all", field)


def _read_body(response: httpx.Response, field: str, settings: Settings, deadline: float) -> bytes:
    """Stream the body, stopping as soon as it passes the size limit or the deadline."""
    limit = settings.max_image_bytes
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding != "identity":
        raise bad_input(f"unsupported Content-Encoding {encoding!r} (identity was asked for)", field)
    length = response.headers.get("content-length")
    if length is not None and length.strip().isdigit() and int(length) > limit:
        raise too_large(f"the URL's body is {int(length)} bytes, the limit is {limit}", field)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_raw():
        size += len(chunk)
        if size > limit:
            raise too_large(f"the URL's body is over the limit of {limit} bytes", field)
        chunks.append(chunk)
        _remaining(deadline)  # a slow drip of bytes must not outlast the timeout
    return b"".join(chunks)


def _remaining(deadline: float) -> float:
    """Seconds left before the whole fetch times out."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpx.ReadTimeout("deadline passed")
    return left
