"""The target from a file of its own (``--labels FILE``): quality results kept apart from the process data,
as a QC sheet of LOT and 판정 beside the MES export of the shots, joined on the column both files share
(``--on COLUMN`` where they share several). Each process row takes its key's result; rows whose key has
no result are left without a target, which the validation leaves out with its note."""

from __future__ import annotations

import re

import pandas as pd

from .mapping import card_columns_in, normal
from .messages import error
from .parsing import parse_dates
from .reading import place_of, read_table


def joined(frame: pd.DataFrame, card, labels_path: str | None, on: str | None, source, lang=None) -> pd.DataFrame:
    """``frame`` with the columns of the labels file it lacks (the target among them), by the shared key."""
    if labels_path is None:
        return frame
    results = read_table(labels_path, lang=lang, prefer=card_columns_in(card))
    mine = {normal(c): c for c in frame.columns}
    theirs = {normal(c): c for c in results.columns}
    named = _key_from_names(frame, results, [theirs[normal(on)]] if on is not None and normal(on) in theirs
                            else [c for c in results.columns if normal(c) not in mine])
    if named is not None and (on is None and not [k for k in theirs if k in mine] or on is not None and normal(on) not in mine):
        column, values = named  # a file per experiment or lot, its key only in its name (experiment_01.csv)
        frame = frame.assign(**{column: values})
        frame.attrs["reading"] = {**frame.attrs.get("reading", {}), "key_from_names": {
            "key": str(column), "file": str(frame.attrs["reading"]["places"][0][0]), "value": str(values[0])}}
        mine[normal(column)] = column
    if on is not None:
        if normal(on) not in mine or normal(on) not in theirs:
            where = labels_path if normal(on) in mine else source
            raise error("labels_key_missing", where, column=on, lang=lang, key=on)
        shared = [normal(on)]
    else:
        shared = [k for k in theirs if k in mine]
    if len(shared) != 1:
        raise error("labels_no_key" if not shared else "labels_keys", labels_path, lang=lang,
                    names=", ".join(theirs[k] for k in shared[:6]) or "-", data=str(source))
    key_mine, key_theirs = mine[shared[0]], theirs[shared[0]]
    added = [c for c in results.columns if c != key_theirs and normal(c) not in mine]
    if not added:
        raise error("labels_nothing_new", labels_path, lang=lang, key=key_theirs)
    results = results.assign(_key=_keys(results[key_theirs])).dropna(subset=["_key"])
    conflicting = results.drop_duplicates(["_key", *added]).loc[lambda f: f["_key"].duplicated(keep=False), key_theirs]
    if len(conflicting):
        raise error("labels_key_repeated", labels_path, column=key_theirs, lang=lang, key=key_theirs,
                    sample=", ".join(map(str, conflicting.drop_duplicates().head(3))))
    table = results.drop_duplicates("_key").set_index("_key")[added]
    keys = _keys(frame[key_mine])
    times = _as_times(keys) if keys.isin(table.index).mean() < 0.5 else None
    if times is not None and times.notna().mean() > 0.9:  # 2024-03-01 8:00 in one file, 2024.03.01 08:00 in the other
        keys, table.index = times, _as_times(pd.Series(table.index, index=table.index)).to_numpy()
        table = table[table.index.notna() & ~table.index.duplicated()]  # keys that are no time, or one time twice
    out = frame.assign(**{c: keys.map(table[c]).to_numpy() for c in added})
    matched = int(keys.isin(table.index).sum())
    out.attrs = {**frame.attrs, "reading": {**frame.attrs.get("reading", {}), "labels": {
        "file": str(labels_path), "key": str(key_mine), "columns": [str(c) for c in added], "rows": len(frame),
        "matched": matched, "results": len(table)}}}
    return out


def _key_from_names(frame: pd.DataFrame, results: pd.DataFrame, columns: list) -> tuple[str, list] | None:
    """For files read as one (a folder), the column of the results whose values name each file: every
    file's name holds exactly one of them (its numbers compared as numbers: experiment_01.csv holds 1; text
    as a part of the name: LOT_A0012.csv holds A0012), a different one each. The column and each row's key."""
    places = frame.attrs.get("reading", {}).get("places")
    if not places or len(places) < 2:
        return None
    stems = [str(p[0]).rsplit(".", 1)[0].casefold() for p in places]
    numbers = [{int(n) for n in re.findall(r"\d+", stem)} for stem in stems]
    for column in columns:
        keys = _keys(results[column]).dropna()
        if keys.empty or keys.duplicated().any():
            continue
        found = []
        for stem, held in zip(stems, numbers):
            hits = [k for k in keys if (int(k) in held if k.isdigit() else k.casefold() in stem)]
            found.append(hits[0] if len(hits) == 1 else None)
        if None not in found and len(set(found)) == len(found):
            return column, [found[b] for b in place_of(frame.index, places)]
    return None


def _keys(values: pd.Series) -> pd.Series:
    """Key cells as text, the way both files write a LOT or serial number ('L-0012 ', 12 and 12.0 alike)."""
    def text(v):
        if pd.isna(v):
            return None
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return str(v).strip() or None
    return values.map(text)


def _as_times(values: pd.Series) -> pd.Series:
    return parse_dates(values.astype("object")).values
