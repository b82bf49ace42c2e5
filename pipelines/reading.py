"""Read a user's file into a frame: CSV/TSV (encoding and delimiter detected), workbooks (Excel .xlsx and
97-2003 .xls, an HTML table or Excel 2003 XML saved as .xls: workbooks.py), Parquet.

Factory exports are messy in known ways: CP949 text, a UTF-8 BOM, title lines above the header,
Excel headers merged over two rows, totals below the table, thousands separators. This module reads
what can be read and refuses the rest with a message that says which line and what to do. Values are
left as the file has them: typing and range checks are the validation's job (pipelines/inspection.py).

The frame's ``attrs["reading"]`` records how it was read (format, encoding, delimiter, sheet, the
header's line), so a report can say it and row numbers can be given as the spreadsheet shows them.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import unicodedata
import zipfile
from collections import Counter
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from . import settings, workbooks
from .errors import DataError
from .messages import error

PARQUET = (".parquet", ".pq")
DELIMITERS = ",;\t|"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
HANGUL_OR_UNITS = re.compile(r"[\uac00-\ud7a3\u2103\u2109\u3380-\u33dd]")


HEAD_BYTES = 1 << 20  # what sniff_text judges a streamed file on


def read_table(path: str | Path, sheet: str | int | None = None, lang: str | None = None,
               prefer: Callable[[list[str]], int] | None = None) -> pd.DataFrame:
    """CSV/TSV (encoding and delimiter detected), a workbook (unless ``sheet``: the first sheet, or the one
    whose header ``prefer`` scores highest, e.g. the most of a card's columns, where another beats the
    first) or Parquet. A table file is read as what its bytes are, whatever its name says."""
    path = Path(path)
    if path.is_dir():
        return _read_folder(path, sheet, lang, prefer)
    _size_checks(path, lang)
    suffix = path.suffix.lower()
    if suffix in PARQUET:
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many kinds; the user needs one message
            raise error("unreadable", path, lang=lang, kind="Parquet", detail=_short(exc)) from None
        info = {"format": "parquet", "header_line": 1}
        if isinstance(frame.attrs.get("workbench"), dict):  # written by the runner: the user's file and its notes
            info["carried"] = frame.attrs["workbench"]
    elif suffix in workbooks.SUFFIXES:  # the bytes decide: an .xls is often an HTML table, an .xlsx renamed .csv
        kind = workbooks.kind_of(path)
        if kind == "text" and suffix in workbooks.MARKUP:
            raise error("unsupported_format", path, lang=lang, suffix=suffix)
        frame, info = (_read_text(path, lang, prefer=prefer) if kind == "text"
                       else _read_workbook(path, kind, sheet, lang, prefer))
        if suffix not in workbooks.KINDS[kind][0]:
            info["content"] = {"kind": kind, "suffix": suffix or "-"}
    else:
        raise error("unsupported_format", path, lang=lang, suffix=suffix)
    frame = _tidy(frame)
    if frame.empty:
        raise error("header_only" if len(frame.columns) else "empty", path, lang=lang)
    frame.attrs["reading"] = info
    return frame


def folder_files(path: Path) -> list[Path]:
    """A folder's table files in name order, numbers compared as numbers (day 9 before day 10); hidden
    files and Excel's lock files (~$name.xlsx) left out."""
    def key(file: Path):
        return [(0, int(part), "") if part.isdigit() else (1, 0, part.casefold()) for part in re.split(r"(\d+)", file.name)]
    return sorted((f for f in path.iterdir() if f.is_file() and not f.name.startswith((".", "~$"))
                   and f.suffix.lower() in (workbooks.SUFFIXES | set(PARQUET)) - {""}), key=key)


def _read_folder(path: Path, sheet, lang, prefer) -> pd.DataFrame:
    """Every table file of a folder (a data logger's file a day) with the header most of them share, one
    below the other in name order; files with another header are left out and named. A row is named
    ``file!row`` (``file:sheet!row`` for a workbook's sheets read with ``--sheet all``)."""
    files = folder_files(path)
    if not files:
        raise error("empty_folder", path, lang=lang)
    size = sum(f.stat().st_size for f in files)
    if size > settings.max_file_bytes():
        raise error("too_large", path, lang=lang, size_mb=size / 2**20, limit_mb=settings.max_file_bytes() / 2**20)
    frames, unreadable = [], []
    for file in files:
        try:
            frames.append((file.name, read_table(file, sheet, lang, prefer)))
        except DataError as exc:  # a stray note or a broken export beside the data: left out and named
            if len(files) == 1:
                raise
            unreadable.append((file.name, exc))
    if not frames:
        raise unreadable[0][1]
    keys = {name: _header_key(frame.columns) for name, frame in frames}
    common = Counter(keys.values()).most_common(1)[0][0]  # ties: the first file's
    kept = [(name, frame) for name, frame in frames if keys[name] == common]
    first = kept[0][1]
    places, titles, parts, start = [], [], [], 0
    for name, frame in kept:
        if len(frame):
            shift = start - int(frame.index[0])
            own = frame.attrs["reading"].get("places")
            places += ([[f"{name}:{sheet_name}", at + shift, offset] for sheet_name, at, offset in own] if own
                       else [[name, start, header_line(frame) + 1 + int(frame.index[0])]])
            titles += frame.attrs["reading"].get("titles") or [""] * len(own) if own else [frame.attrs["reading"].get("title", "")]
            frame = frame.set_axis(frame.index + shift, axis=0).set_axis(list(first.columns), axis=1)
            start = int(frame.index[-1]) + 1
        parts.append(frame)
    frame = pd.concat(parts)
    info = {k: v for k, v in first.attrs["reading"].items()
            if k not in ("sheet", "sheets", "alike_sheets", "chosen_by", "read_sheets", "skipped_sheets", "places",
                         "title", "titles")}
    frame.attrs["reading"] = {**info, "format": f"folder of {info.get('format', '?')}", "files": [n for n, _ in kept],
                              "skipped_files": [n for n, _ in frames if keys[n] != common],
                              "unreadable_files": [n for n, _ in unreadable], "places": places, "titles": titles}
    return frame


