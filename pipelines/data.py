"""Data in: read a user's file or make the card's reference data, map its columns onto the card,
and validate it, so everything downstream sees one clean, typed frame.
"""

from __future__ import annotations

import csv as _csv
import difflib
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import simulate, sources
from .cards import Card
from .errors import DataError


@dataclass
class Dataset:
    """A validated frame for one card. ``test`` holds a fixed test set when the data defines one
    (C-MAPSS official test units); otherwise the card's split makes it from ``frame``."""

    frame: pd.DataFrame
    test: pd.DataFrame | None
    source: str
    sha256: str

    @property
    def rows(self) -> int:
        return len(self.frame) + (0 if self.test is None else len(self.test))


def load(card: Card, path: str | Path | None = None, column_map: dict[str, str] | None = None) -> Dataset:
    """The user's file when ``path`` is given, else the card's reference data (public when present)."""
    if path is None:
        frame, test, source = reference(card)
    else:
        source = str(path)
        frame, test = read_table(path), None
    frame = validate(map_columns(frame, card, column_map, source), card, source)
    if test is not None:
        test = validate(map_columns(test, card, column_map, source), card, f"{source} (test)")
    digest = frame_sha256(frame if test is None else pd.concat([frame, test], keys=["train", "test"]))
    return Dataset(frame=frame, test=test, source=source, sha256=digest)


def reference(card: Card) -> tuple[pd.DataFrame, pd.DataFrame | None, str]:
    ref = card.reference_data
    if ref.public and sources.available(ref.public):
        frame, test = sources.load(ref.public)
        return frame, test, f"public:{ref.public}"
    sim = ref.simulator
    frame, test = simulate.simulate(sim.family, rows=sim.rows, seed=sim.seed, params=sim.params)
    return frame, test, f"simulator:{sim.family}(rows={sim.rows}, seed={sim.seed})"


