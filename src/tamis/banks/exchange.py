"""Bank import and export formats: pure functions, no database.

The formats are the ones the ThreatExchange ecosystem writes and reads. They are read from the
`threatexchange` package's source (Meta's library behind the Hasher-Matcher-Actioner) but
re-implemented here, so tamis does not depend on it:

- `plain`: one hash per line. The signal is given, or detected per line: 32 hex digits are md5, a
  JSON list is vpdq; 64 hex digits may be pdq or sha256, so a file holding them needs the signal.
  (What `threatexchange match --hashes` reads, cli/match_cmd.py `_match_hashes`.)
- `te`: `<signal_type> <signal>` per line, as ThreatExchange's local-file exchange reads and writes
  them (exchanges/impl/file_api.py, `LocalFileSignalExchangeAPI.fetch_iter` / `report_opinion`) and
  `threatexchange dataset -P -S` prints them (cli/dataset_cmd.py, `_print_stdout`).
- `te-csv`: `threatexchange dataset -P --csv`: a header, then signal_type, signal_str, collab,
  category, tags (cli/dataset_cmd.py, `_print_csv`).
- `te-simple`: the CLI's state files `simple.<INDICATOR_TYPE>.te`, CSV rows of indicator,
  first_descriptor_id, added_on, labels (space-separated); the signal type is in the file name
  (cli/dataset/simple_serialization.py, `CliIndicatorSerialization`, rollup columns from
  exchanges/clients/fb_threatexchange/descriptor.py `SimpleDescriptorRollup.as_row`).
- `hma`: HMA's variant of the same file, with the indicator id as second column (same file,
  `HMASerialization`). HMA 2's bank-content API is not in the package, so it is not a format here.

Every line starting with `#` and every blank line is ignored. Signal type names map pdq -> pdq,
video_md5 (or md5, HASH_MD5, HASH_VIDEO_MD5) -> md5, video_sha256 (or sha256, HASH_SHA256,
HASH_VIDEO_SHA256) -> sha256, vpdq -> vpdq (threatexchange/signal_type/*.py, `get_name` and
`INDICATOR_TYPE`; extensions/vpdq/vpdq.py). A vpdq signal in the ThreatExchange formats is its JSON
list of "pdq,quality,seconds" strings (extensions/vpdq/vpdq_util.py); tamis stores frames as
{"t_ms", "pdq", "quality"} and converts both ways.

Parsers return (entries, errors): an error per bad line, with its 1-based line number, so that a
caller can refuse the whole file. Export then import gives back the same signals and values, and
the labels too in the formats that have a column for them (te-csv, te-simple, hma).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import Protocol

from tamis.banks.service import EntryError, EntryIn, clean_entry
from tamis.hashing.signals import MAX_VPDQ_FRAMES, SIGNALS

FORMATS: dict[str, str] = {
    "plain": "one hash per line ('#' comments and blank lines ignored)",
    "te": "'<signal_type> <signal>' per line (threatexchange file exchange, `dataset -P -S`)",
    "te-csv": "threatexchange `dataset -P --csv`: signal_type,signal_str,collab,category,tags",
    "te-simple": "threatexchange simple.<INDICATOR_TYPE>.te: indicator,first_descriptor_id,added_on,labels",
    "hma": "HMA's simple.<INDICATOR_TYPE>.te: indicator,indicator_id,first_descriptor_id,added_on,labels",
}
SINGLE_SIGNAL = frozenset({"plain", "te-simple", "hma"})  # formats whose lines do not name their signal
LABELLED = frozenset({"te-csv", "te-simple", "hma"})  # formats with a column for labels
CSV_HEADER = ("signal_type", "signal_str", "collab", "category", "tags")
OPINIONS = ("POSITIVE_CLASS", "NEGATIVE_CLASS", "INVESTIGATION_SEED", "DISPUTED")
MEDIA_TYPES = {"plain": "text/plain", "te": "text/plain", "te-csv": "text/csv", "te-simple": "text/csv", "hma": "text/csv"}

# ThreatExchange signal type names and indicator types -> tamis signals.
_TE_NAMES = {
    "pdq": "pdq", "hash_pdq": "pdq",
    "video_md5": "md5", "md5": "md5", "hash_md5": "md5", "hash_video_md5": "md5",
    "video_sha256": "sha256", "sha256": "sha256", "hash_sha256": "sha256", "hash_video_sha256": "sha256",
    "vpdq": "vpdq",
}
_TE_EXPORT = {"pdq": "pdq", "md5": "video_md5", "sha256": "video_sha256", "vpdq": "vpdq"}
# vPDQ has no ThreatExchange indicator type: its simple file is named after the signal type.
_INDICATOR_EXPORT = {"pdq": "HASH_PDQ", "md5": "HASH_MD5", "sha256": "HASH_SHA256", "vpdq": "vpdq"}
_SIMPLE_NAME = re.compile(r"simple\.([^.]+)\.te")
_TE_IDS = re.compile(r"threatexchange (?:indicator (\S*), )?descriptor (-?\d+)")
_HEX = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True)
class LineError:
    line: int  # 1-based
    detail: str


Parsed = tuple[list[EntryIn], list[LineError]]


class ExportEntry(Protocol):
    signal: str
    value: str
    label: str
    note: str
    source: str


# --- names -------------------------------------------------------------------------------------------


def te_signal(name: str) -> str:
    """A ThreatExchange signal type name or indicator type -> the tamis signal."""
    signal = _TE_NAMES.get(name.strip().lower())
    if signal is None:
        known = ", ".join(sorted({*_TE_EXPORT.values(), *(v for v in _INDICATOR_EXPORT.values() if v.isupper())}))
        raise ValueError(f"unknown signal type {name.strip()[:40]!r}; expected one of {known}")
    return signal


def signal_from_filename(filename: str | None) -> str | None:
    """The signal of a `simple.<INDICATOR_TYPE>.te` file, from its name; None if it does not say."""
    match = _SIMPLE_NAME.fullmatch(PurePath(filename or "").name)
    return _TE_NAMES.get(match.group(1).lower()) if match else None


def guess_format(filename: str) -> str:
    """te-simple for simple.*.te, te-csv for *.csv, plain otherwise."""
    name = PurePath(filename).name
    if _SIMPLE_NAME.fullmatch(name):
        return "te-simple"
    return "te-csv" if name.lower().endswith(".csv") else "plain"


def export_filename(bank: str, fmt: str, signal: str | None) -> str:
    if fmt in ("te-simple", "hma"):
        return f"simple.{_INDICATOR_EXPORT[signal or 'pdq']}.te"
    if fmt == "te-csv":
        return f"{bank}.csv"
    return f"{bank}.{signal}.txt" if fmt == "plain" and signal else f"{bank}.{fmt}.txt"


# --- parsing -----------------------------------------------------------------------------------------


class AmbiguousSignal(ValueError):
    """64 hexadecimal digits: pdq or sha256, the caller must say."""


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) for every line that is neither blank nor a comment."""
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if line.strip() and not line.lstrip().startswith("#"):
            yield number, line


