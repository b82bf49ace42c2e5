"""Time stamps a plant file writes in pieces: a date and a time of day (일자 | 시각), a date and an hour
number (KEPCO's 날짜 | 시간 1-24), or year, month, day (and hour, minute) columns (년 | 월 | 일 | 시); or in
the names of files read as one (a data logger's file a day, ``20240305.csv``, with the time of day inside;
a file a year, ``gt_2011.csv``). Where a card's time column is absent, the pieces make it, so the split by
time and the rows' order hold."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from .mapping import normal
from .parsing import parse_clock_times, parse_dates
from .reading import place_of

# column names (as mapping.normal writes them) of each field
FIELDS = {
    "year": {"년", "연", "연도", "년도", "year", "yyyy", "yr"},
    "month": {"월", "month", "mon", "mm"},
    "day": {"일", "day", "dd"},
    "hour": {"시", "시간", "hour", "hr", "hh", "시간대"},
    "minute": {"분", "minute", "mi"},
}
RANGES = {"year": (1900, 2200), "month": (1, 12), "day": (1, 31), "hour": (0, 24), "minute": (0, 59)}


def pieces(frame: pd.DataFrame, candidates: list) -> tuple[list[str], str] | None:
    """The columns among ``candidates`` that write one time stamp, and how: ``clock`` (a date and a time of
    day), ``hour`` (a date and an hour number) or ``fields`` (year, month, day[, hour[, minute]]); None
    where the file has no such set, or more than one."""
    candidates = list(candidates)[:50]  # bounded: a wide export stays quick
    fields = {field: [c for c in candidates if normal(c) in names and _in_range(frame[c], field)]
              for field, names in FIELDS.items()}
    if all(len(fields[f]) == 1 for f in ("year", "month", "day")):
        parts = [fields[f][0] for f in ("year", "month", "day")]
        for finer in ("hour", "minute"):
            if len(fields[finer]) != 1:
                break
            parts.append(fields[finer][0])
        return parts, "fields"
    dates, clocks = [], []
    for name in candidates:
        sample = frame[name].dropna().head(200)
        if sample.empty or pd.api.types.is_bool_dtype(sample):
            continue
        if not pd.api.types.is_numeric_dtype(sample) and parse_clock_times(sample).notna().mean() >= 0.95:
            clocks.append(name)
        elif pd.api.types.is_datetime64_any_dtype(sample) or not pd.api.types.is_numeric_dtype(sample):
            stamps = parse_dates(sample).values
            if stamps.notna().mean() >= 0.95 and (stamps.dropna() == stamps.dropna().dt.normalize()).all():
                dates.append(name)
    if len(dates) != 1:
        return None
    if len(clocks) == 1:
        return [dates[0], clocks[0]], "clock"
    if len(fields["hour"]) == 1 and not clocks:
        return [dates[0], fields["hour"][0]], "hour"
    return None


def _in_range(series: pd.Series, field: str) -> bool:
    numbers = pd.to_numeric(series, errors="coerce")
    low, high = RANGES[field]
    given = numbers.dropna()
    return (len(given) >= 0.95 * series.notna().sum() > 0 and bool((given == given.round()).all())
            and low <= given.min() and given.max() <= high)


def hours_ending(frame: pd.DataFrame, column: str) -> bool:
    """Hours numbered 1-24 (a day's 24th hour ends at midnight, as KEPCO writes them), not 0-23."""
    hours = pd.to_numeric(frame[column], errors="coerce").dropna()
    return bool(len(hours)) and hours.min() >= 1 and hours.max() == 24


def hour_column(parts: list[str], how: str) -> str | None:
    """The piece that holds the hour number, if one does."""
    return parts[1] if how == "hour" else parts[3] if how == "fields" and len(parts) > 3 else None


def stamps(frame: pd.DataFrame, parts: list[str], how: str) -> pd.Series:
    """The time stamps the pieces write; an hour numbered 1-24 is stamped at its start (hour 1: 00:00)."""
    if how == "clock":
        return parse_dates(frame[parts[0]]).values + parse_clock_times(frame[parts[1]])
    column = hour_column(parts, how)
    hour = pd.to_numeric(frame[column], errors="coerce") - int(hours_ending(frame, column)) if column else 0
    if how == "hour":
        return parse_dates(frame[parts[0]]).values + pd.to_timedelta(hour, unit="h")
    year, month, day, *_ = (pd.to_numeric(frame[p], errors="coerce") for p in parts)
    minute = pd.to_numeric(frame[parts[4]], errors="coerce") if len(parts) > 4 else 0
    return pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": day, "hour": hour, "minute": minute}),
                          errors="coerce").astype("datetime64[ns]")


# a date in a title or a file's name: '2024년 3월 5일', '2024-03-05', 'LOG20240305'; a month: '2024년 3월', '202403'
_DATES = (re.compile(r"(\d{4})\s*[-./_년]\s*(\d{1,2})\s*[-./_월]\s*(\d{1,2})"),
          re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)"))
_MONTHS = (re.compile(r"(\d{4})\s*[-./_년]\s*(\d{1,2})()(?!\d)"), re.compile(r"(?<!\d)(\d{4})(\d{2})()(?!\d)"))
_NAME_YEAR = re.compile(r"(?<!\d)(19\d\d|2[01]\d\d)(?!\d)")


def from_names(frame: pd.DataFrame, places: list | None, candidates: list, year: bool) -> tuple[pd.Series, dict] | None:
    """Time stamps from the names of the files (or sheets) read one below the other (``places``): each
    name's date, plus the time of day where exactly one column holds it; or, where the time column is a
    ``year``, each name's year. None unless every name holds one (and the names more than one year)."""
    if not places or frame.empty:
        return None
    names = [str(p[0]) for p in places]
    block = place_of(frame.index, places)
    if year:
        years = [int(m[1]) if (m := _NAME_YEAR.search(n)) else None for n in names]
        if None in years or len(set(years)) < 2:
            return None
        return pd.Series(np.array(years)[block], index=frame.index), {"what": "year", "first": names[0], "last": names[-1]}
    days = [date_in(n) for n in names]
    if None in days:
        return None
    day = pd.Series(pd.to_datetime(np.array(days, dtype="datetime64[ns]")[block]), index=frame.index)
    clocks = [c for c in list(candidates)[:50] if not pd.api.types.is_numeric_dtype(frame[c])
              and parse_clock_times(frame[c].dropna().head(200)).notna().mean() >= 0.95]
    if len(clocks) > 1:
        return None
    found = {"what": "date", "first": names[0], "last": names[-1], "clock": clocks[0] if clocks else None}
    return (day + parse_clock_times(frame[clocks[0]]) if clocks else day), found


def date_in(text: str, monthly: bool = False) -> dt.date | None:
    """The first real date written in a title or a name (with ``monthly``, the first month: its first day)."""
    for pattern in _MONTHS if monthly else _DATES:
        for year, month, day in pattern.findall(text):
            try:
                return dt.date(int(year), int(month), int(day or 1))
            except ValueError:
                continue
    return None
