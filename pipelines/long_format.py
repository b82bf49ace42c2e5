"""Historian, SCADA and MES exports in long form, one reading per row (``시간, 태그, 값`` or ``LOT, 검사항목,
측정값``), widened to the one row per time stamp (and unit) with a column per tag that a card reads.

A file is long when one of its text columns holds the card's column names as values (at least two, and
more than its header names) beside a column of values. Historians store a tag's reading when it changes,
so where the rows are time stamps a tag without a reading at one takes its previous value in the same
unit (said in a note); a reading written as empty stays missing, and so does a lot's missing test. Each
widened row keeps the index of its first line in the file, so messages and ``input_row`` point there.
"""

from __future__ import annotations

import re

import pandas as pd

from .mapping import naming_column, normal, wanted_names

VALUE_NAMES = {"value", "values", "val", "reading", "data", "pv",  # the value column's usual names
               "값", "측정값", "측정치", "결과값", "수치", "데이터"}
MIN_TAGS = 2


def found(frame: pd.DataFrame, card, column_map: dict | None = None) -> dict | None:
    """Which columns hold the tag, the value and the keys (time, unit) of a long file, or None for a wide one."""
    if frame.empty or len(frame.columns) > 12:  # a wide file has a column per reading
        return None
    wanted = wanted_names(card)
    in_header = sum(normal(c) in wanted for c in frame.columns)
    best, tags = naming_column(frame, wanted)
    if best is None or tags < MIN_TAGS or tags <= in_header:
        return None
    named = {(column_map or {}).get(c) or wanted.get(normal(c)): c for c in frame.columns if c != best}
    layout = tagged(frame, best, time=named.get(card.time.column) if card.time else None,
                    unit=named.get(card.group.column) if card.group else None,
                    not_values={c for c in frame.columns if normal(c) in wanted})
    return layout and {**layout, "tags": tags}


def tagged(frame: pd.DataFrame, tag, time=None, unit=None, not_values=()) -> dict | None:
    """The layout of a long file whose tag column is known: the value column beside it, and the keys that
    tell one widened row from another (the time and unit columns where known, else every other column
    but those that only describe a tag, such as its unit of measure); None without a value column. A
    numeric column in ``not_values`` (one named as a card column) is not taken for the values."""
    rest = [c for c in frame.columns if c != tag]
    value = next((c for c in rest if _squash(c) in VALUE_NAMES), None)
    if value is None:
        numeric = [c for c in rest if pd.api.types.is_numeric_dtype(frame[c]) and c not in not_values]
        value = numeric[0] if len(numeric) == 1 else None
    if value is None:
        return None
    others = [c for c in rest if c != value]
    described = [c for c in others if c not in (time, unit) and _describes_tag(frame, tag, c)]
    keys = [c for c in (time, unit) if c is not None] or [c for c in others if c not in described] or others
    return {"tag": tag, "value": value, "keys": keys, "unit": unit, "described": described,
            "tags": int(frame[tag].nunique())}


def _describes_tag(frame: pd.DataFrame, tag, column) -> bool:
    """A column with one value per tag (its unit, its description) where tags repeat: not a key of a row."""
    pairs = frame[[tag, column]].dropna(subset=[tag])
    return bool(pairs[tag].duplicated().any()) and bool((pairs.groupby(tag)[column].nunique() <= 1).all())


def _squash(name) -> str:
    return re.sub(r"[\s_\-\.()\[\]]+", "", str(name)).lower()


def widened(frame: pd.DataFrame, card, column_map: dict | None = None) -> pd.DataFrame:
    """The file as a card reads it: unchanged when wide; when long, one row per key with a column per tag,
    what was done in ``attrs["reading"]["widened"]`` for a note."""
    layout = found(frame, card, column_map)
    return frame if layout is None else widen(frame, layout)


def widen(frame: pd.DataFrame, layout: dict) -> pd.DataFrame:
    """One row per key with a column per tag (``layout`` from ``found`` or ``tagged``)."""
    from .parsing import parse_dates  # the keys' true time order, for 'the previous value'

    tag, value, keys = layout["tag"], layout["value"], layout["keys"]
    long = frame.dropna(subset=[tag]).assign(**{tag: lambda f: f[tag].astype(str).str.strip()})
    sort = [f"_key{i}" for i in range(len(keys))]
    timed = False
    for name, col in zip(sort, keys):
        stamps = None if pd.api.types.is_numeric_dtype(long[col]) else parse_dates(long[col]).values
        is_time = stamps is not None and stamps.notna().mean() > 0.9
        timed |= is_time
        long[name] = stamps if is_time else long[col]
    long["_first"] = long.index
    repeated = int(long.duplicated([*sort, tag]).sum())
    readings = long.drop_duplicates([*sort, tag]).set_index([*sort, tag])[value]
    written_empty = readings.isna().unstack(tag, fill_value=False)  # a reading given as empty stays missing
    readings = readings.unstack(tag)
    groups = long.groupby(sort, dropna=False)
    extra = [c for c in long.columns if c not in (tag, value, "_first", *sort, *layout["described"])]
    attributes = groups[extra].first()  # the keys as written, and what is the same for every reading of a key
    units = [name for name, col in zip(sort, keys) if col == layout["unit"]]
    empty, filled = int(readings.isna().sum().sum()), 0
    if timed:  # a historian's tag holds its value until the next reading; a lot's missing test stays missing
        readings = (readings.groupby(level=units, dropna=False).ffill() if units else readings.ffill()).mask(written_empty)
        filled = empty - int(readings.isna().sum().sum())
    for col in readings.columns:  # numbers as numbers where every reading of the tag is one
        numbers = pd.to_numeric(readings[col], errors="coerce")
        if numbers.notna().sum() == readings[col].notna().sum():
            readings[col] = numbers
    out = attributes.join(readings)
    out = out.set_axis(groups["_first"].min().reindex(out.index).to_numpy(), axis=0).sort_index()
    out.columns = [str(c) for c in out.columns]
    out.attrs = {**frame.attrs, "reading": {**frame.attrs.get("reading", {}), "widened": {
        "tag": str(tag), "value": str(value), "keys": [str(k) for k in keys], "rows": len(out), "lines": len(long),
        "tags": int(readings.shape[1]), "card_tags": layout["tags"], "filled": filled if timed else None,
        "repeated": repeated, "described": [str(c) for c in layout["described"]]}}}
    return out
