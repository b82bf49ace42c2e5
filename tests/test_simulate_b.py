"""Simulator families: steel_plate_defects, turbofan_degradation, plant_energy.

For each: (a) deterministic per seed, (b) columns, dtypes, physical ranges and gaps as promised,
(c) a LightGBM model learns a real relationship, (d) the same model on a shuffled target scores at chance.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from pipelines.simulate import simulate

# One thread: under xdist on a small machine, OpenMP threads spin against each other (10x slower).
LGB = dict(n_estimators=200, learning_rate=0.05, random_state=0, n_jobs=1, verbose=-1)


def _r2(y, p) -> float:
    y, p = np.asarray(y, float), np.asarray(p, float)
    return 1 - ((y - p) ** 2).sum() / ((y - y.mean()) ** 2).sum()


def _shuffled(y) -> np.ndarray:
    return np.random.default_rng(123).permutation(np.asarray(y))


@pytest.mark.parametrize("family", ["steel_plate_defects", "turbofan_degradation", "plant_energy"])
def test_deterministic_per_seed(family):
    a, a_test = simulate(family, rows=3000, seed=11)
    b, b_test = simulate(family, rows=3000, seed=11)
    pd.testing.assert_frame_equal(a, b)
    if a_test is not None:
        pd.testing.assert_frame_equal(a_test, b_test)
    c, _ = simulate(family, rows=3000, seed=12)
    assert not a.equals(c)


# ---------------------------------------------------------------- steel plates

STEEL_COLUMNS = [
    "X_Minimum", "X_Maximum", "Y_Minimum", "Y_Maximum", "Pixels_Areas", "X_Perimeter", "Y_Perimeter",
    "Sum_of_Luminosity", "Minimum_of_Luminosity", "Maximum_of_Luminosity", "Length_of_Conveyer",
    "TypeOfSteel_A300", "TypeOfSteel_A400", "Steel_Plate_Thickness", "Edges_Index", "Empty_Index",
    "Square_Index", "Outside_X_Index", "Edges_X_Index", "Edges_Y_Index", "Outside_Global_Index",
    "LogOfAreas", "Log_X_Index", "Log_Y_Index", "Orientation_Index", "Luminosity_Index", "SigmoidOfAreas",
    "Fault",
]
UCI_SHARE = {"Pastry": 158, "Z_Scratch": 190, "K_Scatch": 391, "Stains": 72, "Dirtiness": 55, "Bumps": 402,
             "Other_Faults": 673}


@pytest.fixture(scope="module")
def plates():
    return simulate("steel_plate_defects", rows=8000, seed=7)


def test_steel_plates_layout_and_ranges(plates):
    f, test = plates
    assert test is None
    assert list(f.columns) == STEEL_COLUMNS and len(f) == 8000
    assert f["Fault"].dtype == "str" and f["Fault"].notna().all()
    share = f["Fault"].value_counts(normalize=True)
    for k, n in UCI_SHARE.items():
        assert abs(share[k] - n / 1941) < 0.02, k
    gappy = f.columns[f.isna().any()].tolist()
    assert set(gappy) == {"Minimum_of_Luminosity", "Maximum_of_Luminosity", "Steel_Plate_Thickness"}
    assert 0.001 < f[gappy].isna().mean().max() < 0.01
    for c in STEEL_COLUMNS[:-1]:
        assert pd.api.types.is_numeric_dtype(f[c]), c
    w, h = f.X_Maximum - f.X_Minimum, f.Y_Maximum - f.Y_Minimum
    assert (f.X_Minimum >= 0).all() and (f.X_Maximum <= f.Length_of_Conveyer).all() and (w > 0).all() and (h > 0).all()
    assert f.Length_of_Conveyer.between(1200, 1800).all()
    assert (f.Pixels_Areas >= 1).all() and (f.Pixels_Areas <= w * h).all()
    assert (f.X_Perimeter >= w).all() and (f.Y_Perimeter >= h).all()
    lum = f[["Minimum_of_Luminosity", "Maximum_of_Luminosity"]].dropna()
    assert lum.stack().between(0, 255).all() and (lum.iloc[:, 0] <= lum.iloc[:, 1]).all()
    assert ((f.TypeOfSteel_A300 + f.TypeOfSteel_A400) == 1).all()
    assert f.Steel_Plate_Thickness.dropna().between(40, 300).all()
    for c in ["Edges_Index", "Empty_Index", "Square_Index", "Outside_X_Index", "Edges_X_Index", "Edges_Y_Index",
              "Outside_Global_Index", "SigmoidOfAreas"]:
        assert f[c].between(0, 1).all(), c
    assert f.Orientation_Index.between(-1, 1).all() and f.Luminosity_Index.between(-1, 1).all()


def test_steel_plates_derived_columns_consistent(plates):
    f, _ = plates
    w = (f.X_Maximum - f.X_Minimum).astype(float)
    h = (f.Y_Maximum - f.Y_Minimum).astype(float)
    L = f.Length_of_Conveyer
    expect = {
        "LogOfAreas": np.log10(f.Pixels_Areas), "Log_X_Index": np.log10(w), "Log_Y_Index": np.log10(h),
        "Square_Index": np.minimum(w, h) / np.maximum(w, h), "Empty_Index": 1 - f.Pixels_Areas / (w * h),
        "Orientation_Index": np.where(h >= w, 1 - w / h, h / w - 1), "Outside_X_Index": w / L,
        "Edges_X_Index": w / f.X_Perimeter, "Edges_Y_Index": h / f.Y_Perimeter,
        "Edges_Index": 2 * np.minimum(f.X_Minimum, L - f.X_Maximum) / L,
        "Luminosity_Index": f.Sum_of_Luminosity / f.Pixels_Areas / 128 - 1,
        "Outside_Global_Index": np.where(h > w, 1.0, np.where(h == w, 0.5, 0.0)),
    }
    for c, v in expect.items():
        np.testing.assert_allclose(f[c], v, atol=1.01e-4, err_msg=c)
    np.testing.assert_allclose(f.SigmoidOfAreas, 1 / (1 + np.exp(-(w * h / 150 - 2.015))), atol=2e-3)


def _plates_accuracy(f, shuffle: bool) -> tuple[float, float]:
    X, y = f.drop(columns="Fault"), f["Fault"]
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    if shuffle:
        ytr = _shuffled(ytr)
    model = lgb.LGBMClassifier(**LGB).fit(Xtr, ytr)
    return float((model.predict(Xte) == yte.to_numpy()).mean()), float(yte.value_counts(normalize=True).max())


def test_steel_plates_learnable(plates):
    acc, majority = _plates_accuracy(plates[0], shuffle=False)
    assert acc > majority + 0.2, (acc, majority)
    assert acc < 0.95, acc  # Bumps and Other_Faults overlap: not trivially separable


def test_steel_plates_shuffled_at_chance(plates):
    acc, majority = _plates_accuracy(plates[0], shuffle=True)
    assert acc < majority + 0.05, (acc, majority)


# ---------------------------------------------------------------- turbofan

SENSORS = [f"s{i}" for i in range(1, 22)]
INFORMATIVE = [f"s{i}" for i in (2, 3, 4, 7, 8, 9, 11, 12, 13, 14, 15, 17, 20, 21)]


@pytest.fixture(scope="module")
def fleet():
    return simulate("turbofan_degradation", rows=10000, seed=7)


def test_turbofan_layout_and_ranges(fleet):
    train, test = fleet
    cols = ["unit", "cycle", "op_setting_1", "op_setting_2", "op_setting_3", *SENSORS, "RUL"]
    for f in (train, test):
        assert list(f.columns) == cols
        for c in ("unit", "cycle", "RUL", "s17"):
            assert f[c].dtype == np.int64, c
        assert all(f[c].dtype == np.float64 for c in cols if c not in ("unit", "cycle", "RUL", "s17"))
        for c in ("s1", "s5", "s10", "s16", "s18", "s19", "op_setting_3"):
            assert f[c].nunique() == 1, c
        gappy = f.columns[f.isna().any()].tolist()
        assert gappy and set(gappy) <= set(INFORMATIVE)
        assert f[gappy].isna().mean().max() < 0.015
        for c, (lo, hi) in {"s2": (640, 646), "s3": (1560, 1625), "s4": (1380, 1450), "s7": (548, 557),
                            "s11": (46.8, 48.6), "s12": (517, 524), "s15": (8.3, 8.6), "s17": (387, 401),
                            "s20": (38.0, 39.5), "s21": (22.8, 23.7)}.items():
            assert f[c].dropna().between(lo, hi).all(), c
    assert 9000 < len(train) < 11000
    assert set(train.unit) & set(test.unit) == set()
    n_train, n_test = train.unit.nunique(), test.unit.nunique()
    assert abs(n_test - 0.4 * n_train) <= 1
    # Cycles count 1, 2, ... in every unit; lifetimes like FD001.
    for f in (train, test):
        assert (f.groupby("unit").cycle.transform(lambda c: (c.diff().fillna(1) == 1).all() and c.iloc[0] == 1)).all()
    assert train.groupby("unit").cycle.max().between(128, 362).all()


def test_turbofan_rul_consistent(fleet):
    train, test = fleet
    last = train.groupby("unit").cycle.transform("max")
    assert (train.RUL == last - train.cycle).all()
    assert (train.groupby("unit").RUL.last() == 0).all()
    assert (test.RUL > 0).all()
    # Test RUL counts down by one a cycle to the hidden failure.
    assert (test.RUL + test.cycle).groupby(test.unit).nunique().eq(1).all()


def _fleet_features(f: pd.DataFrame) -> pd.DataFrame:
    x = f.groupby("unit")[INFORMATIVE].rolling(10, min_periods=1).mean().reset_index(level=0, drop=True).sort_index()
    x["cycle"] = f["cycle"]
    return x


def _fleet_score(train, test, shuffle: bool) -> tuple[float, float, float]:
    y = train.RUL.clip(upper=125)  # the usual piecewise-linear target of C-MAPSS work
    if shuffle:
        y = _shuffled(y)
    model = lgb.LGBMRegressor(**LGB).fit(_fleet_features(train), y)
    last = test.groupby("unit").tail(1).index
    truth, pred = test.RUL.loc[last], model.predict(_fleet_features(test).loc[last])
    rmse = float(np.sqrt(((pred - truth) ** 2).mean()))
    baseline = float(np.sqrt(((train.RUL.mean() - truth) ** 2).mean()))
    return rmse, baseline, _r2(truth, pred)


def test_turbofan_learnable(fleet):
    rmse, baseline, _ = _fleet_score(*fleet, shuffle=False)
    assert rmse < 0.7 * baseline, (rmse, baseline)


def test_turbofan_shuffled_at_chance(fleet):
    _, _, r2 = _fleet_score(*fleet, shuffle=True)
    assert r2 < 0.05, r2


# ---------------------------------------------------------------- plant energy

ENERGY_COLUMNS = ["date", "Usage_kWh", "Lagging_Current_Reactive_Power_kVarh", "Leading_Current_Reactive_Power_kVarh",
                  "CO2(tCO2)", "Lagging_Current_Power_Factor", "Leading_Current_Power_Factor", "NSM", "WeekStatus",
                  "Day_of_week", "Load_Type"]


@pytest.fixture(scope="module")
def energy():
    return simulate("plant_energy", rows=8000, seed=7)


def test_energy_layout_and_ranges(energy):
    f, test = energy
    assert test is None
    assert list(f.columns) == ENERGY_COLUMNS and len(f) == 8000
    assert pd.api.types.is_datetime64_dtype(f.date)
    assert f.date.iloc[0] == pd.Timestamp("2018-01-01 00:15")
    assert (f.date.diff().iloc[1:] == pd.Timedelta(minutes=15)).all()
    assert (f.NSM == f.date.dt.hour * 3600 + f.date.dt.minute * 60).all() and f.NSM.dtype == np.int64
    for c in ("WeekStatus", "Day_of_week", "Load_Type"):
        assert f[c].dtype == "str", c
    assert (f.Day_of_week == f.date.dt.day_name()).all()
    assert (f.WeekStatus == np.where(f.date.dt.day_of_week >= 5, "Weekend", "Weekday")).all()
    assert set(f.Load_Type) == {"Light_Load", "Medium_Load", "Maximum_Load"}
    night = (f.NSM <= 9 * 3600) | (f.NSM > 23 * 3600)
    assert (f.Load_Type[night | (f.Day_of_week == "Sunday")] == "Light_Load").all()
    assert (f.Load_Type[(f.NSM > 10 * 3600) & (f.NSM <= 12 * 3600) & (f.Day_of_week != "Sunday")]
            .isin(["Maximum_Load", "Light_Load"])).all()
    u = f.Usage_kWh
    assert u.notna().all() and (u >= 0).all() and u.max() < 160 and 15 < u.mean() < 45
    workday = f.WeekStatus == "Weekday"
    assert u[workday].mean() > 2 * u[f.Day_of_week == "Sunday"].mean()
    for c in ("Lagging_Current_Power_Factor", "Leading_Current_Power_Factor"):
        assert f[c].between(0, 100).all(), c
    gappy = f.columns[f.isna().any()].tolist()
    assert set(gappy) == {"Lagging_Current_Reactive_Power_kVarh", "Leading_Current_Reactive_Power_kVarh", "CO2(tCO2)"}
    assert f[gappy].isna().mean().max() < 0.01
    co2 = f["CO2(tCO2)"].dropna()
    assert (co2 - u[co2.index] * 0.00047).abs().max() < 0.02  # CO2 leaks the same interval's usage
    lag = f.Lagging_Current_Reactive_Power_kVarh.dropna()
    pf = np.where(lag > 0, 100 * u[lag.index] / np.hypot(u[lag.index], lag), 100.0)
    np.testing.assert_allclose(f.Lagging_Current_Power_Factor[lag.index], pf, atol=0.02)


def _energy_r2(f: pd.DataFrame, shuffle: bool) -> float:
    u = f.Usage_kWh
    X = pd.DataFrame({f"lag{k}": u.shift(k - 1) for k in (1, 2, 4, 96)})  # known when forecasting t+1
    nxt = f.date + pd.Timedelta(minutes=15)
    X["hour"] = nxt.dt.hour + nxt.dt.minute / 60
    X["weekday"] = nxt.dt.day_of_week
    y = u.shift(-1)
    ok = y.notna() & X.notna().all(axis=1)
    X, y = X[ok], y[ok]
    n = int(0.8 * len(X))  # time-ordered split
    ytr = _shuffled(y.iloc[:n]) if shuffle else y.iloc[:n]
    model = lgb.LGBMRegressor(**LGB).fit(X.iloc[:n], ytr)
    return _r2(y.iloc[n:], model.predict(X.iloc[n:]))


def test_energy_learnable(energy):
    r2 = _energy_r2(energy[0], shuffle=False)
    assert r2 > 0.7, r2


def test_energy_shuffled_at_chance(energy):
    r2 = _energy_r2(energy[0], shuffle=True)
    assert r2 < 0.05, r2
