"""A scoring request, checked against the card before any model sees it: MLflow's JSON request formats
read into columns, names mapped onto the card as a file's header is (Korean aliases, case, units), and
every value checked in plain Python (each record has the columns the model reads, numbers are numbers
inside the card's physical limits, labels are text, dates are dates in a plausible window). Anything
wrong is a ``RequestError``: a 4xx status and one paragraph naming the column and the fix.

Both serving processes (`workbench serve ID` and `workbench serve --all`) use this module, so they
refuse the same requests with the same messages.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from . import data, jsonstream, parsing
from .cards import Card, Column
from .errors import WorkbenchError

FORMATS = ("dataframe_split", "dataframe_records", "inputs", "instances")  # MLflow's request keys
TYPES = {"numeric": "double", "category": "string", "datetime": "datetime"}
DATE_YEARS = (1970, 2100)  # a datetime column's window unless its card gives years as min/max
_ABSENT = object()  # a record without the key (not the same as a null value)
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


@dataclass(frozen=True)
class Limits:
    """What one request may cost: its body, rows, columns and rows x columns; seconds of work, how long
    it may wait for a free worker before it is told to come back (503 and Retry-After), and how long
    its body may take to arrive (408: a client trickling bytes holds no worker, but not forever)."""

    body_bytes: int = 32 * 1024 * 1024
    rows: int = 100_000
    columns: int = 256
    cells: int = 4_000_000
    seconds: float = 60.0
    queue_seconds: float = 10.0
    body_seconds: float = 30.0


class RequestError(Exception):
    """A request the caller must fix (or retry): HTTP status, message, the column when there is one."""

    CODES = {400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 404: "RESOURCE_DOES_NOT_EXIST", 413: "REQUEST_TOO_LARGE",
             408: "REQUEST_TIMEOUT", 415: "UNSUPPORTED_MEDIA_TYPE", 422: "INVALID_PARAMETER_VALUE",
             503: "TEMPORARILY_UNAVAILABLE"}

    def __init__(self, status: int, message: str, column: str | None = None, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.message, self.column, self.retry_after = status, message, column, retry_after

    def body(self) -> dict:
        return {"error_code": self.CODES.get(self.status, "BAD_REQUEST"), "message": self.message,
                **({"column": self.column} if self.column else {})}

    def headers(self) -> dict:
        return {"Retry-After": str(self.retry_after)} if self.retry_after else {}


class Deadline:
    """The time a request's work may take; checked between the steps of the work."""

    def __init__(self, seconds: float):
        self.seconds, self.ends = seconds, time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.ends:
            raise RequestError(503, f"The request took more than {self.seconds:g} s of work and was stopped: "
                                    f"send fewer rows per request, or score files with `workbench predict`.",
                               retry_after=max(1, int(self.seconds)))


# --- the body to columns ----------------------------------------------------------------------------

def parse(body: bytes, positional: list[str], limits: Limits = Limits()) -> dict[str, list]:
    """MLflow's JSON request formats to ``{column: values}``: ``dataframe_split``, ``dataframe_records``,
    ``inputs``/``instances`` as columns (``{"a": [..]}``), records, or rows in ``positional`` order.
    In records, a key a record lacks is ``_ABSENT`` (a null is None)."""
    if not body or not body.strip():
        raise RequestError(400, "The request body is empty: send a JSON object such as "
                                '{"dataframe_records": [{"column": value, ...}]}.')
    try:
        payload = jsonstream.loads(body.decode("utf-8-sig"))  # JSON on the wire is UTF-8 (RFC 8259)
    except RecursionError:
        raise RequestError(400, "The request body nests JSON too deeply: send a flat table of rows.") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an integer of thousands of digits
        raise RequestError(400, f"The request body is not valid UTF-8 JSON ({_reason(exc)}).") from None
    if _SURROGATE.search(body) and _has_lone_surrogate(payload):
        raise RequestError(400, "The request body holds a lone UTF-16 surrogate escape (such as \\ud800), which "
                                "is no character: send the text as UTF-8, or escape both halves of a pair.")
    if not isinstance(payload, dict):
        raise RequestError(400, f"The body must be a JSON object with one of {list(FORMATS[:3])}, "
                                f"not a {type(payload).__name__}.")
    keys = [k for k in payload if k in FORMATS]
    extra = [k for k in payload if k not in FORMATS and k != "params"]
    if len(keys) != 1 or extra:
        raise RequestError(400, f"The body must have exactly one of {list(FORMATS[:3])} (and optionally "
                                f"'params'); it has {[_short(k, 40) for k in list(payload)[:10]]}.")
    kind, content = keys[0], payload[keys[0]]
    if kind == "dataframe_split":
        return _split(content, limits)
    if kind == "dataframe_records":
        return _records(content, kind, limits)
    if isinstance(content, dict):
        return _column_dict(content, kind, limits)
    if isinstance(content, list) and content and all(isinstance(r, list) for r in content):
        return _split({"columns": positional, "data": content}, limits, kind)
    return _records(content, kind, limits)


