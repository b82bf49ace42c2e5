"""Generic, leakage-safe feature helpers that notebooks combine into machine-specific features.

Every helper looks only at the current row and rows before it (within a unit when ``by`` is given),
so features can be computed on the whole frame before it is split, and again at prediction time on
new rows that carry their own history.

A plant file often lacks some of the card's columns, and the model trains on what it has: every helper
skips the columns the frame does not have (``by`` absent: the rows are one unit), ``derive`` leaves out
a feature whose inputs are absent, and ``has``/``present`` let a notebook's own code ask.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from . import numpy_columns


def has(frame: pd.DataFrame, *columns: str) -> bool:
    """Whether the frame holds every one of ``columns``."""
    return all(c in frame.columns for c in columns)


def present(frame: pd.DataFrame, columns) -> list[str]:
    """The ``columns`` the frame holds, in the given order."""
    return [c for c in columns if c in frame.columns]


SMALL = 64  # rows up to which derive computes on numpy arrays (a served request; never a training frame)


def derive(frame: pd.DataFrame, **features) -> pd.DataFrame:
    """New columns, each computed by a function of the frame (``sleeve_to_melt=lambda d: d["sleeve"] -
    d["melt"]``), in order, so a later one may use an earlier one; a feature whose inputs the frame
    lacks is left out (a KeyError naming a column the frame does not have), any other error is raised.
    A frame of a few rows (a served request) is computed on numpy arrays where the function allows it
    (pipelines/numpy_columns.py): the same values, without pandas' cost per step."""
    if len(frame) <= SMALL:
        return _derive_small(frame, features)
    out = frame
    for name, make in features.items():
        try:
            value = make(out)
        except KeyError as exc:
            if _absent(exc, out):
                continue
            raise
        out = out.assign(**{name: value})
    return out


def _derive_small(frame: pd.DataFrame, features: dict) -> pd.DataFrame:
    computed: dict = {}  # every feature so far, as numpy arrays or (from pandas) Series
    so_far, pending = frame, {}  # the pandas frame a feature falls back to, and what it does not hold yet
    columns = numpy_columns.Columns(frame, computed)
    for name, make in features.items():
        try:
            with np.errstate(all="ignore"):  # pandas is silent on 1/0 and log(0): so is this
                value = numpy_columns.result(make(columns), len(frame))
            computed[name] = pending[name] = value
            continue
        except numpy_columns.PandasOnly:
            pass
        except KeyError as exc:
            if _absent(exc, frame, computed):
                continue
        except (TypeError, ValueError, AttributeError, IndexError):
            pass  # numpy refused what pandas may allow: pandas decides, and raises what is wrong
        so_far, pending = added(so_far, pending), {}
        try:
            value = make(so_far)
        except KeyError as exc:
            if _absent(exc, so_far):
                continue
            raise
        computed[name] = pending[name] = value
    return added(so_far, pending)


def added(frame: pd.DataFrame, columns: dict) -> pd.DataFrame:
    """``frame.assign(**columns)`` in one step: assign inserts column by column, and on a served row the
    inserts cost more than the features (60 rolling columns: 8.4 ms against 0.5)."""
    if not columns:
        return frame
    columns = {name: _array(value, frame.index) for name, value in columns.items()}
    if len(columns) == 1 or frame.columns.has_duplicates or any(name in frame.columns for name in columns):
        return frame.assign(**columns)  # one: assign is as quick; a column replaced keeps its place
    if len(frame) <= SMALL and frame.columns.dtype == object:
        joined = _joined_small(frame, columns)
        if joined is not None:
            return joined
    if len(columns) == 2:
        return frame.assign(**columns)  # as quick as concat here
    labels = pd.Index(list(columns), dtype=object)
    if all(isinstance(v, np.ndarray) and v.dtype == np.float64 and v.shape == (len(frame),) for v in columns.values()):
        new = pd.DataFrame(np.column_stack(list(columns.values())), columns=labels, index=frame.index)  # one block
    else:
        new = pd.DataFrame(columns, index=frame.index)
    out = pd.concat([frame, new], axis=1)
    if frame.columns.dtype == object:  # plain labels stay plain (see model.featurize)
        out.columns = pd.Index(list(out.columns), dtype=object)
    out.attrs = dict(frame.attrs)
    return out


