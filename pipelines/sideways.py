"""Daily reports laid sideways (운전 일보, 일일 점검표): a row per item (대기 온도, 배기 진공, ...) and a column per
hour of the day (``01:00 ... 24:00``, ``1시 ... 24시``) or per time stamp, as plants keep them on paper and in
Excel. Turned to the row per time stamp a card reads, with a column per item.

A file is sideways when one of its text columns holds the card's column names as values (at least two, and
more than its header names) and at least three of its header cells are times. A column of the day's hours
needs the day: it is taken from the title above the table (``2024년 3월 5일 운전 일보``), else from the sheet's
or the file's name (``--sheet all`` and ``--data FOLDER`` read a day per sheet or per file, each turned on its
own). ``24:00`` and ``24시`` are 00:00 of the next day. Columns that are neither an item nor a time (단위, 평균,
최대, 비고) are left aside; what was done is in ``attrs["reading"]["turned"]`` for a note.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from .mapping import columns_holding, naming_column, normal, wanted_names
from .reading import place_of
from .time_parts import date_in

MIN_TIMES = 3  # header cells that must be times
MIN_ITEMS = 2  # card columns that must be items
TIME = "시각"  # the time column's name where no card names it
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_HOUR = re.compile(r"^(\d{1,2})(?:\.0)?\s*(?:시|h|H|hr|時)?$")
_DAY = re.compile(r"^(\d{1,2})\s*일$")
_STAMP = re.compile(r"\d{4}\s*[-./년]\s*\d{1,2}\s*[-./월]\s*\d{1,2}")


def header_time(name) -> tuple[str, object] | None:
    """What a header cell says as a time: ('stamp', Timestamp), ('clock', hours after midnight as a
    Timedelta, 24:00 included), ('hour', the same for '1시', '13') or ('day', the day of the month of a
    monthly report's '1일'); None for any other name."""
    text = str(name).strip()
    clock = _CLOCK.match(text)
    if clock:
        hour, minute, second = int(clock[1]), int(clock[2]), int(clock[3] or 0)
        if hour < 24 and minute < 60 and second < 60 or (hour, minute, second) == (24, 0, 0):
            return "clock", pd.Timedelta(hours=hour, minutes=minute, seconds=second)
        return None
    day = _DAY.match(text)
    if day:
        return ("day", int(day[1])) if 1 <= int(day[1]) <= 31 else None
    hour = _HOUR.match(text)
    if hour:
        return ("hour", pd.Timedelta(hours=int(hour[1]))) if int(hour[1]) <= 24 else None
    if _STAMP.search(text):
        stamp = pd.to_datetime(text, errors="coerce")
        return ("stamp", stamp) if not pd.isna(stamp) else None
    return None


def found(frame: pd.DataFrame, card, column_map: dict | None = None) -> dict | None:
    """The item column and the time columns of a sideways file, or None for a file that is not one."""
    times = _times(frame)
    if times is None:
        return None
    wanted = wanted_names(card, column_map)
    in_header = sum(normal(c) in wanted for c in frame.columns)
    best, items = naming_column(frame, wanted, skip=times)
    if best is None or items < MIN_ITEMS or items <= in_header:
        return None
    return _layout(frame, best, times, items)


def itemized(frame: pd.DataFrame, target: str) -> dict | None:
    """The layout of a sideways file whose item column holds ``target`` among its values (``workbench new``
    on a daily report, before any card exists), or None."""
    times = _times(frame)
    if times is None:
        return None
    items = columns_holding(frame, target, skip=times)
    return _layout(frame, items[0], times, int(frame[items[0]].nunique())) if len(items) == 1 else None


def _times(frame: pd.DataFrame) -> dict | None:
    """The header cells that are times, all of one kind (hours and clocks go together), or None."""
    times = {c: t for c in frame.columns if (t := header_time(c)) is not None}
    kinds = {t[0] for t in times.values()}
    return times if len(times) >= MIN_TIMES and (len(kinds) == 1 or kinds == {"clock", "hour"}) else None


def _layout(frame: pd.DataFrame, item, times: dict, card_items: int) -> dict:
    return {"item": item, "times": times, "card_items": card_items,
            "aside": [c for c in frame.columns if c != item and c not in times]}


def turned(frame: pd.DataFrame, card, column_map: dict | None = None) -> pd.DataFrame:
    """The file as a card reads it: unchanged unless sideways; then a row per time column (of each day's
    sheet or file), the card's time column made where the day is known, a column per item."""
    layout = found(frame, card, column_map)
    return frame if layout is None else turn(frame, layout, card.time.column if card.time else TIME)


def turn(frame: pd.DataFrame, layout: dict, time_name: str = TIME) -> pd.DataFrame:
    """A row per time column of each table (``layout`` from ``found`` or ``itemized``), a column per item."""
    item, times = layout["item"], layout["times"]
    stamped = next(iter(times.values()))[0] == "stamp"
    parts, undated, dated_by, repeated = [], [], set(), 0
    for name, title, labels in _blocks(frame):
        block = frame.loc[labels]
        block = block[block[item].notna()]
        keys = block[item].astype(str).str.strip()
        repeated += int(keys.duplicated().sum())
        block, keys = block[~keys.duplicated()], keys[~keys.duplicated()]
        values = pd.DataFrame(block[list(times)].to_numpy().T, columns=keys.to_numpy())
        if stamped:
            when = pd.Series([times[c][1] for c in times])
        else:
            monthly = next(iter(times.values()))[0] == "day"
            day, source = _day(title, name, monthly)
            if day is None:
                undated.append(name or "-")
                when = pd.Series([str(c) for c in times])  # the times of day (days of a month) alone, as written
            else:
                dated_by.add(source)
                when = pd.Series([_on(day, times[c][1]) if monthly else pd.Timestamp(day) + times[c][1] for c in times])
        parts.append(values.assign(**{time_name: when})[[time_name, *values.columns]])
    out = pd.concat(parts, ignore_index=True)
    for col in out.columns[1:]:  # numbers as numbers where every reading of the item is one
        numbers = pd.to_numeric(out[col], errors="coerce")
        if numbers.notna().sum() == out[col].notna().sum():
            out[col] = numbers
    out.columns = [str(c) for c in out.columns]
    reading = {k: v for k, v in frame.attrs.get("reading", {}).items() if k not in ("places", "titles")}
    first, last = list(times)[0], list(times)[-1]
    out.attrs = {**frame.attrs, "reading": {**reading, "header_line": 0, "turned": {
        "item": str(item), "first": str(first), "last": str(last), "times": len(times), "blocks": len(parts),
        "rows": len(out), "items": out.shape[1] - 1, "card_items": layout["card_items"],
        "aside": [str(c) for c in layout["aside"]], "dated_by": sorted(dated_by), "undated": undated,
        "repeated": repeated, "time": time_name}}}
    return out


def _blocks(frame: pd.DataFrame) -> list[tuple[str | None, str, list]]:
    """(name, title, index labels) of each day's table: the sheets (``--sheet all``) or files (a folder)
    read one below the other, or the one table with the title above it."""
    reading = frame.attrs.get("reading", {})
    places, titles = reading.get("places"), reading.get("titles")
    if not places:
        return [(None, reading.get("title", ""), list(frame.index))]
    at = place_of(frame.index, places)
    return [(str(p[0]), (titles or [""] * len(places))[i], list(frame.index[at == i])) for i, p in enumerate(places)]


def _on(month: dt.date, day: int):
    """A monthly report's day; NaT for a day its month does not have (2월 30일)."""
    try:
        return pd.Timestamp(month.replace(day=day))
    except ValueError:
        return pd.NaT


def _day(title: str, name: str | None, monthly: bool = False) -> tuple[dt.date | None, str | None]:
    """The day a table's times of day belong to (a monthly report's month: its first day): a date in its
    title, else in its sheet's or file's name."""
    for text, source in ((title, "title"), (name or "", "name")):
        found = date_in(str(text), monthly)
        if found is not None:
            return found, source
    return None, None
