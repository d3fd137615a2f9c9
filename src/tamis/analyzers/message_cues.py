"""Is text read in an image a message to its viewer? Spam and scam need a way to reach someone: a
link, a QR code, a phone number, a handle (or e-mail address) or an explicit call to action.

Text models read short fragments (component labels, lot numbers, a barcode's digits, part numbers,
signage) as spam or scam codes: "LOT 240611" scores spam 0.89 on its own. Those fragments are no
message, so tamis.analyzers.image_text keeps spam and scam from read text only when `cue` finds one of these.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
import regex

from tamis.schema import DecodedImage
from tamis.analyzers.links.urls import find_links
from tamis.media.codes import read_codes

# Regions whose national numbering plans a number written without its +country prefix is checked
# against (phonenumbers' VALID leniency: the number must exist in the plan, so serials, lot numbers
# and barcodes' digits do not pass). A number written with its + prefix is checked in every plan.
PHONE_REGIONS = ("US", "GB", "FR", "DE", "ES", "IT", "NL", "BE", "CA", "AU", "IN", "BR", "MX")

# @name or name@domain: someone to write to.
_HANDLE = regex.compile(r"(?<![\w@])@[\p{L}\p{N}_][\p{L}\p{N}_.]{1,29}|[\w.+-]+@[\w-]+\.[\w.-]+")

# Imperatives that tell the viewer to do something: reach out, go somewhere, pay, claim (en, fr, es, de).
_ACTION = regex.compile(
    r"\b(?:"
    r"click|tap\s+(?:here|now|the|to)|scan\s+(?:me|this|here|now|the|to)|swipe\s+up|link\s+in\s+(?:bio|profile)"
    r"|call\s+(?:now|us|me|today|toll|free|\+?\d)|text\s+(?:us|me|now|\p{Lu}{2,}\s+to)|dm\s+(?:me|us|now)"
    r"|message\s+(?:me|us)|contact\s+(?:me|us)|whats\s?app|telegram|signal\s+me"
    r"|visit|sign\s+up|register\s+(?:now|today|here)|subscribe|follow\s+(?:me|us|@)|log\s?in\s+(?:at|to|here|now)"
    r"|verify\s+(?:now|your|here|at)|confirm\s+your|update\s+your\s+(?:account|payment|details)"
    r"|buy\s+now|order\s+now|shop\s+now|book\s+now|apply\s+now|act\s+now|join\s+(?:now|us|today)"
    r"|claim|redeem|send\s+(?:me|us|money|btc|bitcoin|eth|crypto|\$|€|£)|pay\s+(?:the|now|here|at)"
    r"|download\s+(?:now|the|our|here)|install\s+(?:now|the|our)|reply\s+(?:now|yes|stop|with)"
    r"|cliquez|appelez|scannez|visitez|inscrivez|abonnez|achetez|commandez|réclamez|téléchargez|contactez"
    r"|envoyez|rejoignez|haz\s+clic|llama|escanea|visita|reclama|descarga|klicken|rufen\s+sie|besuchen"
    r")\b",
    regex.IGNORECASE,
)


def cue(text: str, image: DecodedImage | None = None) -> str | None:
    """What makes `text` (read in `image`) a message: "link", "phone", "handle", "call to action" or
    "qr code"; None when it carries none of them."""
    if find_links(text):
        return "link"
    if _HANDLE.search(text):
        return "handle"
    if _ACTION.search(text):
        return "call to action"
    if has_phone_number(text):
        return "phone"
    if image is not None and any(code.is_qr for code in read_codes(image, large=False)):
        return "qr code"
    return None


@lru_cache(maxsize=4096)
def has_phone_number(text: str) -> bool:
    """A number that exists in a numbering plan: with its + prefix in any, without it in PHONE_REGIONS'."""
    return any(
        True for region in PHONE_REGIONS
        for _ in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
    )