def _joined_small(frame: pd.DataFrame, columns: dict) -> pd.DataFrame | None:
    """``added`` for a served request: the frame built once from its columns' arrays and the new ones, which
    costs a row 0.08-0.14 ms where pandas' concat costs 0.2 (assign 0.13-0.16 for two columns), and a
    served row takes one to eight such steps.
    ``DataFrame._from_arrays`` is pandas' own constructor but private: on any surprise (a pandas without
    it, a new column that is not a plain array) concat does it. Every array is copied (a few rows), so
    the new frame never shares memory with the caller's."""
    rows = len(frame)
    if not all(isinstance(v, np.ndarray) and v.shape == (rows,) and v.dtype.kind in "biufmM" for v in columns.values()):
        return None  # text, objects, Series to align by label: concat's rules
    try:
        arrays = [frame._mgr.iget_values(i).copy() for i in range(frame.shape[1])]
        out = pd.DataFrame._from_arrays(arrays + [v.copy() for v in columns.values()],
                                        columns=pd.Index([*frame.columns, *columns], dtype=object), index=frame.index,
                                        verify_integrity=False)
    except (AttributeError, TypeError):
        return None
    out.attrs = dict(frame.attrs)
    return out


def _array(value, index: pd.Index):
    """A Series on the frame's own index as its numpy values (the one-block path of ``added``, and no
    alignment); any other value as it is."""
    if (isinstance(value, pd.Series) and isinstance(value.dtype, np.dtype) and value.dtype.kind in "biufmM"
            and value.index.equals(index)):  # (an object array would be read as text by pandas 3)
        return value.to_numpy()
    return value


def _absent(exc: KeyError, frame: pd.DataFrame, computed: dict | None = None) -> bool:
    """Whether a KeyError is a column lookup that found no such column (the feature is left out): raised
    while indexing the frame, not by the feature's own code (a dict lookup in the feature is a bug, raised)."""
    if not _raised_by_a_lookup(exc):
        return False
    missing = exc.args[0] if exc.args else None
    return (isinstance(missing, str) and missing not in frame.columns and missing not in (computed or {})
            or _names_absent(missing, frame))


def _names_absent(key, frame: pd.DataFrame) -> bool:
    """pandas words a missing column as the name, a list of names, or "None of [...] are in the columns"."""
    text = str(key)
    return "not in index" in text or "are in the columns" in text or "Columns not found" in text


_LOOKUPS = (os.path.dirname(pd.__file__) + os.sep, numpy_columns.__file__)