def read_table(path: str | Path) -> pd.DataFrame:
    """CSV/TSV (encoding and delimiter detected), Excel (first sheet) or Parquet."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, "file not found.", fix="check the path (relative paths start where you run the command).")
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm", ".xls"):
            return pd.read_excel(path)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        raw = path.read_bytes()
        if not raw.strip():
            raise DataError(path, "the file is empty.", fix="export the data again with a header row and data rows.")
        text = _decode(raw)
        try:
            sep = _csv.Sniffer().sniff(text[:20000], delimiters=",;\t|").delimiter
        except _csv.Error:
            sep = ","
        import io

        return pd.read_csv(io.StringIO(text), sep=sep, thousands=None)
    except DataError:
        raise
    except Exception as exc:  # the reader's own message, with the file named
        raise DataError(path, f"could not be read ({type(exc).__name__}: {exc}).",
                        fix="save it as UTF-8 CSV, Excel .xlsx or Parquet.") from None


def _decode(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw[:200000], cp_isolation=["cp949", "euc_kr", "utf_8", "cp1252", "latin_1"]).best()
    return raw.decode(best.encoding if best else "cp949", errors="replace")


def _normal(name: str) -> str:
    """Compare names ignoring case, spaces, underscores and a unit suffix: '온도(℃)' ~ '온도'."""
    name = re.sub(r"[\(\[].*?[\)\]]\s*$", "", str(name))
    return re.sub(r"[\s_\-\.]+", "", name).lower()


def map_columns(frame: pd.DataFrame, card: Card, column_map: dict[str, str] | None, source: str) -> pd.DataFrame:
    """Rename user columns onto card columns: an explicit map first, then exact name, Korean alias,
    and a normalised name."""
    wanted = [(c.name, c.ko) for c in card.columns] + [(card.target.column, card.target.ko)]
    renames = dict(column_map or {})
    unknown = [u for u in renames if u not in frame.columns]
    if unknown:
        raise DataError(source, f"the column map names columns that are not in the file: {unknown}.",
                        fix=f"use names from the file's header: {list(frame.columns)[:15]}")
    taken = set(renames.values())
    present = {str(c): c for c in frame.columns}
    by_normal = {_normal(c): c for c in frame.columns}
    for name, ko in wanted:
        if name in taken or name in present:
            continue
        for candidate in (ko, _normal(name), _normal(ko) if ko else None):
            hit = present.get(candidate) if candidate == ko else by_normal.get(candidate)
            if candidate and hit is not None and hit not in renames:
                renames[hit] = name
                break
    return frame.rename(columns=renames)


def validate(frame: pd.DataFrame, card: Card, source: str, with_target: bool = True) -> pd.DataFrame:
    """Keep the card's columns, typed; raise DataError naming the column and the fix otherwise.
    ``with_target=False`` validates new data for prediction (the target is not needed then)."""
    needed = [c.name for c in card.columns if c.required] + ([card.target.column] if with_target else [])
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        hints = []
        for col in missing[:5]:
            close = difflib.get_close_matches(col, [str(c) for c in frame.columns], n=2, cutoff=0.5)
            hints.append(f"{col}" + (f" (closest in file: {', '.join(close)})" if close else ""))
        raise DataError(source, f"{len(missing)} required column(s) missing: {'; '.join(hints)}.",
                        column=missing[0],
                        fix="rename them in the file or pass a column map (user column -> card column).")
    keep = [c.name for c in card.columns if c.name in frame.columns]
    frame = frame[keep + ([card.target.column] if with_target else [])].copy()
    for col in card.columns:
        if col.name in frame.columns:
            frame[col.name] = _typed(frame[col.name], col, source)
    if not with_target:
        return frame.reset_index(drop=True)
    frame = frame.dropna(subset=[card.target.column])
    if frame.empty:
        raise DataError(source, "no row has a value in the target column.", column=card.target.column,
                        fix="fill the target column for the rows you want to learn from.")
    if card.task in ("binary", "multiclass", "anomaly"):
        classes = frame[card.target.column].nunique()
        if classes < 2:
            raise DataError(source, f"the target has one class only ({frame[card.target.column].iloc[0]!r}).",
                            column=card.target.column, fix="a classifier needs examples of every outcome.")
    else:
        frame[card.target.column] = _numeric(frame[card.target.column], card.target.column, source)
    order = [c for c in (card.group.column if card.group else None,
                         card.time.column if card.time else None) if c and c in frame.columns]
    if order:
        frame = frame.sort_values(order, kind="stable")
    return frame.reset_index(drop=True)


def _numeric(series: pd.Series, name: str, source: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series):
        return series.astype(float)
    cleaned = series.astype(str).str.replace(",", "", regex=False).str.strip()
    values = pd.to_numeric(cleaned.where(series.notna()), errors="coerce")
    bad = series.notna() & values.isna()
    if bad.any():
        rows = list(np.flatnonzero(bad.to_numpy())[:3])
        raise DataError(source, f"{int(bad.sum())} value(s) are not numbers, e.g. {series[bad].iloc[0]!r} "
                        f"in data row(s) {[int(r) + 1 for r in rows]}.", column=name,
                        fix="remove the text or units from those cells, or leave them empty.")
    return values.astype(float)


def _typed(series: pd.Series, col, source: str) -> pd.Series:
    if col.kind == "category":
        return series.map(lambda v: v if pd.isna(v) else str(v)).astype("str")
    if col.kind == "datetime":
        values = pd.to_datetime(series, errors="coerce", format=None)
        if values.isna().sum() > series.isna().sum():
            raise DataError(source, f"dates that cannot be read, e.g. {series[values.isna() & series.notna()].iloc[0]!r}.",
                            column=col.name, fix="write dates as YYYY-MM-DD HH:MM:SS.")
        return values
    values = _numeric(series, col.name, source)
    low = values < col.min if col.min is not None else pd.Series(False, index=values.index)
    high = values > col.max if col.max is not None else pd.Series(False, index=values.index)
    out = low | high
    if out.any():
        rows = list(np.flatnonzero(out.to_numpy())[:3])
        raise DataError(source, f"{int(out.sum())} value(s) outside the allowed range [{col.min}, {col.max}] "
                        f"{col.unit or ''}, e.g. {values[out].iloc[0]} in data row(s) {[int(r) + 1 for r in rows]}.",
                        column=col.name, fix="check the unit of the column, or remove the faulty readings.")
    return values


def frame_sha256(frame: pd.DataFrame) -> str:
    digest = hashlib.sha256("|".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()