def _reason(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
    if isinstance(exc, UnicodeDecodeError):
        return f"byte {exc.start} is not UTF-8"
    return "a number too long to read" if "digits" in str(exc) else "unreadable"


def _has_lone_surrogate(value) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _short(text, n: int = 60) -> str:
    return text if len(text) <= n else text[:n] + "..."


def _size(rows: int, columns: int, limits: Limits) -> None:
    if rows == 0:
        raise RequestError(400, "The request has no rows.")
    if rows > limits.rows:
        raise RequestError(413, f"The request has {rows} rows; at most {limits.rows} per request. Split it, or "
                                f"score files with `workbench predict`.")
    if columns > limits.columns:
        raise RequestError(413, f"The request has {columns} column names; at most {limits.columns}. Send the "
                                f"card's columns only (GET /models/ID/schema lists them).")
    if rows * columns > limits.cells:
        raise RequestError(413, f"The request has {rows} rows x {columns} columns; at most {limits.cells} values "
                                f"per request. Send fewer rows, or only the card's columns.")


def _split(content, limits: Limits, kind="dataframe_split") -> dict[str, list]:
    if not isinstance(content, dict) or set(content) - {"columns", "data", "index"}:
        raise RequestError(400, f"{kind} must be an object with 'columns' and 'data' (and optionally 'index').")
    columns, rows = content.get("columns"), content.get("data")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise RequestError(400, f"{kind}.columns must be a list of column names.")
    if not isinstance(rows, list):
        raise RequestError(400, f"{kind}.data must be a list of rows.")
    _size(len(rows), len(columns), limits)
    if len(set(columns)) != len(columns):
        raise RequestError(400, f"{kind}.columns names a column twice.")
    width = len(columns)
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            raise RequestError(400, f"{kind}.data row {i} must be a list of {width} values, one per column.")
    return {name: [row[j] for row in rows] for j, name in enumerate(columns)}


def _records(content, kind, limits: Limits) -> dict[str, list]:
    if not isinstance(content, list) or not all(isinstance(r, dict) for r in content):
        raise RequestError(400, f"{kind} must be a list of records (objects of column: value).")
    names = dict.fromkeys(k for record in content for k in record)  # union of keys, in first-seen order
    _size(len(content), len(names), limits)
    return {name: [record.get(name, _ABSENT) for record in content] for name in names}


def _column_dict(content: dict, kind, limits: Limits) -> dict[str, list]:
    lists = {k: v for k, v in content.items() if isinstance(v, list)}
    if lists and len(lists) != len(content):
        raise RequestError(400, f"{kind} as an object needs a list of values for every column, or a single "
                                f"value for every column.")
    if not lists:
        content = {k: [v] for k, v in content.items()}
    lengths = {len(v) for v in content.values()}
    if len(lengths) > 1:
        raise RequestError(400, f"{kind}: the columns have different numbers of values {sorted(lengths)[:5]}.")
    _size(lengths.pop() if lengths else 0, len(content), limits)
    return dict(content)


# --- columns to the model's frame ------------------------------------------------------------------

def card_names(card: Card, names: tuple[str, ...], cache: dict) -> tuple[str, ...]:
    """Request names mapped onto card names exactly as a file's header is (Korean aliases, case, units);
    remembered per model, since clients send the same header again and again. Two request columns
    that could both be one card column are the caller's to resolve (422)."""
    found = cache.get(names)
    if found is None:
        try:
            found = tuple(data.map_columns(pd.DataFrame(columns=list(names)), card, None, "request").columns)
        except WorkbenchError as exc:
            column = getattr(exc, "column", None)
            said = str(getattr(exc, "message", exc)).replace(" of the file ", " of the request ")
            raise RequestError(422, f"{_short(said, 400)} Send one column per card column (GET "
                                    f"/models/{card.id}/schema lists them).", column=column) from None
        if len(cache) < 256:  # a client inventing names cannot grow it without bound
            cache[names] = found
    return found


def frame_from(columns: dict[str, list], card: Card, specs: list[Column], cache: dict | None = None,
               deadline: Deadline | None = None) -> pd.DataFrame:
    """Check request columns against the card (present in every row, typed, in range) and build the
    model's frame. Raises RequestError(422) naming the column."""
    mapped = card_names(card, tuple(columns), {} if cache is None else cache)
    if len(set(mapped)) != len(mapped):
        twice = sorted({m for m in mapped if mapped.count(m) > 1})
        raise RequestError(422, f"Two request columns mean the same card column {twice[0]}: send it once.",
                           column=twice[0])
    values = dict(zip(mapped, columns.values()))
    rows = len(next(iter(values.values()), []))
    missing = [c for c in specs if c.required and c.name not in values]
    if missing:
        described = ", ".join(f"{c.name} ({TYPES[c.kind]}{', ' + c.unit if c.unit else ''})" for c in missing[:8])
        raise RequestError(422, f"Missing column(s): {described}. See GET /models/{card.id}/schema.",
                           column=missing[0].name)
    present = [c for c in specs if c.name in values]
    for col in present:  # records: each one must carry the columns the model reads (null is allowed)
        vals = values[col.name]
        if _ABSENT in vals:
            i = next(i for i, v in enumerate(vals) if v is _ABSENT)
            if col.required:
                raise RequestError(422, f"Record {i} has no {col.name}: every record needs every column the model "
                                        f"reads (null where the reading is missing).", column=col.name)
            values[col.name] = [None if v is _ABSENT else v for v in vals]
    if deadline:
        deadline.check()
    numeric = [c for c in present if c.kind == "numeric"]
    numbers = np.empty((len(numeric), rows))
    for k, col in enumerate(numeric):
        numbers[k] = _numbers(values[col.name], col)
    _check_ranges(numbers, numeric, values)
    others = {c.name: _dates(values[c.name], c) if c.kind == "datetime" else _labels(values[c.name], c)
              for c in present if c.kind != "numeric"}
    _check_not_empty(numbers, numeric, others, present)
    if deadline:
        deadline.check()
    # The numbers as one 2-D block, the few text and date columns put in their places: a block per
    # column (what a dict of arrays gives) makes every later step of a feature function slower.
    frame = pd.DataFrame(numbers.T, columns=pd.Index([c.name for c in numeric], dtype=object), copy=False)
    for i, col in enumerate(present):
        if col.kind != "numeric":
            frame.insert(i, col.name, others[col.name])
    return frame


def _check_not_empty(numbers: np.ndarray, numeric: list[Column], others: dict, present: list[Column]) -> None:
    """A row with no value in any column the model reads gives a prediction of nothing: refused."""
    reads = [k for k, c in enumerate(numeric) if c.required]
    empty = np.isnan(numbers[reads]).all(axis=0) if reads else np.ones(numbers.shape[1], dtype=bool)
    for col in present:
        if col.required and col.kind != "numeric":
            empty &= pd.isna(others[col.name])
    if empty.any() and any(c.required for c in present):
        i = int(np.argmax(empty))
        raise RequestError(422, f"Row {i} has no value in any column the model reads: send its readings, or "
                                f"leave the row out.", column=next(c.name for c in present if c.required))


def _bad(col: Column, i: int, value, expected: str) -> RequestError:
    shown = _short(json.dumps(value)) if not isinstance(value, float) else repr(value)
    return RequestError(422, f"Column {col.name}, row {i}: expected {expected}, got {shown}.", column=col.name)


def _labels(values: list, col: Column):
    out = []
    for i, v in enumerate(values):
        if v is None or type(v) is str:
            out.append(v)
        elif type(v) in (int, float):
            out.append(None if v != v else str(v))
        else:
            raise _bad(col, i, v, "a text or number label")
    return pd.array(out, dtype="str")


def _numbers(values: list, col: Column) -> list[float]:
    """JSON numbers, nulls and numbers written as text ("1,234.5") as floats; anything else names the column."""
    out = []
    for i, v in enumerate(values):
        t = type(v)
        if t is float:
            out.append(v)
        elif t is int:
            try:
                out.append(float(v))
            except OverflowError:
                raise _bad(col, i, v, "a number in the double range") from None
        elif v is None:
            out.append(np.nan)
        elif t is str:
            try:
                out.append(float(v.replace(",", "").strip() or "nan"))
            except ValueError:
                raise _bad(col, i, v, f"a number{' in ' + col.unit if col.unit else ''}") from None
        else:
            raise _bad(col, i, v, f"a number{' in ' + col.unit if col.unit else ''}")
    return out


def _check_ranges(numbers: np.ndarray, numeric: list[Column], values: dict[str, list]) -> None:
    """Every numeric column against the card's range at once (one row per column in ``numbers``)."""
    low = np.array([-np.inf if c.min is None else c.min for c in numeric])[:, None]
    high = np.array([np.inf if c.max is None else c.max for c in numeric])[:, None]
    bad = np.isinf(numbers) | (numbers < low) | (numbers > high)  # NaN (missing) is allowed
    if bad.any():
        k, i = (int(x) for x in np.argwhere(bad)[0])
        col = numeric[k]
        unit = f" {col.unit}" if col.unit else ""
        raise RequestError(422, f"Column {col.name}, row {i}: {_short(repr(values[col.name][i]))} is outside the "
                                f"allowed range [{col.min}, {col.max}]{unit}.", column=col.name)


def date_window(col: Column) -> tuple[int, int]:
    """The years a datetime column's stamps may fall in: the card's min and max where it gives them
    (read as years), else DATE_YEARS."""
    return (int(col.min) if col.min is not None else DATE_YEARS[0], int(col.max) if col.max is not None else DATE_YEARS[1])


def _dates(values: list, col: Column):
    """Date text to datetime64 (wall clock kept, a time zone suffix dropped): ISO 8601 read directly,
    other spellings as in files (Korean, slashed day/month when the order is certain). Never wrapped:
    a stamp outside the column's window is refused, and so are words such as 'now' or 'today', which
    say when the request was sent, not when the reading was taken."""
    low, high = date_window(col)
    example = "a date such as \"2024-05-01 08:30:00\""
    stamps: list = [None] * len(values)
    slow: dict[int, str] = {}
    for i, v in enumerate(values):
        if v is None:
            continue
        if type(v) is not str:
            raise _bad(col, i, v, example)
        try:
            stamp = datetime.fromisoformat(v)
        except ValueError:
            if not any(ch.isdigit() for ch in v):
                raise _bad(col, i, v, example + " (words such as 'now' or 'today' are not a reading's time)") from None
            slow[i] = v
            continue
        if not low <= stamp.year < high:
            raise _outside(col, i, v, low, high)
        stamps[i] = stamp.replace(tzinfo=None) if stamp.tzinfo is not None else stamp
    if slow:  # other spellings, read as files read them (each distinct text once)
        found = parsing.parse_dates(pd.Series(list(slow.values()), dtype="str"), order=col.date_order)
        rows = list(slow)
        for k in range(len(rows)):
            if found.outside.iloc[k]:
                raise _outside(col, rows[k], slow[rows[k]], low, high)
            if found.bad.iloc[k]:
                raise _bad(col, rows[k], slow[rows[k]], example)
        if found.ambiguous is not None:
            k = next(k for k in range(len(rows)) if slow[rows[k]] == found.ambiguous)
            raise RequestError(422, f"Column {col.name}, row {rows[k]}: {_short(json.dumps(found.ambiguous))} could "
                                    f"be day/month or month/day: send ISO dates (\"2024-05-01 08:30:00\").",
                               column=col.name)
        for k, stamp in enumerate(found.values):
            if not low <= stamp.year < high:
                raise _outside(col, rows[k], slow[rows[k]], low, high)
            stamps[rows[k]] = stamp.to_pydatetime()
    out = np.empty(len(stamps), dtype="datetime64[ns]")
    for start in range(0, len(stamps), 10_000):  # in slices: one C call per slice, short
        out[start:start + 10_000] = np.array(stamps[start:start + 10_000], dtype="datetime64[ns]")
    return out


def _outside(col: Column, i: int, value, low: int, high: int) -> RequestError:
    return RequestError(422, f"Column {col.name}, row {i}: {_short(json.dumps(value))} is outside the plausible "
                             f"years {low} to {high - 1}: send the reading's real time stamp.", column=col.name)
