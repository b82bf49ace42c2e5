"""A few rows' columns as numpy arrays, for ``features.derive``'s fast path.

A served request holds one row. pandas spends about 50 microseconds on each arithmetic step of a
one-row Series (index alignment, a new Series per result) where numpy spends one or two, so a notebook's
dozen derived features took most of a served row's time. ``derive`` hands a feature function these
arrays when the frame is small; a function that asks for anything whose meaning could differ from
pandas' (reductions, ``.str``, ``shift``, label indexing, a category or time-zone-aware column) gets
``PandasOnly`` raised, and that one feature is computed on the pandas frame as before. Time stamps
(``Times``) answer the few things notebooks ask of them: ``.dt``'s hour, minute, weekday, day, month and
year, ``diff()``, subtraction and comparison, and a duration's ``.dt.total_seconds()``. Training frames
are large and always take the pandas path, so a feature the model learned is defined by pandas, and
tests/test_runs.py checks every card's served features against it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


class PandasOnly(Exception):
    """The feature function asked for something only pandas answers the pandas way."""


# Attributes a feature function may use on a column, beyond Python's own (__add__, __gt__, ...):
# numpy's that mean the same as the Series method, those defined below, and those numpy itself reads.
_ALLOWED = frozenset({
    "dtype", "shape", "ndim", "size", "view", "copy", "flags", "base", "strides", "itemsize", "nbytes",
    "round", "tolist",
    "astype", "clip", "map", "fillna", "replace", "abs", "where", "isna", "notna", "isnull", "notnull", "isin",
    "to_numpy", "values", "add", "sub", "mul", "div", "truediv", "pow", "radd", "rsub", "rmul", "rdiv",
    "rtruediv",
})


class _Missing:
    """isna / notna (and their aliases) of a fast-path column: pandas' meaning, NaN, None and NaT."""

    def isna(self) -> np.ndarray:
        return pd.isna(self._plain())

    isnull = isna

    def notna(self) -> np.ndarray:
        return ~pd.isna(self._plain())

    notnull = notna


class Numbers(_Missing, np.ndarray):
    """A column as a feature function sees it on the fast path: numpy arithmetic, the Series methods
    listed in ``_ALLOWED`` with pandas' meaning (missing stays missing), and nothing else."""

    def __getattribute__(self, name: str):
        if name.startswith("_") or name in _ALLOWED:  # "_": Python's, numpy's and this class's own
            return super().__getattribute__(name)
        raise PandasOnly(name)

    def __getitem__(self, key):  # pandas indexes by label, numpy by position: never mix them up
        raise PandasOnly("indexing")

    def _plain(self) -> np.ndarray:
        return self.view(np.ndarray)

    @property
    def values(self) -> np.ndarray:
        return self._plain()

    def to_numpy(self, dtype=None, copy: bool = False) -> np.ndarray:
        return np.array(self._plain(), dtype=dtype, copy=True) if dtype is not None or copy else self._plain()

    def astype(self, dtype, copy: bool = True):
        try:
            target = np.dtype(dtype)
        except TypeError:  # pandas' own dtypes ("category", "Int64", ...)
            raise PandasOnly(f"astype({dtype})") from None
        if target.kind == "f" and self.dtype.kind in "fiub" or target.kind in "iu" and self.dtype.kind in "iub":
            return self._plain().astype(target).view(Numbers)
        raise PandasOnly(f"astype({dtype})")  # NaN to int raises in pandas; text and dates differ

    def clip(self, lower=None, upper=None, **kwargs):
        if kwargs or self.dtype.kind not in "fiu" or not all(np.ndim(b) == 0 for b in (lower, upper)):
            raise PandasOnly("clip")
        out = self._plain().astype(float)
        if lower is not None and not pd.isna(lower):
            out = np.where(out < lower, lower, out)  # NaN stays NaN, as in pandas
        if upper is not None and not pd.isna(upper):
            out = np.where(out > upper, upper, out)
        return out.view(Numbers)

    def map(self, arg, na_action=None):
        if type(arg) is not dict or na_action is not None:  # a dict subclass may answer missing keys itself
            raise PandasOnly("map")
        found = np.array([arg.get(v, np.nan) if not _missing(v) else np.nan for v in self._plain().tolist()],
                         dtype=object)
        return _as_numbers(found)

    def fillna(self, value=None, **kwargs):
        if kwargs or np.ndim(value) != 0 or value is None:
            raise PandasOnly("fillna")
        return _as_numbers(np.where(self.isna(), value, self._plain()))

    def replace(self, to_replace=None, value=None, **kwargs):
        """One number for another (``replace(0, np.nan)``: a ratio over it is missing); lists, dicts,
        text and a missing value to replace are pandas' own."""
        numbers = all(isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_))
                      for v in (to_replace, value))
        if kwargs or self.dtype.kind not in "fiu" or not numbers or pd.isna(to_replace):
            raise PandasOnly("replace")
        return _as_numbers(np.where(self._plain() == to_replace, value, self._plain()))

    def abs(self):
        if self.dtype.kind not in "fiu":
            raise PandasOnly("abs")
        return np.abs(self)

    def where(self, cond, other=np.nan, **kwargs):
        if kwargs or callable(cond) or callable(other):
            raise PandasOnly("where")
        return _as_numbers(np.where(np.asarray(cond, dtype=bool), self._plain(), np.asarray(other)))

    def isin(self, values) -> np.ndarray:
        return np.asarray(pd.Series(self._plain()).isin(values))

    def _method(op):
        def method(self, other, **kwargs):
            if kwargs:
                raise PandasOnly("fill_value, axis or level")
            return op(self, other)
        return method

    add, sub, mul = _method(np.add), _method(np.subtract), _method(np.multiply)
    div = truediv = _method(np.true_divide)
    pow = _method(np.power)
    radd, rsub, rmul = (_method(lambda a, b: np.add(b, a)), _method(lambda a, b: np.subtract(b, a)),
                        _method(lambda a, b: np.multiply(b, a)))
    rdiv = rtruediv = _method(lambda a, b: np.true_divide(b, a))
    del _method


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _as_numbers(values: np.ndarray) -> Numbers:
    """Object arrays become floats where every value is a number (missing as NaN), as pandas infers."""
    if values.dtype == object:
        try:
            values = values.astype(float)
        except (TypeError, ValueError):
            pass
    return np.asarray(values).view(Numbers)