def sniff_text(path: str | Path, lang: str | None = None, prefer=None) -> dict:
    """How a CSV/TSV file is laid out (encoding, delimiter, header line), judged on its first megabyte
    with every check ``read_table`` makes, so a file too big to hold can be streamed in chunks and
    still be refused, or read, exactly as a whole-file read would."""
    path = Path(path)
    _size_checks(path, lang)
    with path.open("rb") as handle:
        raw = handle.read(HEAD_BYTES + 1)
    if len(raw) > HEAD_BYTES:  # judge whole lines only
        raw = raw[: raw.rfind(b"\n", 0, HEAD_BYTES) + 1] or raw[:HEAD_BYTES]
    frame, info = _read_text(path, lang, raw, prefer)
    if _tidy(frame).empty:
        raise error("header_only" if len(frame.columns) else "empty", path, lang=lang)
    return info


def _size_checks(path: Path, lang) -> None:
    if not path.is_file():
        raise error("not_found", path, lang=lang)
    size = path.stat().st_size
    if size > settings.max_file_bytes():
        raise error("too_large", path, lang=lang, size_mb=size / 2**20, limit_mb=settings.max_file_bytes() / 2**20)
    if size == 0:
        raise error("empty", path, lang=lang)


def header_line(frame: pd.DataFrame) -> int:
    """Line (1-based) of the header in the user's file: data row i (0-based) is line header + 1 + i."""
    return int(frame.attrs.get("reading", {}).get("header_line", 1))


def row_labels(frame: pd.DataFrame):
    """Index values -> the rows a user finds them at: spreadsheet row numbers, or ``sheet!row`` where
    several sheets were read one below the other."""
    places = frame.attrs.get("reading", {}).get("places")
    first_line = header_line(frame) + 1
    if not places:
        return lambda idx: [int(i) + first_line for i in list(idx[:3])]
    return lambda idx: sheet_rows(list(idx[:3]), places)


def sheet_rows(positions, places: list) -> list[str]:
    """Row positions of sheets read one below the other (``--sheet all``) as ``sheet!row``, the row as
    the spreadsheet numbers it."""
    found = []
    for i, at in zip(positions, place_of(positions, places)):
        name, start, offset = places[at]
        found.append(f"{name}!{int(i) - start + offset}")
    return found


def place_of(positions, places: list) -> np.ndarray:
    """For row positions of files or sheets read one below the other (``attrs["reading"]["places"]``), the
    index in ``places`` of the file or sheet each row comes from."""
    starts = np.array([p[1] for p in places])
    return np.searchsorted(starts, np.asarray(positions, dtype=np.int64), side="right") - 1


# --- text files ------------------------------------------------------------------------------------

def _read_text(path: Path, lang, raw: bytes | None = None, prefer=None) -> tuple[pd.DataFrame, dict]:
    raw = path.read_bytes() if raw is None else raw
    if not raw.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise error("empty", path, lang=lang)
    text, encoding = decode(raw, path, lang)
    lines = text.splitlines()
    sep = _delimiter(lines, path.suffix.lower())
    try:
        spaces = _space_separated(lines, sep)
        if spaces:  # an old machine's log with spaces between its fields: read as the tab text it then is
            lines = [spaces(line) for line in lines]
            text, sep = "\n".join(lines), "\t"
        frame, info = _parse_text(path, lang, text, lines, sep, encoding, prefer)
        return frame, {**info, "spaces": True} if spaces else info
    except csv.Error as exc:  # the csv module's cell limit (131,072 characters): say where, not a traceback
        raise _huge_cell(path, lang, lines, sep, exc) from None


