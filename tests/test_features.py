"""The feature helpers against plain loops over their definitions: rows since a restart, and rolling
statistics within a unit (including the case a served row hits: every unit holds one row)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines import features as F
from pipelines import numpy_columns


def _frame(n: int = 600, seed: int = 0, units=("a", "b", None, "c")) -> pd.DataFrame:
    r = np.random.default_rng(seed)
    stamps = pd.Series(pd.Timestamp("2024-01-01") + pd.to_timedelta(np.cumsum(r.exponential(60, n)), unit="s"))
    stamps[r.random(n) < 0.02] = pd.NaT
    frame = pd.DataFrame({"unit": r.choice(list(units), n), "x": r.normal(size=n), "t": stamps})
    frame.loc[r.random(n) < 0.05, "x"] = np.nan
    return frame


def test_since_gap_counts_rows_since_the_last_long_stop():
    frame = _frame()
    got = F.since_gap(frame, "t", pd.Timedelta(minutes=3), name="since")["since"].tolist()
    expected, count, previous = [], 0, None
    for stamp in frame["t"]:
        restart = previous is None or pd.isna(stamp) or pd.isna(previous) or stamp - previous > pd.Timedelta(minutes=3)
        count = 0 if restart else count + 1
        expected.append(count)
        previous = stamp
    assert got == expected


@pytest.mark.parametrize("units", [("a", "b", None, "c"), None], ids=["shared units", "one row per unit"])
def test_rolling_within_a_unit_matches_a_loop_over_each_units_past_rows(units):
    frame = _frame(units=units) if units else _frame().assign(unit=lambda f: [f"u{i}" for i in range(len(f))])
    got = F.rolling(frame, ["x"], [5], stats=("mean", "std", "max"), by="unit")
    for i in range(len(frame)):
        unit = frame["unit"].iloc[i]
        if unit is None:
            assert got.loc[i, ["x_mean5", "x_std5", "x_max5"]].isna().all()
            continue
        past = frame["x"].iloc[:i + 1][frame["unit"].iloc[:i + 1] == unit].tail(5).dropna()
        for stat, value in (("mean", past.mean()), ("std", past.std()), ("max", past.max())):
            assert got.loc[i, f"x_{stat}5"] == pytest.approx(value, nan_ok=True), (i, stat)


@pytest.mark.parametrize("stat,min_periods", [("mean", 1), ("sum", 4), ("median", 2)])
def test_rolling_within_is_each_units_own_rolling_in_the_frames_order(stat, min_periods):
    """Any series rolled within its unit equals pandas rolling each unit's rows on their own, whatever the
    index's order; a row without its unit gets none; no units rolls the whole series."""
    frame = _frame(n=400)
    frame.index = np.random.default_rng(5).permutation(len(frame))
    values = frame["x"] * 2 + 1  # a derived series, not a column
    got = F.rolling_within(values, frame["unit"], 7, stat, min_periods=min_periods)
    assert got.index.equals(values.index)
    for unit in ("a", "b", "c"):
        mine = values[frame["unit"] == unit]
        expected = getattr(mine.rolling(7, min_periods=min_periods), stat)()
        pd.testing.assert_series_equal(got[mine.index], expected, check_names=False)
    assert got[frame["unit"].isna()].isna().all()
    alone = F.rolling_within(values, None, 7, stat, min_periods=min_periods)
    pd.testing.assert_series_equal(alone, getattr(values.rolling(7, min_periods=min_periods), stat)())
    nobody = pd.Series([None], index=values.index[:1], dtype=object)
    assert F.rolling_within(values.head(1), nobody, 7, stat).isna().all()


