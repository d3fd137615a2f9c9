"""Links in text: found (with or without a scheme, defanged or not), normalised, and split into domains.

Spam writes links every way a person might type them: `https://x.com/a`, `www.x.io`, `x.com/a`,
and defanged `hxxp://x[.]com` to slip past filters. Text is also full of false friends: "e.g.",
"file.txt", "v1.2.3", "setup.py", "ASP.NET". A schemeless candidate counts only when its last label
is a real top-level domain in the Public Suffix List (the `publicsuffixlist` package's bundled copy:
offline, never fetched), and names that are also common file extensions (.zip, .py, .md, .mov...)
count only with more evidence (a scheme, `www.` or a path).

Hosts are given in ASCII (punycode), so that a homograph (`аpple.com` with a Cyrillic а) shows as
`xn--pple-43d.com`, and in Unicode for display.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, unquote

import idna
import regex
from publicsuffixlist import PublicSuffixList

# --- defanged forms -------------------------------------------------------------------------------

# Each defanged spelling and what it stands for. Replaced before matching, with an offset map back
# to the original text so that evidence points at what the user wrote.
_DEFANG = regex.compile(
    r"(?P<dot>\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\{dot\})"
    r"|(?P<colon>\[:\])"
    r"|(?P<scheme>\bh(?:xx|XX|tt)p(?P<s>s?)(?=(?:\[:\]|:)//))",
    regex.IGNORECASE,
)


def _refang(text: str) -> tuple[str, list[int]]:
    """The text with defanged spellings restored, and each of its characters' offset in `text`."""
    out: list[str] = []
    where: list[int] = []
    last = 0
    for m in _DEFANG.finditer(text):
        out.append(text[last : m.start()])
        where.extend(range(last, m.start()))
        if m.group("dot"):
            replacement = "."
        elif m.group("colon"):
            replacement = ":"
        else:
            replacement = "http" + m.group("s")
        out.append(replacement)
        # every replacement character maps to the start of what it replaces; the end maps past it
        where.extend([m.start()] * len(replacement))
        last = m.end()
    out.append(text[last:])
    where.extend(range(last, len(text) + 1))  # + the end position
    return "".join(out), where


# --- candidates -----------------------------------------------------------------------------------

# Host characters: letters and digits, but not CJK, whose text runs into URLs with no space
# ("访问example.com获取"); IDN labels in Han/Kana/Hangul are rare in spam, such text is common.
_CJK = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}"
_HC = rf"[[\p{{L}}\p{{N}}\p{{M}}]--[{_CJK}]]"
_HC_HYPHEN = rf"[[\p{{L}}\p{{N}}\p{{M}}\-]--[{_CJK}]]"
_LABEL = rf"{_HC}(?:{_HC_HYPHEN}{{0,61}}{_HC})?"
_CANDIDATE = regex.compile(
    rf"""
    (?<!{_HC}|[_@.\-/:%])                               # not inside a word, an e-mail or a path
    (?:(?P<scheme>https?|ftp)://(?P<userinfo>[^\s/@?#]{{1,64}}@)?)?
    (?P<host>
        (?:{_LABEL}\.){{1,20}}(?P<tld>[[\p{{L}}]--[{_CJK}]][[\p{{L}}\p{{M}}]--[{_CJK}]]{{1,62}}|xn--[a-z0-9\-]{{1,59}})
      | \d{{1,3}}(?:\.\d{{1,3}}){{3}}                      # IPv4
      | \[[0-9a-f:.]{{2,45}}\]                          # IPv6 (only after a scheme, see below)
    )
    (?!{_HC}|[\-_@])
    (?::(?P<port>\d{{1,5}}))?
    (?P<rest>[/?#][^\s<>"'`{{}}|\\^]*)?
    """,
    regex.VERBOSE | regex.IGNORECASE | regex.V1,
)

# TLDs that are also common file extensions or abbreviations: "setup.py", "notes.md", "clip.mov",
# "archive.zip", "run.sh". Without a scheme, www. or a path they are read as file names.
FILE_LIKE_TLDS = frozenset(
    "zip mov py rs md sh so ps pm am ac mk tf cs ts js mp ml pl cc ai rar gz".split()
)

# Bare in text (no scheme, no www., no path), a host counts only under a country-code TLD or one of
# the generic TLDs that sites (and spammers) actually use: SMS and chat text is full of
# "tomorrow.call", "ah.now", "SAT.LOVE" (two words, a missing space), and .call, .now and .love
# are real brand TLDs with next to no sites.
COMMON_GENERIC_TLDS = frozenset(
    """com net org info biz edu gov mil int mobi name pro aero coop asia tel travel jobs cat
    xyz top online site club shop store app dev live vip icu cyou buzz life fun link click work tech
    space website win bid loan men racing review stream download party trade date faith science
    cricket accountant gdn monster rest bar best ltd news blog page cloud digital email support
    services help center network solutions agency company group finance money cash lol mom sbs cfd
    quest beauty pics tokyo london nyc berlin paris wiki media social games art design studio
    academy education events global host hosting one plus pw run ink zone today""".split()
)