class Times(_Missing, np.ndarray):
    """Time-zone-free time stamps (datetime64) or durations (timedelta64) on the fast path: ``.dt``'s
    calendar fields or ``total_seconds()``, ``diff()``, and subtraction, addition or comparison with
    each other, a Timestamp or a Timedelta; a missing time gives a missing result, as in pandas."""

    _ALLOWED = frozenset({"dt", "diff", "dtype", "shape", "ndim", "size", "isna", "notna", "isnull", "notnull"})

    def __getattribute__(self, name: str):
        if name.startswith("_") or name in Times._ALLOWED:
            return super().__getattribute__(name)
        raise PandasOnly(name)

    def __getitem__(self, key):
        raise PandasOnly("indexing")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs or ufunc not in _TIME_UFUNCS:
            raise PandasOnly(f"{ufunc.__name__} of times")
        return _typed(ufunc(*(_time_value(x) for x in inputs)))

    # Python asks the left operand first, but a Timestamp's or Timedelta's priority would take an
    # ndarray's operators from it: ours go through __array_ufunc__ above
    def __sub__(self, other): return np.subtract(self, other)  # noqa: E704
    def __rsub__(self, other): return np.subtract(other, self)  # noqa: E704
    def __add__(self, other): return np.add(self, other)  # noqa: E704
    def __radd__(self, other): return np.add(other, self)  # noqa: E704
    def __lt__(self, other): return np.less(self, other)  # noqa: E704
    def __le__(self, other): return np.less_equal(self, other)  # noqa: E704
    def __gt__(self, other): return np.greater(self, other)  # noqa: E704
    def __ge__(self, other): return np.greater_equal(self, other)  # noqa: E704
    def __eq__(self, other): return np.equal(self, other)  # noqa: E704
    def __ne__(self, other): return np.not_equal(self, other)  # noqa: E704
    __hash__ = None

    def _plain(self) -> np.ndarray:
        return np.ndarray.view(self, np.ndarray)  # (not self.view: a feature function may not ask for it)

    @property
    def dt(self):
        values = self._plain()
        return DateFields(values) if values.dtype.kind == "M" else _Durations(values)

    def diff(self, periods: int = 1):
        if type(periods) is not int or periods < 1:
            raise PandasOnly("diff")
        values = self._plain()
        out = np.full(len(values), np.timedelta64("NaT"), dtype=(values[:0] - values[:0]).dtype)
        if periods < len(values):
            out[periods:] = values[periods:] - values[:-periods]
        return out.view(Times)


_TIME_UFUNCS = frozenset({np.subtract, np.add, np.less, np.less_equal, np.greater, np.greater_equal, np.equal,
                          np.not_equal})


def _time_value(value):
    """A ufunc operand of a time column as numpy reads it with pandas' meaning, or PandasOnly."""
    if isinstance(value, Times):
        return value._plain()
    if isinstance(value, pd.Timestamp) and value.tz is None:
        return value.to_datetime64()
    if isinstance(value, pd.Timedelta):
        return value.to_timedelta64()
    if isinstance(value, (np.datetime64, np.timedelta64)):
        return value
    raise PandasOnly(f"times with {type(value).__name__}")  # numbers (numpy reads them as time units), text


def _typed(values: np.ndarray):
    kind = np.asarray(values).dtype.kind
    return values.view(Times) if kind in "mM" else np.asarray(values).view(Numbers)