@pytest.mark.parametrize("units", [("a", "b", None, "c"), None], ids=["shared units", "no units"])
def test_slope_matches_a_least_squares_fit_over_each_units_last_rows(units):
    """The trend is numpy's own straight-line fit over the unit's last w rows, in the frame's order
    whatever its index; missing until the unit has w rows, when the window holds a missing value, and for
    a row without its unit."""
    frame = _frame(n=300, units=units or ("a",)).assign(n=lambda f: np.arange(len(f)) % 7)
    frame.index = np.random.default_rng(3).permutation(len(frame))  # an index out of order
    by = "unit" if units else None
    got = F.slope(frame, ["x", "n"], 6, by=by)
    for col in ("x", "n"):
        for i in range(len(frame)):
            unit = frame["unit"].iloc[i]
            mine = frame[col].iloc[:i + 1]
            if by:
                mine = mine[(frame["unit"].iloc[:i + 1] == unit).to_numpy()]
            window = mine.tail(6).to_numpy(dtype=float)
            if (by and unit is None) or len(window) < 6 or np.isnan(window).any():
                assert np.isnan(got[f"{col}_slope6"].iloc[i]), (col, i)
            else:
                assert got[f"{col}_slope6"].iloc[i] == pytest.approx(np.polyfit(np.arange(6), window, 1)[0]), (col, i)
    assert F.slope(frame.head(5), ["x"], 6, by=by)["x_slope6"].isna().all()  # no window full


# --- derive on a few rows (a served request) computes on numpy: the values must be pandas' own ---------

SEVERITY = {"water": 1.0, "oil": 0.35}


def _few() -> pd.DataFrame:
    return pd.DataFrame({"x": [1.0, np.nan, 4.0, 0.0], "y": [2.0, 3.0, 0.0, np.nan], "n": [1, 2, 3, 4],
                         "medium": pd.Series(["water", "oil", None, "brine"], dtype="str"),
                         "t": pd.to_datetime(["2024-01-01 06:00", "2024-01-01 07:30", None, "2024-01-02 23:00"])},
                        index=[7, 3, 5, 1])  # an index out of order, as after F.sort_by


FEATURES = dict(
    ratio=lambda d: d["x"] / d["y"],  # 1/0, 0/0 and NaN
    logged=lambda d: np.log10(d["x"].clip(lower=0.5)) + d["n"] ** 2,
    severity=lambda d: d["medium"].map(SEVERITY).astype(float) * (1 - d["y"] / 200),
    filled=lambda d: d["ratio"].fillna(-1).abs().where(d["x"] > 0, 9.0),
    centred=lambda d: d["x"] - d["x"].mean(),  # a reduction: pandas skips NaN, numpy would not
    hour=lambda d: d["t"].dt.hour,  # a missing time stamp: a missing hour (pandas: float)
    minutes_since=lambda d: d["t"].diff().dt.total_seconds().div(60),
    days_in=lambda d: (d["t"] - pd.Timestamp("2023-12-31")).dt.total_seconds() / 86400,
    after_noon=lambda d: (d["t"] >= pd.Timestamp("2024-01-01 12:00")).astype(int),
    clock=lambda d: d["t"].dt.hour + d["t"].dt.minute / 60 + d["t"].dt.day_of_week * 24,
    stamp_plus=lambda d: (d["t"] + pd.Timedelta(hours=30)).dt.day,
    stamped=lambda d: d["t"].notna().astype(int) + d["t"].isna() * 2,
    at_midnight=lambda d: d["t"].dt.normalize(),  # not on numpy: pandas computes it
    later=lambda d: d["hour"] * 2 + d["severity"],  # reads a pandas-computed and a numpy-computed feature
    halves=lambda d: d["n"].div(2).rsub(10),
    watered=lambda d: d["medium"] == "water",
    too_short=lambda d: d["x"] * np.nan if len(d) <= 20 else d["x"].shift(1),  # a request too short for a window
    per_nonzero=lambda d: d["x"] / d["y"].replace(0, np.nan) + d["n"].replace(2, 7),
    not_a_number=lambda d: d["x"].replace(np.nan, 0),  # a missing value replaced: pandas'
    absent=lambda d: d["no_such_column"] * 2,
    after_absent=lambda d: d["absent"] + 1,
)


def test_derive_on_a_few_rows_gives_exactly_what_pandas_gives(monkeypatch):
    frame = _few()
    fast = F.derive(frame, **FEATURES)
    monkeypatch.setattr(F, "SMALL", -1)  # every frame is "large": pandas alone
    slow = F.derive(frame, **FEATURES)
    assert list(fast.columns) == list(slow.columns) and "absent" not in fast and "after_absent" not in fast
    pd.testing.assert_frame_equal(fast, slow, check_dtype=False)
    assert fast["centred"].tolist() == pytest.approx([1 - 5 / 3, np.nan, 4 - 5 / 3, -5 / 3], nan_ok=True)