def _collect(lines: Iterable[tuple[int, str]], read: Callable[[str], EntryIn], ambiguous: list[int] | None = None) -> Parsed:
    """Read every line; a bad one becomes a LineError. Lines whose signal is ambiguous go to
    `ambiguous` when it is given, so that the caller can report them once."""
    entries, errors = [], []
    for number, line in lines:
        try:
            entries.append(clean_entry(read(line)))
        except AmbiguousSignal as exc:
            if ambiguous is None:
                errors.append(LineError(number, str(exc)))
            else:
                ambiguous.append(number)
        except EntryError as exc:
            errors.append(LineError(number, exc.detail if exc.field == "value" else str(exc)))
        except ValueError as exc:
            errors.append(LineError(number, str(exc)))
    return entries, errors


# The longest field a line may hold: a vpdq value of MAX_VPDQ_FRAMES "pdq,quality,seconds" strings.
# csv's own limit (131,072 characters, process-wide, lowered by some libraries) would refuse a
# vpdq entry of a long video that tamis itself exported.
_MAX_FIELD = MAX_VPDQ_FRAMES * 96


def _row(line: str) -> list[str]:
    if csv.field_size_limit() < _MAX_FIELD:
        csv.field_size_limit(_MAX_FIELD)
    try:
        return next(csv.reader([line], strict=True))
    except csv.Error as exc:
        raise ValueError(f"not a CSV row: {exc}") from exc


def _check_wanted(signal: str, wanted: str | None, name: str) -> str:
    if wanted is not None and signal != wanted:
        raise ValueError(f"the line holds {name.strip()[:40]!r} ({signal}), but signal={wanted} was given")
    return signal


