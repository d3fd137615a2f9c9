"""Media hashes for matching known content: PDQ (images), vPDQ (video), MD5 and SHA-256 (bytes).

Pure functions, no storage: tamis.banks (the stored lists) and the API build on these.
"""

from tamis.hashing.digests import md5_hex, sha256_hex, validate_md5, validate_sha256
from tamis.hashing.pdq import (
    MIN_QUALITY,
    PdqHash,
    hamming,
    hex_to_bytes,
    pdq_dihedral,
    pdq_hash,
    pdq_hash_bytes,
    validate_pdq,
)
from tamis.hashing.vpdq import (
    FrameHash,
    VideoError,
    VpdqFormatError,
    VpdqMatch,
    format_vpdq_file,
    frames_from_json,
    frames_to_json,
    parse_vpdq_file,
    vpdq_hash,
    vpdq_match,
)

__all__ = [
    "MIN_QUALITY",
    "FrameHash",
    "PdqHash",
    "VideoError",
    "VpdqFormatError",
    "VpdqMatch",
    "format_vpdq_file",
    "frames_from_json",
    "frames_to_json",
    "hamming",
    "hex_to_bytes",
    "md5_hex",
    "parse_vpdq_file",
    "pdq_dihedral",
    "pdq_hash",
    "pdq_hash_bytes",
    "sha256_hex",
    "validate_md5",
    "validate_pdq",
    "validate_sha256",
    "vpdq_hash",
    "vpdq_match",
]