def test_time_stamps_take_the_numpy_path_of_a_served_row(monkeypatch):
    """Features of time stamps are computed on numpy: the frame is built once, with no pandas step per
    feature (those steps cost nine cards' served rows 0.1-0.37 ms); one that numpy does not know still
    takes pandas."""
    steps = []
    monkeypatch.setattr(F, "added", lambda frame, columns, real=F.added: steps.append(list(columns)) or real(frame, columns))
    dated = {k: FEATURES[k] for k in ("hour", "minutes_since", "days_in", "after_noon", "clock", "stamp_plus", "stamped")}
    F.derive(_few(), **dated)
    assert steps == [list(dated)]
    steps.clear()
    F.derive(_few(), **dated, at_midnight=FEATURES["at_midnight"])
    assert len(steps) == 2  # the pandas step before at_midnight, and the last


@pytest.mark.parametrize("missing", [False, True])
def test_time_fields_on_numpy_are_what_pandas_dt_gives(missing):
    r = np.random.default_rng(2)
    stamps = pd.Series(pd.to_datetime(r.integers(-3 * 10**9, 3 * 10**9, 3000), unit="s"))  # before 1970 too
    if missing:
        stamps[r.random(len(stamps)) < 0.1] = pd.NaT
    times = numpy_columns.column(stamps)
    for field in ("hour", "minute", "second", "day_of_week", "day", "month", "year"):
        got = pd.Series(np.asarray(getattr(times.dt, field)))
        pd.testing.assert_series_equal(got, getattr(stamps.dt, field), check_exact=True, check_names=False, obj=field)
    for got, expected in ((times.diff().dt.total_seconds(), stamps.diff().dt.total_seconds()),
                          ((times - pd.Timestamp("2000-01-01")).dt.total_seconds(),
                           (stamps - pd.Timestamp("2000-01-01")).dt.total_seconds()),
                          (times < pd.Timestamp("2000-01-01"), stamps < pd.Timestamp("2000-01-01"))):
        pd.testing.assert_series_equal(pd.Series(np.asarray(got)), expected, check_exact=True, check_names=False)
    with pytest.raises(numpy_columns.PandasOnly):
        times + 1  # numpy would read the number as nanoseconds; pandas refuses it
    with pytest.raises(numpy_columns.PandasOnly):
        numpy_columns.column(stamps.dt.tz_localize("Asia/Seoul"))  # local hours: pandas knows the zone


def test_a_feature_that_asks_how_many_rows_or_replaces_a_number_stays_on_numpy(monkeypatch):
    """``len(d)`` means the rows on both paths: a feature that answers a short request at once (no window
    fits in it) does not cost the request a pandas step, nor does ``replace(0, np.nan)`` before a ratio."""
    steps = []
    monkeypatch.setattr(F, "added", lambda frame, columns, real=F.added: steps.append(list(columns)) or real(frame, columns))
    out = F.derive(_few(), too_short=FEATURES["too_short"], halves=FEATURES["halves"], per_nonzero=FEATURES["per_nonzero"])
    assert steps == [["too_short", "halves", "per_nonzero"]] and out["too_short"].isna().all()


def test_derive_on_a_few_rows_raises_a_features_own_error():
    with pytest.raises(ValueError, match="NA"):  # a missing x cannot be an integer, in pandas
        F.derive(_few(), whole=lambda d: d["x"].astype(int))
    with pytest.raises(TypeError):
        F.derive(_few(), wrong=lambda d: d["t"] + d["medium"])


def test_a_pandas_feature_with_its_rows_in_another_order_is_aligned_by_label(monkeypatch):
    frame = _few()
    shuffled = dict(back=lambda d: d["x"].sort_index() * 1.0, plus=lambda d: d["back"] + d["y"])
    fast = F.derive(frame, **shuffled)
    monkeypatch.setattr(F, "SMALL", -1)
    pd.testing.assert_frame_equal(fast, F.derive(frame, **shuffled))


def test_added_columns_keep_the_frames_labels_attrs_and_places():
    frame = _few().set_axis(pd.Index(list(_few().columns), dtype=object), axis=1)
    frame.attrs["note"] = "kept"
    out = F.added(frame, {f"c{i}": np.arange(4.0) + i for i in range(5)} | {"x": np.zeros(4)})
    assert list(out.columns) == list(frame.columns) + [f"c{i}" for i in range(5)] and out["x"].eq(0).all()
    out = F.added(frame, {f"c{i}": np.arange(4.0) + i for i in range(5)})
    assert out.columns.dtype == object and out.attrs == {"note": "kept"} and out["c4"].tolist() == [4, 5, 6, 7]