def _parse_text(path: Path, lang, text: str, lines: list[str], sep: str, encoding: str,
                prefer=None) -> tuple[pd.DataFrame, dict]:
    found_at = _header_index(lines, sep)
    below = [i for i in range(found_at, min(found_at + 8, len(lines))) if lines[i].strip()][:3]
    header_at = below[_named_row([next(csv.reader([lines[i]], delimiter=sep)) for i in below], prefer)]
    header = next(csv.reader([lines[header_at]], delimiter=sep))
    positional = None
    body = list(csv.reader([line for line in lines[header_at:header_at + 50] if line.strip()], delimiter=sep))
    if _no_header(header, body[1:]):
        positional = _by_position(prefer, body)
        if positional is None:
            raise error("no_header", path, lang=lang, header=", ".join(c.strip() for c in header[:6] if c.strip()))
    _mojibake_check(header, path, lang)
    if len(header) == 1 and len(header[0]) > 20 and not _data_lines(lines[header_at + 1:], sep):
        raise error("wrong_delimiter", path, lang=lang, header=header[0][:60])
    sample = [line for line in lines[header_at + 1:header_at + 200] if line.strip()]
    # a logger that ends every data row with the separator, but not its header: the empty last field is no column
    trailing = bool(sample) and (positional is not None or not lines[header_at].rstrip().endswith(sep)) and all(
        line.rstrip().endswith(sep) for line in [*sample, *([lines[header_at]] if positional else [])])
    # pandas reads rows longer than the header as an unnamed index instead of failing: say so
    for offset, width in enumerate(_widths(lines[header_at + 1:header_at + 200], sep), start=header_at + 2):
        if width > len(header) + trailing:
            raise error("ragged_rows", path, row_numbers=[offset], lang=lang, row=offset, found=width,
                        expected=len(header), sep={"\t": "TAB"}.get(sep, sep))
    options = {"sep": sep, "skipinitialspace": True, "skip_blank_lines": True, **number_style(sample, sep),
               **({"index_col": False} if trailing else {})}
    try:
        frame = pd.read_csv(io.StringIO(text), skiprows=header_at, **options,
                            **({"header": None, "names": positional["names"]} if positional else {}))
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if not found:
            raise error("unreadable", path, lang=lang, kind="CSV", detail=_short(exc)) from None
        expected, line, seen = (int(g) for g in found.groups())
        raise error("ragged_rows", path, row_numbers=[line + header_at], lang=lang, row=line + header_at,
                    found=seen, expected=expected, sep={"\t": "TAB"}.get(sep, sep)) from None
    layout = {"format": "tsv" if sep == "\t" else "csv", "encoding": encoding, "delimiter": sep,
              **({"decimal": ",", "thousands": options["thousands"]} if options.get("decimal") == "," else {}),
              **({"trailing_separator": True} if trailing else {})}
    if positional:  # no header line: data row i is line header_at + 1 + i
        return frame, {**layout, "header_line": header_at, "by_position": positional}
    frame.columns = [str(c).strip() for c in header] if len(header) == len(frame.columns) else frame.columns
    frame.columns = [c if c else f"Unnamed: {i}" for i, c in enumerate(frame.columns)]
    info = {**layout, "header_line": header_at + 1,
            "title": " ".join(" ".join(c.strip() for c in line.split(sep) if c.strip()) for line in lines[:header_at]).strip(),
            **({"header_below": _header_below(next(csv.reader([lines[found_at]], delimiter=sep)), header_at)}
               if header_at != found_at else {})}
    joined = _joined_header(frame, prefer)
    if joined:  # read again below the sub-headers, so their words do not make the columns text
        joined["rows"] = [header_at + 1, header_at + 2]
        frame = pd.read_csv(io.StringIO(text), skiprows=header_at + 2, header=None,
                            **options).set_axis(joined["columns"], axis=1)
        frame.index = frame.index + 1  # the sub-header row keeps its number: rows stay numbered as in the file
        info["joined_header"] = joined
    frame, info["duplicate_columns"] = _deduplicated(frame)
    return frame, info


def number_style(lines: list[str], sep: str) -> dict:
    """read_csv's number options for a file's data lines: a semicolon or tab file whose decimals are all
    written with a comma (``12,5``, as European machine software writes them, ``1.234,5`` with a point for
    the thousands) reads them so; a file with any ``12.5`` keeps the point (and a comma is a thousands
    separator or text, as elsewhere)."""
    if sep == ",":
        return {"thousands": None}
    fields = [f.strip().strip('"') for line in lines for f in line.split(sep)]
    comma = sum(bool(re.fullmatch(r"-?\d+,\d+", f)) for f in fields)
    point = sum(bool(re.fullmatch(r"-?\d*\.\d+", f)) for f in fields)
    if not comma or point:
        return {"thousands": None}
    grouped = any(re.fullmatch(r"-?\d{1,3}(\.\d{3})+(,\d+)?", f) for f in fields)
    return {"decimal": ",", "thousands": "." if grouped else None}


