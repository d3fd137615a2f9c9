"""MD5 and SHA-256 of media bytes, for exact matches against hash lists."""

from __future__ import annotations

import hashlib
import re

_HEX = re.compile(r"[0-9a-f]+")


def md5_hex(data: bytes) -> str:
    """MD5 of the bytes, 32 lowercase hex digits (hash lists still exchange MD5; not for security)."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def sha256_hex(data: bytes) -> str:
    """SHA-256 of the bytes, 64 lowercase hex digits."""
    return hashlib.sha256(data).hexdigest()


def validate_md5(value: str) -> str:
    """The digest as 32 lowercase hex digits, or ValueError saying what is wrong."""
    return _validate(value, "an MD5 digest", 32)


def validate_sha256(value: str) -> str:
    """The digest as 64 lowercase hex digits, or ValueError saying what is wrong."""
    return _validate(value, "a SHA-256 digest", 64)


def _validate(value: str, what: str, length: int) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} is a string of {length} hex digits, got {type(value).__name__}")
    text = value.strip().lower()
    shown = repr(value if len(value) <= 80 else value[:77] + "...")
    if len(text) != length:
        raise ValueError(f"{what} has {length} hex digits, got {len(text)}: {shown}")
    if not _HEX.fullmatch(text):
        raise ValueError(f"{what} has only hex digits (0-9, a-f): {shown}")
    return text