def test_added_on_a_served_row_is_what_concat_gives_and_shares_no_memory(monkeypatch):
    """A few rows take the quicker constructor (features._joined_small): the same frame as pandas' concat,
    dtypes, labels and blocks' values alike, for every kind of column a plant file brings."""
    frame = pd.DataFrame({
        "reading": [1.5, np.nan, 3.0], "count": [1, 2, 3], "flag": [True, False, True],
        "line": pd.array(["A", None, "B"], dtype="str"), "at": pd.to_datetime(["2024-01-01", None, "2024-03-01"]),
        "local": pd.to_datetime(["2024-01-01 09:00"] * 3).tz_localize("Asia/Seoul"),
        "grade": pd.Categorical(["x", "y", "x"]), "note": pd.array([None, "ok", None], dtype=object)})
    frame = frame.set_axis(pd.Index(list(frame.columns), dtype=object), axis=1)
    frame.attrs["note"] = "kept"
    new = {"ratio": np.array([0.5, np.nan, 2.0]), "steps": np.array([3, 4, 5]), "alarm": np.array([True, False, False]),
           "since": np.array([1, 2, 3], dtype="timedelta64[s]"), "when": np.array(["2024-02-01"] * 3, dtype="datetime64[ns]"),
           "more": np.arange(3.0), "and": np.ones(3)}
    with monkeypatch.context() as m:
        m.setattr(pd, "concat", lambda *a, **k: pytest.fail("a served row's columns were added by concat"))
        quick = F.added(frame, new)
        two = F.added(frame, {k: new[k] for k in ("ratio", "steps")})
    monkeypatch.setattr(F, "SMALL", -1)
    pd.testing.assert_frame_equal(quick, F.added(frame, new), check_exact=True)
    pd.testing.assert_frame_equal(two, F.added(frame, {k: new[k] for k in ("ratio", "steps")}), check_exact=True)
    assert quick.columns.dtype == object and quick.attrs == {"note": "kept"}
    quick.loc[0, "reading"], quick.loc[0, "at"], new["ratio"][0] = -1.0, pd.Timestamp("1999-01-01"), 9.0
    assert frame.loc[0, "reading"] == 1.5 and frame.loc[0, "at"] == pd.Timestamp("2024-01-01")
    assert quick.loc[0, "ratio"] == 0.5


@pytest.mark.parametrize("rows", [1, 20, 21, 119, 120, 121, 700])
@pytest.mark.parametrize("by", [None, "unit"])
@pytest.mark.parametrize("skip", [1, 100])
def test_median_before_is_the_grouped_shifted_rolling_median(rows, by, skip):
    r = np.random.default_rng(rows)
    frame = pd.DataFrame({"unit": r.choice(["A", "B", None], rows), "v": r.normal(10, 2, rows)})
    if rows > 200:  # gaps in a long file; the short ones are full, so a window fills at its exact row
        frame.loc[r.random(rows) < 0.2, "v"] = np.nan
    got = F.median_before(frame, "v", by=by, window=200, skip=skip, min_periods=20)
    if by:
        expected = frame.groupby("unit")["v"].transform(lambda v: v.shift(skip).rolling(200, min_periods=20).median())
    else:
        expected = frame["v"].shift(skip).rolling(200, min_periods=20).median()
    np.testing.assert_allclose(np.asarray(got, dtype=float), expected.to_numpy(dtype=float), equal_nan=True)


def test_ema_is_pandas_first_order_lag_and_a_row_alone_its_own_value():
    x = pd.Series([1.0, np.nan, 3.0, 4.0, 10.0])
    expected = x.ewm(alpha=1 - np.exp(-1 / 8), adjust=False).mean()
    pd.testing.assert_series_equal(F.ema(x, 8), expected)
    assert F.ema(x.iloc[[3]], 8).tolist() == [4.0] and F.ema(x.iloc[[1]], 8).isna().all()  # as ewm of one row