def _huge_cell(path: Path, lang, lines: list[str], sep: str, exc: csv.Error):
    """The message for a cell longer than the csv module reads: its line, its column (by the header's name
    where the header reads) and its length."""
    limit = csv.field_size_limit()
    for number, line in enumerate(lines, start=1):
        cells = line.split(sep)
        at = next((i for i, cell in enumerate(cells) if len(cell) > limit), None)
        if at is None:
            continue
        header = next((h for h in lines[:number - 1] if h.count(sep) >= at), "")
        names = header.split(sep)
        column = names[at].strip().strip('"') if at < len(names) and number > 1 else None
        return error("huge_cell", path, column=column or None, row_numbers=[number], lang=lang, row=number,
                     position=at + 1, size=len(cells[at]), limit=limit)
    return error("unreadable", path, lang=lang, kind="CSV", detail=_short(exc))


def decode(raw: bytes, source, lang=None) -> tuple[str, str]:
    """Text and the encoding it was in: a BOM decides; else UTF-8 if it decodes; else CP949 if it is valid
    EUC-KR with Hangul in it; else the encoding charset-normalizer finds among the ones Korean, Western and
    Japanese exports use (Shift-JIS: the logs of Japanese machines and PLCs in Korean plants)."""
    if b"\x00" in raw[:4096] and not raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        suffix = Path(str(source)).suffix
        # named as a workbook, yet none that a reader knows: a document-security (DRM) copy, most often
        named = workbooks.KINDS["xlsx"][0] + workbooks.KINDS["xls"][0]
        raise error("unknown_workbook" if suffix.lower() in named else "binary", source,
                    lang=lang, suffix=suffix)
    if raw.startswith(codecs.BOM_UTF8):
        try:
            return raw[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise error("bom_mismatch", source, lang=lang, line=raw[:exc.start + 3].count(b"\n") + 1) from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's "Unicode text" export
        return raw.decode("utf-16"), "utf-16"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:  # text that is valid EUC-KR and holds Hangul is Korean, however few its Korean words ('합계' below ASCII rows);
        # so is one whose only non-ASCII text is units as Korean software writes them (℃, ℉, ㎜, ㎏, ㎾ in a units row)
        if HANGUL_OR_UNITS.search(raw.decode("euc_kr")):
            return raw.decode("cp949"), "cp949"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw[:400_000], cp_isolation=["cp949", "euc_kr", "utf_8", "cp1252", "latin_1", "cp932"]).best()
    if best is None:
        raise error("unknown_encoding", source, lang=lang)
    encoding = "cp949" if best.encoding in ("euc_kr", "cp949") else best.encoding  # CP949 is EUC-KR's superset
    try:
        return raw.decode(encoding), encoding
    except UnicodeDecodeError:
        raise error("unknown_encoding", source, lang=lang) from None


def _delimiter(lines: list[str], suffix: str) -> str:
    sample = "\n".join(line for line in lines[:50] if line.strip())
    if suffix == ".tsv":
        return "\t"
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        counts = Counter(ch for ch in sample if ch in DELIMITERS)
        return counts.most_common(1)[0][0] if counts else ","


def _widths(lines: list[str], sep: str) -> list[int]:
    return [len(next(csv.reader([line], delimiter=sep))) if line.strip() else 0 for line in lines]


def _header_index(lines: list[str], sep: str) -> int:
    """Title lines above the table ('사출 공정 데이터 2024-01', blank lines) are skipped: the header is
    the first line with more than one field (or the first non-blank line of a one-column file)."""
    widths = _widths(lines[:60], sep)
    return next((i for i, w in enumerate(widths) if w > 1), next((i for i, w in enumerate(widths) if w), 0))


def _space_separated(lines: list[str], sep: str) -> Callable[[str], str] | None:
    """For a file whose fields are separated by spaces, what makes a line tab text; None for any other. A
    line of the sniffed separator's fields beats spaces. Fields split at two or more spaces (names may hold
    one), else at any, where the header and nine lines in ten give the same number (two or more); else at
    the columns blank in every line, as a fixed-width report aligns them (a time stamp holds a space)."""
    sample = [line for line in lines[:50] if line.strip()]
    if not sample or sum(len(next(csv.reader([line], delimiter=sep))) > 1 for line in sample) >= len(sample) / 2:
        return None
    for pattern in (r"\t| {2,}", r"\s+"):
        counts = [len(re.split(pattern, line.strip())) for line in sample]
        most = Counter(counts).most_common(1)[0][0]
        if most >= 2 and counts[0] == most and counts.count(most) >= 0.9 * len(counts):
            return lambda line, pattern=pattern: re.sub(pattern, "\t", line.strip())
    width = max(len(line) for line in sample)
    blank = [all(i >= len(line) or line[i] == " " for line in sample) for i in range(width)]
    cuts = [i for i in range(1, width) if blank[i - 1] and not blank[i]]  # where a field starts
    if not cuts or width > 20_000:
        return None
    bounds = list(zip([0, *cuts], [*cuts, None]))
    split = lambda line: "\t".join(line[a:b].strip() for a, b in bounds) if line.strip() else ""  # noqa: E731
    cells = [split(line).split("\t") for line in sample]
    filled = [sum(bool(c) for c in row) for row in cells]
    # a cell holding two numbers ('0.307 0.69') means the blank columns lined up by chance, not by design
    merged = any(sum(bool(_NUMBER.fullmatch(t)) for t in c.split()) > 1 for row in cells[1:] for c in row)
    return split if not merged and filled[0] >= 2 and sum(n >= 2 for n in filled) >= 0.9 * len(filled) else None