def _raised_by_a_lookup(exc: KeyError) -> bool:
    """Whether the error was raised inside pandas or numpy_columns (a frame's or the array view's [])."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_code.co_filename.startswith(_LOOKUPS)


def sort_by(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """Rows in order of those of ``columns`` the frame has (stable; unchanged when it has none)."""
    keys = present(frame, [columns] if isinstance(columns, str) else columns)
    return frame.sort_values(keys, kind="stable") if keys and len(frame) > 1 else frame  # (a row: 0.1 ms saved)


def _by(frame: pd.DataFrame, by: str | None) -> str | None:
    return by if by and by in frame.columns else None


def each_unit_once(frame: pd.DataFrame, by: str | None = None) -> bool:
    """Whether no row has an earlier row of its unit: every row names its unit (``by``) and no two the
    same one, as in a served request of one row per machine (``by`` absent: the frame is one row). Each
    row is then its unit's first: its lags are missing, its windows and running values are its own, and
    a notebook needs no groupby for them."""
    by = _by(frame, by)
    if len(frame) <= 1:  # a served row: no pandas reductions (about 0.1 ms)
        return by is None or len(frame) == 0 or not pd.isna(frame[by].iat[0])
    return by is not None and bool(frame[by].notna().all() and frame[by].is_unique)


def _plain_number(column: pd.Series) -> bool:
    """A numpy integer or float column: shifting it gives float NaN (not a nullable or object value)."""
    return isinstance(column.dtype, np.dtype) and column.dtype.kind in "iuf"


def _grouped(frame: pd.DataFrame, by: str | None):
    return frame.groupby(by, sort=False) if by else None


def lags(frame: pd.DataFrame, columns: list[str], steps: list[int], by: str | None = None) -> pd.DataFrame:
    """``<col>_lag<k>``: the value k rows earlier (within ``by``)."""
    return added(frame, lag_columns(frame, columns, steps, by))


def lag_columns(frame: pd.DataFrame, columns: list[str], steps: list[int], by: str | None = None) -> dict:
    """The columns ``lags`` adds, by name, for a notebook to add with others in one ``added`` step."""
    by, columns = _by(frame, by), present(frame, columns)
    alone = len(frame) <= min(steps, default=0) if by is None else each_unit_once(frame, by)
    if alone and all(_plain_number(frame[col]) for col in columns):
        # e.g. one served row: no row has a row k steps before it in its unit, every lag is missing
        return {f"{col}_lag{k}": np.full(len(frame), np.nan) for col in columns for k in steps}
    g = _grouped(frame, by)
    return {f"{col}_lag{k}": g[col].shift(k) if g is not None else frame[col].shift(k)
            for col in columns for k in steps}


# A window that holds one row: each statistic is the row's value, but std and var need two rows.
_ALONE = {"mean": 1.0, "median": 1.0, "min": 1.0, "max": 1.0, "sum": 1.0, "std": np.nan, "var": np.nan}


def rolling(frame: pd.DataFrame, columns: list[str], windows: list[int], stats=("mean", "std"),
            by: str | None = None, min_periods: int = 1) -> pd.DataFrame:
    """``<col>_<stat><w>``: statistics over the last w rows up to and including this one."""
    return added(frame, rolling_columns(frame, columns, windows, stats, by, min_periods))


def rolling_columns(frame: pd.DataFrame, columns: list[str], windows: list[int], stats=("mean", "std"),
                    by: str | None = None, min_periods: int = 1) -> dict:
    """The columns ``rolling`` adds, by name (see ``lag_columns``)."""
    by, columns = _by(frame, by), present(frame, columns)
    if not columns:
        return {}
    if min_periods <= 1 and set(stats) <= set(_ALONE) and each_unit_once(frame, by):
        # e.g. one served row: no window holds more than the row itself
        numbers = {col: frame[col].to_numpy(dtype=float, na_value=np.nan) for col in columns}
        return {f"{col}_{stat}{w}": numbers[col] * _ALONE[stat] for col in columns for w in windows for stat in stats}
    if by is not None and frame[by].isna().all():  # no row has a unit: no window (as for a row alone missing its unit)
        return {f"{col}_{stat}{w}": np.full(len(frame), np.nan) for col in columns for w in windows for stat in stats}
    values = frame[columns]
    computed = {}
    for w in windows:  # all columns in one rolling pass per window: one grouping, not one per column
        roll = (values.groupby(frame[by], sort=False) if by else values).rolling(w, min_periods=min_periods)
        for stat in stats:
            result = getattr(roll, stat)()
            computed[w, stat] = result.reset_index(level=0, drop=True).sort_index() if by else result
    return {f"{col}_{stat}{w}": computed[w, stat][col] for col in columns for w in windows for stat in stats}


def rolling_within(values: pd.Series, units: pd.Series | None, window: int, stat: str = "mean",
                   min_periods: int = 1) -> pd.Series:
    """A rolling statistic of any series (not only a column) over each unit's last ``window`` rows, in one
    grouped pass: ``groupby(units).transform(lambda s: s.rolling(...))`` calls Python once a unit (2 of
    the 3 s to score 200,000 rows of 1,300 items). Missing for a row without its unit."""
    if units is None:
        return getattr(values.rolling(window, min_periods=min_periods), stat)()
    if units.isna().all():  # no row says which unit it is: no window (and pandas has no group to roll)
        return pd.Series(np.nan, index=values.index)
    rolled = getattr(values.groupby(units, sort=False).rolling(window, min_periods=min_periods), stat)()
    return rolled.reset_index(level=0, drop=True).reindex(values.index)


def median_before(frame: pd.DataFrame, column: str, by: str | None = None, window: int = 200, skip: int = 1,
                  min_periods: int = 20) -> pd.Series:
    """The median of each row's ``window`` rows before its last ``skip`` (within ``by``; ``by`` absent: the
    rows are one unit): a running target or a recent normal level, from earlier rows only; missing until
    ``min_periods`` of them have a value. A frame too short for that (a served request) is missing at
    once, without a pandas step on ``derive``'s numpy path."""
    values = frame[column]
    if len(frame) < min_periods + skip:
        return values * np.nan
    units = frame[by] if _by(frame, by) else None
    earlier = values.groupby(units).shift(skip) if units is not None else values.shift(skip)
    return rolling_within(earlier, units, window, "median", min_periods)


def ema(values: pd.Series, tau: float) -> pd.Series:
    """A first-order lag of ``tau`` rows (a zone's temperature following its setpoint): pandas' exponential
    average with ``adjust=False``. A row alone is its own value, without a pandas step on the numpy path."""
    if len(values) == 1:
        return values.astype(float)
    return values.astype(float).ewm(alpha=1 - np.exp(-1 / tau), adjust=False).mean()


def slope(frame: pd.DataFrame, columns: list[str], window: int, by: str | None = None) -> pd.DataFrame:
    """``<col>_slope<w>``: least-squares trend over the last w rows (degradation rate) within ``by``;
    missing until the unit has w rows, where the window holds a missing value, and for a row without its
    unit."""
    return added(frame, slope_columns(frame, columns, window, by))