# Country codes that are also short English words: bare, after a short word ("ok.no", "this.is",
# "me.to"), they are two words missing a space far more often than a site's name.
WORD_CCTLDS = frozenset("is no me it in at to be so do us my am go by an as if of on we he".split())

_TRAILING = ".,;:!?'\"…»›>*。，、！？；：」』】）"
_PAIRS = {")": "(", "]": "[", "}": "{"}


@dataclass(frozen=True)
class Link:
    """A link found in text: the original span, and the normalised URL and its parts."""

    start: int  # offsets in the original text (what the user wrote, defanged or not)
    end: int
    raw: str  # the refanged text of the link, as written otherwise (scheme may be absent)
    spelled: str  # `raw` with its host in canonical form (lower-case ASCII): what a browser requests
    url: str  # canonical (see `canonical_url`)
    host: str  # ASCII, punycode for IDNs
    host_unicode: str
    domain: str  # registrable domain (eTLD+1, PSL private suffixes included), or the IP
    has_scheme: bool
    defanged: bool

    @property
    def mixed_script(self) -> bool:
        """Whether a label of the host mixes Latin letters with Cyrillic, Greek or Armenian ones
        (`аpple` with a Cyrillic а): the homograph trick browsers refuse to display as Unicode."""
        return any(_LATIN.search(label) and _LOOKALIKE.search(label) for label in self.host_unicode.split("."))


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    # The bundled list: publicsuffixlist never downloads unless asked to (its update script).
    return PublicSuffixList(accept_unknown=False)


# Links never contain white space, and every one has "://", a dot before a letter, or an IP with
# a port or path: only the runs of text that do are searched (most text has none).
_RUN = regex.compile(r"\S+")
_HINT = regex.compile(r"://|\.[^\W\d_]|\d\.\d{1,3}[/:]")
# Enough to judge any item; a text with more links than this is spam whatever they are.
MAX_LINKS = 200
# A cap on the matcher's time per text (regex's own timeout): user text must never stall a worker.
_TIMEOUT_S = 0.5


def find_links(text: str, limit: int = MAX_LINKS) -> list[Link]:
    """The links in `text` (the first `limit`), in order, with offsets into `text`."""
    if not text:
        return []
    plain, where = _refang(text)
    links: list[Link] = []
    deadline = time.monotonic() + _TIMEOUT_S
    for run in _RUN.finditer(plain):
        if not _HINT.search(run.group()):
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            for m in _CANDIDATE.finditer(plain, run.start(), run.end(), timeout=left):
                link = _link(m, plain, where, text)
                if link is not None:
                    links.append(link)
                    if len(links) >= limit:
                        return links
        except TimeoutError:
            break  # keep what was found: a pathological text gets no more of the worker's time
    return links


def _link(m: regex.Match, plain: str, where: list[int], text: str) -> Link | None:
    scheme, host, rest = m.group("scheme"), m.group("host"), m.group("rest") or ""
    end = m.end() - len(rest) + len(_trim(rest))
    rest = _trim(rest)
    if not _plausible(m, scheme, host, rest):
        return None
    raw = plain[m.start() : end]
    try:
        url, ascii_host, unicode_host = canonical_parts(scheme or "", m.group("userinfo") or "", host, m.group("port"), rest)
    except ValueError:
        return None
    host_start, host_end = m.start("host") - m.start(), m.end("host") - m.start()
    spelled = raw[:host_start] + ascii_host + raw[host_end:]
    start_o, end_o = where[m.start()], where[end]
    return Link(
        start=start_o,
        end=end_o,
        raw=raw,
        spelled=spelled,
        url=url,
        host=ascii_host,
        host_unicode=unicode_host,
        domain=registered_domain(ascii_host),
        has_scheme=bool(scheme),
        defanged=text[start_o:end_o] != raw,
    )


def _trim(rest: str) -> str:
    """Strip the sentence's punctuation from a link's end; keep brackets the link itself opened."""
    while rest:
        last = rest[-1]
        if last in _TRAILING:
            rest = rest[:-1]
        elif last in _PAIRS and rest.count(last) > rest.count(_PAIRS[last]):
            rest = rest[:-1]
        else:
            break
    return rest