_NUMBER = re.compile(r"[-+]?\d+(\.\d*)?([eE][-+]?\d+)?")


def _no_header(header: list, body: list[list]) -> bool:
    """The first line is data, not names: over every column of numbers (at least two) it holds a number,
    some with decimals or signs (so not a header of wavelengths or hours): the file has no header row."""
    def number(cell) -> bool:
        return isinstance(cell, (int, float)) and not isinstance(cell, bool) or bool(_NUMBER.fullmatch(str(cell).strip()))
    columns = [i for i in range(len(header))
               if (cells := [r[i] for r in body if i < len(r) and str(r[i]).strip() not in ("", "nan", "NaN")])
               and sum(map(number, cells)) >= 0.9 * len(cells)]
    heads = [header[i] for i in columns]
    return (len(columns) >= 2 and all(number(h) for h in heads)
            and any(not str(h).strip().lstrip("+").isdigit() for h in heads))


def _by_position(prefer, body: list[list]) -> dict | None:
    """A file without a header row whose fields are, in number and kind, the card's columns in the card's
    order (and the target last, or not at all), as a logger or a data set's text file writes them: the names
    it is then read with. None where they do not line up (a numeric column of the card where the file holds
    words), or there is no card to ask."""
    in_order = getattr(prefer, "in_order", None)
    width = max((len(r) for r in body), default=0)
    while width and all(len(r) < width or not str(r[width - 1]).strip() for r in body):
        width -= 1  # a separator at the end of every line: no field
    if not in_order or width not in (len(in_order) - 1, len(in_order)):
        return None
    for i, (_, kind) in enumerate(in_order[:width]):
        cells = [str(r[i]).strip() for r in body if i < len(r) and str(r[i]).strip()]
        if kind == "numeric" and cells and sum(bool(_NUMBER.fullmatch(c)) for c in cells) < 0.9 * len(cells):
            return None
    names = [name for name, _ in in_order[:width]]
    return {"names": names, "target": width == len(in_order)}


def _data_lines(lines: list[str], sep: str) -> bool:
    return any(len(next(csv.reader([line], delimiter=sep))) > 1 for line in lines[:20] if line.strip())


def _mojibake_check(header: list[str], source, lang) -> None:
    """Korean text decoded as Latin-1/CP1252 and saved again reads 'ÃÖ´ë »çÃâ': detectable because
    encoding it back to those bytes gives valid Korean."""
    for name in header:
        if "\ufffd" in name:
            raise error("mojibake", source, lang=lang, sample=name, repaired="")
        if HANGUL.search(name) or not re.search(r"[\u00c0-\u00ff]", name):
            continue
        for wrong in ("cp1252", "latin_1"):
            for right in ("utf-8", "cp949"):
                try:
                    fixed = name.encode(wrong).decode(right)
                except (UnicodeEncodeError, UnicodeDecodeError):
                    continue
                if HANGUL.search(fixed):
                    repaired = f" (was {fixed!r})" if (lang or settings.language()) == "en" else f" (원래 {fixed!r})"
                    raise error("mojibake", source, lang=lang, sample=name, repaired=repaired)