def slope_columns(frame: pd.DataFrame, columns: list[str], window: int, by: str | None = None) -> dict:
    """The columns ``slope`` adds, by name (see ``lag_columns``)."""
    by, columns = _by(frame, by), present(frame, columns)
    if len(frame) < window:  # e.g. a served row: no window is full, every trend is missing
        return {f"{col}_slope{window}": np.full(len(frame), np.nan) for col in columns}
    x = np.arange(window, dtype=float)
    x = (x - x.mean()) / ((x - x.mean()) ** 2).sum()  # the trend is this weighted sum of the window
    # The rows unit after unit (each unit's in frame order), summed as w shifted whole-column products: a
    # window counts where its first and last row share a unit. (pandas' rolling.apply called Python for
    # every row: 3.2 of turbofan-rul's 4.5 s on 200,000 rows.)
    order, codes = None, None
    if by:
        codes = pd.factorize(frame[by])[0]  # -1: no unit
        order = np.argsort(codes, kind="stable")
        codes = codes[order]
    ends = len(frame) - window + 1
    out = {}
    for col in columns:
        values = frame[col].to_numpy(dtype=float, na_value=np.nan)
        if order is not None:
            values = values[order]
        trend = np.zeros(ends)
        for j in range(window):
            trend += x[j] * values[j:j + ends]
        if codes is not None:
            trend[(codes[window - 1:] != codes[:ends]) | (codes[:ends] < 0)] = np.nan
        result = np.full(len(frame), np.nan)
        result[window - 1:] = trend
        if order is not None:
            result[order] = result.copy()
        out[f"{col}_slope{window}"] = result
    return out


def calendar(frame: pd.DataFrame, column: str, prefix: str = "", offset: pd.Timedelta | None = None,
             day: bool = False) -> pd.DataFrame:
    """Hour, minute of day, weekday, month and weekend flag of a timestamp (optionally shifted by
    ``offset``, e.g. the forecast horizon, to describe the moment being predicted), and with ``day``
    the day of the month (month-end orders, pay days)."""
    return added(frame, calendar_columns(frame, column, prefix, offset, day))


def calendar_columns(frame: pd.DataFrame, column: str, prefix: str = "", offset: pd.Timedelta | None = None,
                     day: bool = False) -> dict:
    """The columns ``calendar`` adds, by name (see ``lag_columns``); none without ``column``."""
    if column not in frame.columns:
        return {}
    stamps = frame[column]
    if isinstance(stamps.dtype, np.dtype) and stamps.dtype.kind == "M" and not stamps.hasnans:
        return _clock(stamps.to_numpy(), prefix, offset, day)  # pandas' .dt costs 1.5 ms a served row
    ts = pd.to_datetime(stamps)
    if offset is not None:
        ts = ts + offset
    return {
        f"{prefix}hour": ts.dt.hour,
        f"{prefix}minute_of_day": ts.dt.hour * 60 + ts.dt.minute,
        f"{prefix}weekday": ts.dt.day_of_week,
        f"{prefix}month": ts.dt.month,
        f"{prefix}weekend": (ts.dt.day_of_week >= 5).astype(int),
    } | ({f"{prefix}day": ts.dt.day} if day else {})


def _clock(stamps: np.ndarray, prefix: str, offset: pd.Timedelta | None, day: bool) -> dict:
    """calendar's columns from time-zone-free datetime64 values, with the dtypes pandas' .dt gives."""
    if offset is not None:
        stamps = stamps + offset.to_timedelta64()
    at = numpy_columns.DateFields(stamps)
    hour, weekday = np.asarray(at.hour), np.asarray(at.day_of_week)
    return {
        f"{prefix}hour": hour,
        f"{prefix}minute_of_day": hour * 60 + np.asarray(at.minute),
        f"{prefix}weekday": weekday,
        f"{prefix}month": np.asarray(at.month),
        f"{prefix}weekend": (weekday >= 5).astype(np.int64),
    } | ({f"{prefix}day": np.asarray(at.day)} if day else {})


def ratio(frame: pd.DataFrame, name: str, numerator: str, denominator: str) -> pd.DataFrame:
    """A physical ratio, NaN where the denominator is zero."""
    if not has(frame, numerator, denominator):
        return frame
    den = frame[denominator].replace(0, np.nan)
    return added(frame, {name: frame[numerator] / den})


def since_gap(frame: pd.DataFrame, column: str, gap: pd.Timedelta, name: str = "cycles_since_restart") -> pd.DataFrame:
    """Rows since the last stop longer than ``gap`` (start-up effects after a restart)."""
    if column not in frame.columns:
        return frame
    stamps = frame[column]
    if not pd.api.types.is_datetime64_any_dtype(stamps):
        stamps = pd.to_datetime(stamps)
    stamps = stamps.to_numpy(dtype="datetime64[ns]")  # time-zone aware too
    step = np.diff(stamps, prepend=np.datetime64("NaT"))  # numpy: pandas' diff costs more than a served row
    restart = np.isnat(step) | (step > gap.to_timedelta64())
    position = np.arange(len(frame))
    last_restart = np.maximum.accumulate(np.where(restart, position, 0))
    return added(frame, {name: position - last_restart})
