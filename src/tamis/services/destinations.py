"""Where webhooks may go: the image-URL rule of `tamis.media.fetch`, applied to a project's URL.

http(s) only; every address the host resolves to must be public (no private, loopback, link-local
and so metadata, shared, multicast, reserved or unspecified addresses) unless it lies in one of the
operator's TAMIS_WEBHOOK_ALLOW_NETWORKS; and never tamis's own listening port on this machine. The
rule is checked when a webhook is registered and again before every attempt, after DNS, and the
attempt connects to the address that was checked (a DNS answer that changes in between, "DNS
rebinding", changes nothing).

Projects only ever learn that a destination was refused, never why: the addresses a name resolves
to inside the operator's network are not theirs to see.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from tamis.config import IPNetwork
from tamis.errors import ProblemError, bad_input
from tamis.media import fetch

log = logging.getLogger("tamis.services.webhooks")

REGISTRATION_LOOKUP_S = 5.0
_registration_lookups = ThreadPoolExecutor(max_workers=4, thread_name_prefix="tamis-webhook-dns")

# Ports `tamis serve` listens on in this process (filled at start): a webhook must not call tamis.
LISTENING_PORTS: set[int] = set()

REFUSED_DETAIL = (
    "webhook destinations must resolve only to public addresses (not private, loopback, link-local "
    "or reserved ones, nor tamis itself); the operator can allow networks with TAMIS_WEBHOOK_ALLOW_NETWORKS"
)


class RefusedDestination(Exception):
    """The URL may not be called. The message is for the operator's log, never for the project."""


@dataclass(frozen=True)
class Destination:
    """A checked URL and the address to connect to (pinned)."""

    url: httpx.URL
    pinned: httpx.URL
    host_header: str
    extensions: dict[str, str]


def check(url: str, allowed: Sequence[IPNetwork]) -> Destination:
    """Resolve and check url; RefusedDestination if any of its addresses is out of bounds."""
    try:
        target = fetch.check_url(url, "url")
    except ProblemError as e:
        raise RefusedDestination(e.detail) from None
    try:
        addresses = fetch.resolve(target.host, target.port)
    except (OSError, UnicodeError) as e:
        raise RefusedDestination(f"could not resolve the host: {type(e).__name__}") from None
    if not addresses:
        raise RefusedDestination("the host has no address")
    for address in addresses:
        why = fetch.refusal(address, allowed)
        if why:
            raise RefusedDestination(f"the host resolves to a {why} address")
        if target.port in LISTENING_PORTS and _is_this_machine(address):
            raise RefusedDestination("the URL is tamis's own listening port")
    pinned, host_header, extensions = fetch.pin(target, addresses[0])
    return Destination(target.url, pinned, host_header, extensions)


def check_registration(url: str, allowed: Sequence[IPNetwork], project: str) -> None:
    """A 422 naming `url` when the URL may not be registered (the reason goes to the log only).

    The lookup runs in a small pool of its own under a deadline: names whose DNS never answers
    cannot hold the API's request threads."""
    try:
        _registration_lookups.submit(check, url, allowed).result(timeout=REGISTRATION_LOOKUP_S)
    except (RefusedDestination, TimeoutError) as e:
        log.info("webhook URL refused for project %s: %s", project, str(e) or "DNS did not answer in time")
        raise bad_input(REFUSED_DETAIL, "url") from None


def _is_this_machine(address: fetch.IPAddress) -> bool:
    """True for an address of one of this machine's interfaces (it can be bound to)."""
    if address.is_loopback or address.is_unspecified:
        return True
    family = socket.AF_INET6 if isinstance(address, ipaddress.IPv6Address) else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((str(address), 0))
        return True
    except OSError:
        return False