def _deduplicated(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    """Columns that share a name (two '비고' columns, a column exported twice): a copy with the same values
    is read once; copies that differ are numbered ('온도', '온도 (2)'), so the card's matching refuses
    them only where the card reads that name (which one is meant: --map). What was done, for a note."""
    names = [str(c) for c in frame.columns]
    counts = Counter(names)
    if max(counts.values(), default=1) == 1:
        return frame, []
    keep, renamed, kept = [], [], {}  # kept: name -> positions of its distinct copies
    for at, name in enumerate(names):
        copies = kept.setdefault(name, [])
        if counts[name] > 1 and any(frame.iloc[:, j].equals(frame.iloc[:, at]) for j in copies):
            continue
        copies.append(at)
        keep.append(at)
        renamed.append(name if len(copies) == 1 else f"{name} ({len(copies)})")
    out = frame.iloc[:, keep].set_axis(renamed, axis=1)
    found = [{"name": name, "times": counts[name], "distinct": len(kept[name]),
              "names": [name] + [f"{name} ({k})" for k in range(2, len(kept[name]) + 1)]}
             for name in counts if counts[name] > 1]
    return out, found


# --- Excel -----------------------------------------------------------------------------------------

def max_excel_cells() -> int:
    """Most cells (rows x columns of the sheet's grid) an Excel sheet may span (``WORKBENCH_MAX_EXCEL_CELLS``,
    default 5 million): openpyxl reads about 30,000 to 100,000 cells a second, so this bounds the wait to
    minutes; CSV of the same rows is read far faster, in chunks."""
    return int(float(os.environ.get("WORKBENCH_MAX_EXCEL_CELLS", "5e6")))


def _unpacked_size_check(path: Path, lang) -> None:
    """An .xlsx is a zip archive: a small file can unpack to gigabytes (200,000 rows in 631 kB). The sizes
    its directory declares are what the reader may unpack (zipfile stops at the declared size, and a
    lying entry fails its CRC check), so their sum is held to WORKBENCH_MAX_FILE_MB before anything is
    unpacked. A file that is not a zip archive is left to the reader's own message."""
    try:
        with zipfile.ZipFile(path) as archive:
            size = sum(entry.file_size for entry in archive.infolist())
    except (OSError, zipfile.BadZipFile):
        return
    if size > settings.max_file_bytes():
        raise error("too_large_unpacked", path, lang=lang, packed_mb=path.stat().st_size / 2**20,
                    size_mb=size / 2**20, limit_mb=settings.max_file_bytes() / 2**20)


def _cells_check(path: Path, book, chosen: str, lang, before: int = 0) -> int:
    """The sheet's cells (``before``: those of the sheets read with it), refused over the limit."""
    size = book.size(chosen)
    if size is None:
        return before
    rows, columns, cells = size
    total = before + max(cells, rows * columns)
    if total > max_excel_cells():
        raise error("too_many_cells", path, lang=lang, sheet=chosen, rows=rows, columns=columns,
                    cells=total, limit=max_excel_cells())
    return total


ALL_SHEETS = "all"  # --sheet all: every sheet with the header most sheets share (a workbook of monthly sheets)


def _read_workbook(path: Path, kind: str, sheet, lang, prefer=None) -> tuple[pd.DataFrame, dict]:
    """A workbook (workbooks.py: .xlsx, .xls, an HTML table, Excel 2003 XML): one sheet, or all alike."""
    if kind == "xlsx":
        _unpacked_size_check(path, lang)
    text = decode(path.read_bytes(), path, lang)[0] if kind == "html" else None
    try:
        book = workbooks.open_book(path, kind, text)
    except Exception as exc:  # noqa: BLE001 - a corrupt zip, a password, a broken .xls or XML
        if kind == "xls" and workbooks.encrypted(path):
            raise error("password_protected", path, lang=lang) from None
        raise error("unreadable", path, lang=lang, kind=workbooks.KINDS[kind][1], detail=_short(exc)) from None
    names = book.sheet_names
    if not names:
        raise error("empty", path, lang=lang)
    chosen_by = None
    headers = {n: _header_names(book, n) for n in names} if len(names) > 1 else {}  # first rows only: cheap
    if sheet is None:
        chosen = book.default_sheet
        if prefer is not None and headers:  # a summary or cover sheet first: the sheet with the data
            scores = {n: prefer(header) for n, header in headers.items()}
            best = max(names, key=lambda n: scores[n])  # the first of equals
            if scores[best] > scores[chosen]:
                chosen, chosen_by = best, {"first": names[0], "found": scores[best]}
    elif str(sheet) in names:
        chosen = str(sheet)
    elif str(sheet).isdigit() and int(sheet) < len(names):
        chosen = names[int(sheet)]
    elif str(sheet).strip().casefold() == ALL_SHEETS:
        return _read_all_sheets(path, book, lang, prefer)
    else:
        raise error("sheet_not_found", path, lang=lang, sheet=sheet, sheets=", ".join(names))
    _cells_check(path, book, chosen, lang)
    frame, header_at, joined = _read_sheet(path, book, chosen, lang, prefer)
    top = _header_names(book, chosen) if joined and headers else list(frame.columns)  # as the other sheets' are peeked
    alike = [n for n in names if n != chosen and _header_key(headers[n]) == _header_key(top)]
    return frame, {"format": book.format, "sheet": chosen, "sheets": names, "header_line": header_at + 1,
                   "alike_sheets": alike, "duplicate_columns": frame.attrs.pop("duplicate_columns", []),
                   "uncalculated": frame.attrs.pop("uncalculated", {}), "merged_down": frame.attrs.pop("merged_down", {}),
                   "title": frame.attrs.pop("title", ""), **({"chosen_by": chosen_by} if chosen_by else {}),
                   **({"header_below": below} if (below := frame.attrs.pop("header_below", None)) else {}),
                   **({"joined_header": joined} if joined else {})}


def _read_sheet(path: Path, book, chosen: str, lang, prefer=None) -> tuple[pd.DataFrame, int, dict | None]:
    """One sheet's table below its title rows, indexed from 0 at the first line under the header, and
    the header's two rows joined (``_joined_header``) or None."""
    grid = book.grid(chosen).dropna(how="all").dropna(axis=1, how="all")
    if grid.empty:
        raise error("empty", path, lang=lang)
    found_at = _header_row(grid)
    below = [i for i in grid.index if i >= found_at][:3]
    header_at = below[_named_row([[str(v).strip() for v in grid.loc[i] if not pd.isna(v)] for i in below], prefer)]
    filled = _filled_down(grid, book, chosen, header_at)
    header = [None if pd.isna(v) else str(v).strip() for v in grid.loc[header_at]]
    if _no_header(list(grid.loc[header_at]), grid.loc[grid.index > header_at].head(50).to_numpy().tolist()):
        raise error("no_header", path, lang=lang, header=", ".join(h for h in header[:6] if h))
    _mojibake_check([h for h in header if h], path, lang)
    body = grid.loc[grid.index > header_at]
    columns = [h if h else f"Unnamed: {i}" for i, h in enumerate(header)]
    # index + header line + 1 = the sheet's row number, also when blank rows were dropped
    frame = pd.DataFrame(body.to_numpy(), columns=columns, index=body.index - header_at - 1)
    joined = _joined_header(frame, prefer)
    if joined:  # before typing: the sub-headers' words would make the columns text
        joined["rows"] = [header_at + 1, header_at + 2]
        frame = frame.iloc[1:].set_axis(joined["columns"], axis=1)
    empty = [at for at, col in enumerate(frame.columns) if frame.iloc[:, at].isna().all()]
    counts = book.uncalculated(chosen) if empty else {}
    uncalculated = {str(frame.columns[at]): counts[grid.columns[at]] for at in empty if counts.get(grid.columns[at])}
    frame, duplicates = _deduplicated(frame.infer_objects())
    at = {label: i for i, label in enumerate(grid.columns)}
    frame.attrs.update(duplicate_columns=duplicates, uncalculated=uncalculated,
                       merged_down={columns[at[c]]: n for c, n in filled.items()}, title=_title(grid, header_at),
                       header_below=_header_below([v for v in grid.loc[found_at] if not pd.isna(v)], header_at)
                       if header_at != found_at else None)
    for col in frame.columns:  # text cells as pandas' str, like read_csv gives them
        if frame[col].dtype == object and frame[col].map(lambda v: isinstance(v, str)).any():
            frame[col] = frame[col].map(lambda v: v if pd.isna(v) else str(v)).astype("str")
    return frame, header_at, joined


def _named_row(rows: list[list[str]], prefer) -> int:
    """Which of the first rows is the header: the first, unless a row below, as full as it, names more of
    the card's columns (at least two). DCS and SCADA exports write tag codes (TI-101, PI-102) over the names
    a card knows (노 온도, 압력); a header merged over two rows is joined instead (``_joined_header``)."""
    if prefer is None or len(rows) < 2:
        return 0
    rows = [[c for c in row if str(c).strip()] for row in rows]
    scores = [prefer(row) if len(row) >= len(rows[0]) else -1 for row in rows]  # a sub-header under a merged one is sparser
    best = max(range(len(rows)), key=lambda i: (scores[i], -i))
    return best if scores[best] > scores[0] and scores[best] >= 2 else 0


def _header_below(above: list, header_at: int) -> dict:
    """What a note says of a header read below the first well-filled row: its line and the row above."""
    cells = [str(v).strip() for v in above if str(v).strip()]
    return {"line": header_at + 1, "above": ", ".join(cells[:4]) + (", ..." if len(cells) > 4 else "")}


def _title(grid: pd.DataFrame, header_at: int) -> str:
    """The text above a sheet's table ('2024년 3월 5일 운전 일보'): a daily report's day is often only there."""
    above = grid.loc[grid.index < header_at]
    return " ".join(str(v).strip() for v in above.to_numpy().ravel() if not pd.isna(v) and str(v).strip())


def _filled_down(grid: pd.DataFrame, book, name: str, header_at: int) -> dict[int, int]:
    """Cells merged down over several data rows (a 설비 or LOT written once for its block of rows, as Excel
    reports do) hold the value in their first row only: each row below takes it. The cells filled, by the
    sheet's column; merges in the header rows are left as they are."""
    filled: dict[int, int] = {}
    for r1, c1, r2, _ in book.merges(name):
        if r2 <= r1 or r1 <= header_at or c1 not in grid.columns or r1 not in grid.index or pd.isna(grid.at[r1, c1]):
            continue
        below = [r for r in range(r1 + 1, r2 + 1) if r in grid.index and pd.isna(grid.at[r, c1])]
        if below:
            grid.loc[below, c1] = grid.at[r1, c1]
            filled[c1] = filled.get(c1, 0) + len(below)
    return filled


def _header_row(grid: pd.DataFrame) -> int:
    """Title rows above the table have few cells filled: the header is the first well-filled row."""
    filled = grid.notna().sum(axis=1)
    return int(next(i for i in grid.index if filled[i] >= max(1, int(filled.max() * 0.6))))


def _header_key(columns) -> tuple:
    return tuple(re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(c))).casefold() for c in columns
                 if not str(c).startswith("Unnamed:"))