class DateFields:
    """``.dt``'s calendar fields of time-zone-free datetime64 values, on numpy (a field of a one-row Series:
    0.006 ms against pandas' 0.055): int32 as pandas gives them, or float with NaN where a time stamp is
    missing."""

    def __init__(self, stamps: np.ndarray):
        self.missing = np.isnat(stamps)
        if self.missing.any():  # computed on 1970-01-01 instead (no invalid-value warnings), then masked
            stamps = np.where(self.missing, np.zeros(1, dtype=stamps.dtype), stamps)
        self.stamps = stamps
        self.days = stamps.astype("datetime64[D]")  # floors, before 1970 too

    def _field(self, values: np.ndarray):
        values = values.astype(np.int32)
        return (np.where(self.missing, np.nan, values) if self.missing.any() else values).view(Numbers)

    @property
    def hour(self):
        return self._field((self.stamps - self.days) // np.timedelta64(1, "h"))

    @property
    def minute(self):
        return self._field((self.stamps - self.stamps.astype("datetime64[h]")) // np.timedelta64(1, "m"))

    @property
    def second(self):
        return self._field((self.stamps - self.stamps.astype("datetime64[m]")) // np.timedelta64(1, "s"))

    @property
    def day_of_week(self):
        return self._field((self.days.astype(np.int64) + 3) % 7)  # 1970-01-01 was a Thursday

    dayofweek = weekday = day_of_week

    @property
    def day(self):
        return self._field((self.days - self.days.astype("datetime64[M]")).astype(np.int64) + 1)

    @property
    def month(self):
        return self._field(self.days.astype("datetime64[M]").astype(np.int64) % 12 + 1)

    @property
    def year(self):
        return self._field(self.days.astype("datetime64[Y]").astype(np.int64) + 1970)

    def __getattr__(self, name):
        raise PandasOnly(f"dt.{name}")


class _Durations:
    """``.dt`` of timedelta64 values: ``total_seconds()`` (float, NaN where missing), as pandas."""

    def __init__(self, values: np.ndarray):
        self.values = values

    def total_seconds(self):
        return (self.values / np.timedelta64(1, "s")).view(Numbers)

    def __getattr__(self, name):
        raise PandasOnly(f"dt.{name}")


def column(values) -> Numbers | Times:
    """A column of the frame, or a feature computed before, as a feature function may read it."""
    if isinstance(values, pd.Series):
        dtype = values.dtype
        if isinstance(dtype, np.dtype) and dtype.kind in "mM":
            return values.to_numpy().view(Times)
        if isinstance(dtype, pd.CategoricalDtype) or dtype.kind in "mM":
            raise PandasOnly("categories and time-zone-aware dates")
        if pd.api.types.is_string_dtype(dtype) or dtype == object:
            values = values.to_numpy(dtype=object, na_value=np.nan)
        elif pd.api.types.is_bool_dtype(dtype):
            if values.isna().any():
                raise PandasOnly("a boolean with missing values")
            values = values.to_numpy(dtype=bool)
        elif pd.api.types.is_integer_dtype(dtype) and not values.isna().any():
            values = values.to_numpy(dtype=np.int64)
        else:
            try:
                values = values.to_numpy(dtype=float, na_value=np.nan)
            except (TypeError, ValueError):  # intervals, periods, Arrow types: pandas knows them
                raise PandasOnly(str(dtype)) from None
    elif isinstance(values, np.ndarray):
        if values.dtype.kind in "mMV" or values.ndim != 1:
            raise PandasOnly("dates")
        values = values.view(np.ndarray)
    else:
        raise PandasOnly(type(values).__name__)
    return values.view(Numbers)


class Columns:
    """What a feature function gets as ``d`` on the fast path: ``d["name"]``, ``len(d)`` and nothing else.
    One per ``derive`` call: each column is taken out of the frame once, however many features read it."""

    def __init__(self, frame: pd.DataFrame, computed: dict):
        self.frame, self.computed, self.taken = frame, computed, {}

    def __getitem__(self, name):
        if not isinstance(name, str):
            raise PandasOnly("a list of columns")
        if name in self.computed:
            value = self.computed[name]
            if isinstance(value, pd.Series) and not value.index.equals(self.frame.index):
                value = value.reindex(self.frame.index)  # pandas aligns by label: so does this
            return column(value)
        if name not in self.taken:
            if name not in self.frame.columns:
                raise KeyError(name)
            try:
                self.taken[name] = column(self.frame[name])
            except PandasOnly as exc:
                self.taken[name] = exc
        found = self.taken[name]
        if isinstance(found, PandasOnly):
            raise found
        return found

    def __len__(self) -> int:  # the rows, as pandas: a feature may answer a request too short for it at once
        return len(self.frame)

    def __getattr__(self, name):
        raise PandasOnly(name)


def result(value, rows: int):
    """A feature function's answer on the fast path as a column of ``rows`` values, or PandasOnly."""
    if isinstance(value, np.ndarray):
        if value.ndim != 1 or len(value) != rows or value.dtype.kind in "mMV":
            raise PandasOnly("shape")
        return value.view(np.ndarray)
    if np.ndim(value) == 0 and isinstance(value, (int, float, np.number, bool, np.bool_)):
        return np.full(rows, value)
    raise PandasOnly(type(value).__name__)