def test_short_requests_take_median_before_and_ema_on_numpy(monkeypatch):
    steps = []
    monkeypatch.setattr(F, "added", lambda frame, columns, real=F.added: steps.append(list(columns)) or real(frame, columns))
    one = _few().iloc[[0]]
    out = F.derive(one, level=lambda d: F.median_before(d, "x", window=200), lag=lambda d: F.ema(d["y"], 8))
    assert steps == [["level", "lag"]] and np.isnan(out["level"].iat[0]) and out["lag"].iat[0] == 2.0


# --- shortcuts for a served request: the values pandas' own computation gives ------------------------

@pytest.mark.parametrize("unit", ["ns", "s"])
@pytest.mark.parametrize("offset", [None, pd.Timedelta(minutes=90), pd.Timedelta(days=-1)])
def test_calendar_of_plain_dates_is_what_pandas_dt_gives(unit, offset):
    r = np.random.default_rng(1)
    seconds = r.integers(-3 * 10**9, 3 * 10**9, 2000)  # 1875 to 2065: before 1970 too
    stamps = pd.Series(pd.to_datetime(seconds, unit="s")).astype(f"datetime64[{unit}]")
    got = F.calendar(pd.DataFrame({"t": stamps}), "t", prefix="at_", offset=offset, day=True)
    moved = stamps + offset if offset is not None else stamps
    expected = {"at_hour": moved.dt.hour, "at_minute_of_day": moved.dt.hour * 60 + moved.dt.minute,
                "at_weekday": moved.dt.day_of_week, "at_month": moved.dt.month,
                "at_weekend": (moved.dt.day_of_week >= 5).astype(int), "at_day": moved.dt.day}
    for name, values in expected.items():
        pd.testing.assert_series_equal(got[name], values, check_names=False, check_exact=True)


def test_each_unit_once_gets_the_lags_and_windows_a_grouped_pandas_gives():
    """One row per unit (a served request), and one row without units: every lag missing, each window
    the row alone; the same as pandas' grouped shift and rolling."""
    frame = _frame(n=40).assign(unit=[f"u{i}" for i in range(40)], n=np.arange(40))
    got = F.rolling(F.lags(frame, ["x", "n"], [1, 3], by="unit"), ["x"], [5], stats=("mean", "std", "max"), by="unit")
    grouped = frame.groupby("unit", sort=False)
    for col in ("x", "n"):
        for k in (1, 3):
            pd.testing.assert_series_equal(got[f"{col}_lag{k}"], grouped[col].shift(k), check_names=False)
    for stat in ("mean", "std", "max"):
        expected = getattr(grouped["x"].rolling(5, min_periods=1), stat)().reset_index(level=0, drop=True)
        pd.testing.assert_series_equal(got[f"x_{stat}5"], expected.sort_index(), check_names=False)
    one = frame.drop(columns="unit").head(1)
    alone = F.rolling(F.lags(one, ["x"], [1], by="unit"), ["x"], [5], stats=("mean", "std"))
    assert np.isnan(alone.loc[0, "x_lag1"]) and alone.loc[0, "x_mean5"] == one.loc[0, "x"]
    assert np.isnan(alone.loc[0, "x_std5"])


def test_rows_without_their_unit_get_missing_windows_not_an_error():
    """A served row whose unit id is missing: no window (as such rows get in a training frame)."""
    frame = _frame(n=3).assign(unit=None)
    got = F.rolling(frame, ["x"], [5], stats=("mean",), by="unit")
    assert got["x_mean5"].isna().all() and len(got) == 3


@pytest.mark.parametrize("rows", [4, 200])  # the numpy path of a served request, and pandas
def test_a_features_own_key_error_is_raised_not_read_as_an_absent_column(rows):
    """A feature whose inputs the file lacks is left out; a feature whose own dict lookup fails is a bug
    in the notebook, and must not disappear silently from the model."""
    frame = pd.concat([_few()] * (rows // 4), ignore_index=True)
    grades = {"A": 1.0}
    with pytest.raises(KeyError, match="B"):
        F.derive(frame, grade=lambda d: d["x"] * grades["B"])
    out = F.derive(frame, grade=lambda d: d["no_such_column"] * grades["B"], kept=lambda d: d["x"] * 2,
                   both=lambda d: d[["x", "no_such_column"]].sum(axis=1))  # pandas words a list's miss its own way
    assert "grade" not in out and "both" not in out and "kept" in out