def _header_names(book, name: str) -> list[str]:
    """A sheet's header, from its first rows only (cheap on a large sheet); [] for a sheet without one."""
    try:
        grid = book.grid(name, nrows=30)
    except Exception:  # noqa: BLE001 - a chart sheet or a broken one simply has no header
        return []
    grid = grid.dropna(how="all").dropna(axis=1, how="all")
    if grid.empty:
        return []
    return [str(v).strip() for v in grid.loc[_header_row(grid)] if not pd.isna(v)]


def _header_of(book, name: str) -> tuple:
    """A sheet's header as _header_key writes it."""
    return _header_key(_header_names(book, name))


def _read_all_sheets(path: Path, book, lang, prefer=None) -> tuple[pd.DataFrame, dict]:
    """Every sheet with the header most sheets share, one below the other (in the workbook's order); a row
    keeps its place as sheet and row (``row_labels``). Sheets with another header (notes, a summary) are left
    out and named."""
    names, cells, parts, read, skipped, first_joined = book.sheet_names, 0, [], [], [], None
    keys = {name: _header_of(book, name) for name in names}
    common = Counter(k for k in keys.values() if k).most_common(1)  # ties: the first sheet's (Counter keeps order)
    for name in names:
        if not common or keys[name] != common[0][0]:
            skipped.append(name)
            continue
        cells = _cells_check(path, book, name, lang, before=cells)
        frame, header_at, joined = _read_sheet(path, book, name, lang, prefer)
        if parts and len(frame.columns) != len(parts[0][1].columns):  # a column repeated in one month only
            skipped.append(name)
            continue
        parts.append((name, frame, header_at))
        first_joined = first_joined if read else joined
        read.append(name)
    if not parts:
        raise error("empty", path, lang=lang)
    first = list(parts[0][1].columns)
    places, start = [], 0
    for name, frame, header_at in parts:
        places.append([name, start, header_at + 2 + (int(frame.index[0]) if len(frame) else 0)])
        frame.columns = first  # the same header, written with other spaces or letter case
        frame.index = frame.index + start - frame.index[0] if len(frame) else frame.index
        start += len(frame)
    frame = pd.concat([f for _, f, _ in parts])
    return frame, {"format": book.format, "sheet": ALL_SHEETS, "sheets": names, "read_sheets": read,
                   "skipped_sheets": skipped, "header_line": parts[0][2] + 1, "places": places,
                   "titles": [f.attrs.get("title", "") for _, f, _ in parts],
                   "duplicate_columns": parts[0][1].attrs.get("duplicate_columns", []),
                   "uncalculated": {c: n for c, n in parts[0][1].attrs.get("uncalculated", {}).items()
                                    if frame[c].isna().all()},  # empty in every sheet read
                   "merged_down": dict(sum((Counter(p.attrs.get("merged_down", {})) for _, p, _ in parts), Counter())),
                   **({"joined_header": first_joined} if first_joined else {})}


