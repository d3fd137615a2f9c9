"""Media: decoding images within size and pixel limits, and fetching URLs without reaching private networks."""

from tamis.media.fetch import fetch_url
from tamis.media.images import decode_image

__all__ = ["decode_image", "fetch_url"]