def detect_signal(value: str) -> str:
    """md5 for 32 hex digits, vpdq for a JSON list; 64 hex digits are ambiguous (pdq or sha256)."""
    text = value.strip().lower()
    if text.startswith("["):
        return "vpdq"
    if _HEX.fullmatch(text) and len(text) == 32:
        return "md5"
    if _HEX.fullmatch(text) and len(text) == 64:
        raise AmbiguousSignal("64 hexadecimal digits may be pdq or sha256")
    shown = value.strip()[:40]
    raise ValueError(f"not a hash: expected 32 hexadecimal digits (md5), 64 (pdq or sha256) or a vpdq JSON list; got {shown!r}")


def _parse_plain(text: str, signal: str | None) -> Parsed:
    ambiguous: list[int] = []
    entries, errors = _collect(_lines(text), lambda line: EntryIn(signal or detect_signal(line), line.strip()), ambiguous)
    if ambiguous:  # one error for the file rather than one per hash
        errors.append(LineError(ambiguous[0], (
            f"{len(ambiguous)} line(s) hold 64 hexadecimal digits, which may be pdq or sha256: "
            "give the signal (signal=pdq or signal=sha256; --signal in the CLI)")))
    return entries, sorted(errors, key=lambda e: e.line)


def _parse_te(text: str, signal: str | None) -> Parsed:
    def read(line: str) -> EntryIn:
        parts = line.strip().split(None, 1)
        if len(parts) != 2:
            raise ValueError("expected '<signal_type> <signal>', e.g. 'pdq <64 hex digits>' "
                             "(a bare hash belongs in format plain)")
        return EntryIn(_check_wanted(te_signal(parts[0]), signal, parts[0]), parts[1].strip())

    return _collect(_lines(text), read)


def _csv_reader(header: list[str], signal: str | None) -> Callable[[str], EntryIn]:
    columns = {name: i for i, name in enumerate(header)}

    def read(line: str) -> EntryIn:
        row = _row(line)
        if len(row) != len(header):
            raise ValueError(f"expected {len(header)} columns, as the header names; got {len(row)}")
        get = lambda name: row[columns[name]] if name in columns else ""  # noqa: E731
        kind = _check_wanted(te_signal(get("signal_type")), signal, get("signal_type"))
        category = get("category").strip()
        if category and category not in OPINIONS:
            raise ValueError(f"category must be one of {', '.join(OPINIONS)}; got {category[:40]!r}")
        # Only a non-positive opinion is worth keeping: a bank's own meaning is positive.
        note = f"threatexchange category {category}" if category not in ("", "POSITIVE_CLASS") else ""
        return EntryIn(kind, get("signal_str").strip(), label=get("tags").strip(), note=note, source=get("collab").strip())

    return read


def _parse_te_csv(text: str, signal: str | None) -> Parsed:
    lines = list(_lines(text))
    if not lines:
        return [], []
    number, first = lines[0]
    try:
        header = [name.strip() for name in _row(first)]
    except ValueError:
        header = []
    if not {"signal_type", "signal_str"} <= set(header):
        detail = f"the first line must be the header {','.join(CSV_HEADER)} (threatexchange dataset -P --csv); got {first[:60]!r}"
        return [], [LineError(number, detail)]
    return _collect(lines[1:], _csv_reader(header, signal))


def _simple_reader(signal: str, hma: bool) -> Callable[[str], EntryIn]:
    width = 5 if hma else 4
    names = ("indicator,indicator_id," if hma else "indicator,") + "first_descriptor_id,added_on,labels"

    def read(line: str) -> EntryIn:
        row = _row(line)
        if len(row) != width:
            hint = {4: " (the te-simple layout: use format te-simple)", 5: " (HMA's layout: use format hma)"}.get(len(row), "")
            raise ValueError(f"expected {width} columns ({names}); got {len(row)}{hint}")
        descriptor = row[width - 3].strip()
        if not re.fullmatch(r"-?\d+", descriptor):
            raise ValueError(f"first_descriptor_id must be a whole number; got {descriptor[:40]!r}")
        ids = f"indicator {row[1].strip()}, " if hma else ""
        return EntryIn(signal, row[0].strip(), label=row[width - 1].strip(), note=f"threatexchange {ids}descriptor {descriptor}")

    return read