def _joined_header(frame: pd.DataFrame, prefer=None) -> dict | None:
    """A header merged over two rows ('성분 (wt%)' over 탄소, 망간, ...) leaves unnamed header cells and a
    first 'data' row of sub-headers that is empty where the real data rows are filled. The two rows make
    one name per column: the sub-header after the name above it ('성분 (wt%) 탄소'), or the sub-header alone
    where that names more of the card's columns (``prefer``). None for a one-row header. Names that still
    repeat are numbered as any repeated name is (``_deduplicated``)."""
    unnamed = [i for i, c in enumerate(frame.columns) if str(c).startswith("Unnamed:")]
    if not unnamed or len(frame) < 2:
        return None
    first, filled = frame.iloc[0].to_numpy(), frame.iloc[1:].notna().mean().to_numpy()  # by position: names may repeat
    gaps = [i for i in range(len(first)) if pd.isna(first[i]) and filled[i] > 0.9]
    labels = [first[i] for i in unnamed if not pd.isna(first[i])]
    if not (gaps and labels):
        return None
    top = [None if str(c).startswith("Unnamed:") else str(c) for c in frame.columns]
    sub = [None if pd.isna(v) or not str(v).strip() else str(v).strip() for v in first]
    above, spread = None, []
    for t, s in zip(top, sub):  # a merged name covers the unnamed cells to its right that have sub-headers
        above = t if t is not None else above if s is not None else None
        spread.append(above)
    joined = [f"{t} {s}" if t and s else t or s or f"Unnamed: {i}" for i, (t, s) in enumerate(zip(spread, sub))]
    alone = [s or t or f"Unnamed: {i}" for i, (t, s) in enumerate(zip(spread, sub))]
    candidates = [names for names in (joined, alone) if len(set(names)) == len(names)] or [joined]
    names = max(candidates, key=prefer) if prefer is not None else candidates[0]  # the first of equals: joined
    return {"columns": names, "names": [n for n, c in zip(names, frame.columns) if n != c]}


# --- all formats -----------------------------------------------------------------------------------

def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop blank rows and blank unnamed columns (Excel's formatted-but-empty cells, a trailing
    delimiter); normalise header text (full-width characters, line breaks in Excel headers)."""
    frame = frame.dropna(how="all")
    blank = [c for c in frame.columns if str(c).startswith("Unnamed:") and frame[c].isna().all()]
    frame = frame.drop(columns=blank)
    frame.columns = [re.sub(r"\s+", " ", unicodedata.normalize("NFC", str(c))).strip() for c in frame.columns]
    return frame


def _short(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}".rstrip(": ")