def _plausible(m: regex.Match, scheme: str | None, host: str, rest: str) -> bool:
    """Whether a schemeless candidate is a link rather than a file name, a version or an abbreviation."""
    if host.startswith("["):
        return bool(scheme)
    tld = m.group("tld")
    if tld is None:  # IPv4: "1.2.3.4" is as often a version as a host
        return bool(scheme or rest or m.group("port"))
    if scheme:
        return True
    if not tld.isascii() and not tld.lower().startswith("xn--"):
        pass  # an IDN TLD (.рф, .中国): checked against the list below like any other
    elif tld[0].isupper() and tld[1:].islower():
        return False  # "great.Thanks": two sentences without a space
    ascii_host = host_to_ascii(host.rstrip(".").lower())
    if ascii_host is None or _psl().privatesuffix(ascii_host) is None:
        return False  # not a known public suffix, or a bare suffix ("co.uk")
    www, path = host.lower().startswith("www."), rest.startswith("/")
    tld = tld.lower()
    if tld in FILE_LIKE_TLDS and not (www or path):
        return False
    bare = not (www or path or rest or m.group("port"))
    if bare and not _common_tld(tld):
        return False
    labels = host.rstrip(".").split(".")
    if bare and tld in WORD_CCTLDS and len(labels) == 2 and len(labels[0]) <= 4:
        return False
    return True


def _common_tld(tld: str) -> bool:
    return len(tld) == 2 or tld.startswith("xn--") or not tld.isascii() or tld in COMMON_GENERIC_TLDS


# --- normalisation --------------------------------------------------------------------------------

_LATIN = regex.compile(r"\p{Latin}")
_LOOKALIKE = regex.compile(r"[\p{Cyrillic}\p{Greek}\p{Armenian}]")
_DEFAULT_PORTS = {"http": "80", "https": "443", "ftp": "21"}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ESCAPE = regex.compile(r"%([0-9A-Fa-f]{2})")


def host_to_ascii(host: str) -> str | None:
    """IDNA: browsers' (UTS-46) spelling first; IDNA 2003 and raw punycode for what IDNA 2008 refuses."""
    if host.isascii():
        return host.lower()
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        pass
    labels = []
    for label in host.lower().split("."):
        if label.isascii():
            labels.append(label)
            continue
        try:
            labels.append(label.encode("idna").decode("ascii"))
        except UnicodeError:
            try:
                labels.append("xn--" + label.encode("punycode").decode("ascii"))
            except UnicodeError:
                return None
    return ".".join(labels)


def host_to_unicode(host: str) -> str:
    labels = []
    for label in host.split("."):
        if label.startswith("xn--"):
            try:
                label = idna.decode(label)
            except (idna.IDNAError, UnicodeError):
                try:
                    label = label[4:].encode("ascii").decode("punycode")
                except UnicodeError:
                    pass
        labels.append(label)
    return ".".join(labels)


def _safe_unescape(part: str) -> str:
    """Decode %XX only where it stands for an unreserved character (RFC 3986 6.2.2.2: same URL);
    other escapes keep their meaning and are written in upper case."""

    def one(m: regex.Match) -> str:
        char = chr(int(m.group(1), 16))
        return char if char in _UNRESERVED else "%" + m.group(1).upper()

    return _ESCAPE.sub(one, part)


def canonical_parts(scheme: str, userinfo: str, host: str, port: str | None, rest: str) -> tuple[str, str, str]:
    """(normalised URL, ASCII host, Unicode host). A missing scheme is written as http://, as
    linkifiers and browsers' address bars read it. Raises ValueError for a host IDNA cannot spell."""
    scheme = (scheme or "http").lower()
    host = host.rstrip(".")
    ascii_host = host_to_ascii(host) if not host.startswith("[") else host.lower()
    if not ascii_host:
        raise ValueError(f"cannot encode host {host!r}")
    if port is not None and int(port) > 65535:
        raise ValueError(f"port {port} out of range")
    if port == _DEFAULT_PORTS.get(scheme):
        port = None
    path_query = rest.split("#", 1)[0]
    if path_query.startswith("?") or not path_query:
        path_query = "/" + path_query
    path_query = _safe_unescape(quote(path_query, safe="/?&=%:@!$'()*+,;~-._[]"))
    netloc = ascii_host + (f":{port}" if port else "")
    url = f"{scheme}://{userinfo}{netloc}{path_query}"
    return url, ascii_host, host_to_unicode(ascii_host)


def canonical_url(url: str) -> str:
    """The normalised form of one URL (the whole string is the URL)."""
    links = find_links(url.strip())
    if not links:
        raise ValueError(f"not a URL: {url!r}")
    return links[0].url


def registered_domain(host: str) -> str:
    """The registrable domain of an ASCII host (`login.example.co.uk` -> `example.co.uk`; private
    suffixes count: `x.github.io` -> `x.github.io`); the host itself for IPs and unknown suffixes."""
    host = host.strip("[]").rstrip(".").lower()
    if regex.fullmatch(r"[\d.]+|[0-9a-f:.]+", host):
        return host
    return _psl().privatesuffix(host) or host


def unquote_display(url: str) -> str:
    """A URL with every escape decoded, for reading (never for matching)."""
    return unquote(url, errors="replace")