def _parse_simple(text: str, signal: str | None, *, hma: bool) -> Parsed:
    if signal is None:
        raise ValueError("a simple.<INDICATOR_TYPE>.te file holds one signal type, named in the file name: "
                         "give the signal, or upload the file under its name (e.g. simple.HASH_PDQ.te)")
    return _collect(_lines(text), _simple_reader(signal, hma))


def parse(fmt: str, text: str, *, signal: str | None = None) -> Parsed:
    """Entries and per-line errors. ValueError (not a line error) for an unknown format or signal,
    or a signal missing where the format needs one."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt[:40]!r}; expected one of {', '.join(FORMATS)}")
    if signal is not None and signal not in SIGNALS:
        raise ValueError(f"unknown signal {signal[:40]!r}; expected one of {', '.join(SIGNALS)}")
    if fmt == "plain":
        return _parse_plain(text, signal)
    if fmt == "te":
        return _parse_te(text, signal)
    if fmt == "te-csv":
        return _parse_te_csv(text, signal)
    return _parse_simple(text, signal, hma=fmt == "hma")


# --- export ------------------------------------------------------------------------------------------


def te_value(signal: str, value: str) -> str:
    """The signal string ThreatExchange uses: vpdq as "pdq,quality,seconds" strings, JSON-encoded
    like vpdq_util.vpdq_to_json (milliseconds kept exactly: 3 decimals)."""
    if signal != "vpdq":
        return value
    frames = json.loads(value)
    return json.dumps([f"{f['pdq']},{f['quality']},{f['t_ms'] / 1000:.3f}" for f in frames])


def _csv_line(row: Iterable[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(row)
    return buffer.getvalue()


def _te_ids(note: str) -> tuple[str, str]:
    """(indicator id, first descriptor id) an import from a simple file noted, else ("", "0")."""
    match = _TE_IDS.search(note)
    return (match.group(1) or "", match.group(2)) if match else ("", "0")


def _added_on(entry: ExportEntry) -> str:
    created = getattr(entry, "created_at", None)
    return created.isoformat(timespec="seconds") if isinstance(created, datetime) else ""


def _export_line(fmt: str, entry: ExportEntry, collab: str, category: str) -> str:
    if fmt == "plain":
        return entry.value + "\n"
    value = te_value(entry.signal, entry.value)
    if fmt == "te":
        return f"{_TE_EXPORT[entry.signal]} {value}\n"
    if fmt == "te-csv":
        return _csv_line((_TE_EXPORT[entry.signal], value, entry.source or collab, category, entry.label))
    indicator_id, descriptor = _te_ids(entry.note)
    ids = (indicator_id, descriptor) if fmt == "hma" else (descriptor,)
    return _csv_line((value, *ids, _added_on(entry), entry.label))


def export_signal(fmt: str, signal: str | None, counts: dict[str, int]) -> str | None:
    """The signal to export: the one asked; for a single-signal format, else the bank's only one.
    ValueError when the bank holds several and the format cannot say which line is which."""
    if signal is not None or fmt not in SINGLE_SIGNAL:
        return signal
    held = [s for s in SIGNALS if counts.get(s)]
    if len(held) > 1:
        raise ValueError(f"the bank holds {', '.join(held)}; format {fmt} holds one signal type per file: give the signal")
    return held[0] if held else "pdq"  # an empty bank exports an empty file either way


def export_lines(
    fmt: str,
    entries: Iterable[ExportEntry],
    *,
    signal: str | None = None,
    collab: str = "",
    category: str = "POSITIVE_CLASS",
) -> Iterator[str]:
    """The file, line by line. `signal` keeps one signal type (required by plain, te-simple and hma);
    `collab` fills te-csv's collab column for entries without a source; `category` is te-csv's opinion."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt[:40]!r}; expected one of {', '.join(FORMATS)}")
    if fmt in SINGLE_SIGNAL and signal is None:
        raise ValueError(f"format {fmt} holds one signal type per file: give the signal")
    if fmt == "te-csv":
        yield _csv_line(CSV_HEADER)
    for entry in entries:
        if signal is None or entry.signal == signal:
            yield _export_line(fmt, entry, collab, category)


def export_text(fmt: str, entries: Iterable[ExportEntry], **options: str | None) -> str:
    return "".join(export_lines(fmt, entries, **options))  # type: ignore[arg-type]
