"""Simulator families injection_molding, heat_treatment, press_cycles: determinism, schema, learnability.

Learnability is checked both ways: a LightGBM model must beat chance clearly on the real target, and
score at chance once the target is shuffled (so the data carries a relationship, not a leak).
LightGBM runs with n_jobs=1: under pytest-xdist on two cores its OpenMP threads would fight.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from sklearn.metrics import average_precision_score, r2_score, roc_auc_score

from pipelines.simulate import families, simulate

lgb = pytest.importorskip("lightgbm")

OURS = ["injection_molding", "heat_treatment", "press_cycles"]
LGB = dict(n_estimators=200, random_state=0, n_jobs=1, verbose=-1)


def _frame(family: str, rows: int, seed: int) -> pd.DataFrame:
    frame, test = simulate(family, rows=rows, seed=seed)
    assert test is None
    return frame


def _features(frame: pd.DataFrame, drop: list[str]) -> pd.DataFrame:
    x = frame.drop(columns=drop)
    for col in x.columns:
        if not pd.api.types.is_numeric_dtype(x[col]):
            x[col] = x[col].astype("category")
    return x


def _shuffled(y: np.ndarray) -> np.ndarray:
    return np.random.default_rng(12345).permutation(y)


@pytest.mark.parametrize("family", OURS)
def test_registered_deterministic_and_fast(family):
    assert family in families()
    a, b, c = _frame(family, 600, 3), _frame(family, 600, 3), _frame(family, 600, 4)
    assert_frame_equal(a, b)
    assert len(a) == 600
    with pytest.raises(AssertionError):
        assert_frame_equal(a, c)
    start = time.perf_counter()
    _frame(family, 8000, 7)
    assert time.perf_counter() - start < 2.0


def _check_types(frame, times, texts, ints=()):
    for col in frame.columns:
        if col in times:
            assert pd.api.types.is_datetime64_any_dtype(frame[col]), col
            assert frame[col].is_monotonic_increasing, col
        elif col in texts:
            assert pd.api.types.is_string_dtype(frame[col]), col
        elif col in ints:
            assert pd.api.types.is_integer_dtype(frame[col]), col
        else:
            assert frame[col].dtype == np.float64, col


def test_injection_molding_schema():
    f = _frame("injection_molding", 8000, 7)
    process = ["Injection_Time", "Filling_Time", "Plasticizing_Time", "Cycle_Time", "Clamp_Close_Time",
               "Cushion_Position", "Switch_Over_Position", "Plasticizing_Position", "Clamp_Open_Position",
               "Max_Injection_Speed", "Max_Screw_RPM", "Average_Screw_RPM", "Max_Injection_Pressure",
               "Max_Switch_Over_Pressure", "Max_Back_Pressure", "Average_Back_Pressure"]
    temps = [f"Barrel_Temperature_{i}" for i in range(1, 8)] + ["Hopper_Temperature"]
    temps += [f"Mold_Temperature_{i}" for i in range(1, 13)]
    assert list(f.columns) == ["TimeStamp", "PART_NAME", "EQUIP_NAME", "PassOrFail", "Reason"] + process + temps
    _check_types(f, {"TimeStamp"}, {"PART_NAME", "EQUIP_NAME", "PassOrFail", "Reason"})
    assert set(f.EQUIP_NAME) == {"650톤-우진2호기"}
    cn7 = f.PART_NAME == "CN7 W/S SIDE MLD'G RH"
    assert set(f.PART_NAME) == {"CN7 W/S SIDE MLD'G RH", "RG3 MOLD'G W/SHLD, RH"}
    assert 0.6 < cn7.mean() < 0.95
    assert (f.PART_NAME != f.PART_NAME.shift()).sum() < 40  # production runs, not random per row
    fail = f.PassOrFail == "N"
    assert set(f.PassOrFail) == {"Y", "N"} and 0.01 < fail.mean() < 0.05
    assert (f.Reason[~fail] == "None").all()
    assert set(f.Reason[fail]) == {"미성형", "가스", "초기허용불량", "버"}
    gaps = f.TimeStamp.diff().dt.total_seconds().dropna()
    assert 55 < gaps.median() < 65 and gaps.max() >= 600
    expect = {"Injection_Time": 9.6, "Filling_Time": 4.5, "Plasticizing_Time": 17, "Cycle_Time": 59.5,
              "Clamp_Close_Time": 7.1, "Cushion_Position": 653, "Plasticizing_Position": 68.8,
              "Clamp_Open_Position": 648, "Max_Injection_Speed": 55, "Max_Screw_RPM": 30.7,
              "Average_Screw_RPM": 292, "Max_Injection_Pressure": 142, "Max_Switch_Over_Pressure": 137,
              "Max_Back_Pressure": 37, "Average_Back_Pressure": 59, "Barrel_Temperature_1": 276,
              "Barrel_Temperature_4": 270, "Barrel_Temperature_6": 230, "Hopper_Temperature": 66,
              "Mold_Temperature_3": 21.9, "Mold_Temperature_4": 23.3}
    before = np.arange(len(f)) < int(0.46 * len(f))  # later, the PLC logs Average_Screw_RPM at a tenth
    for col, value in expect.items():
        rows = cn7 & before if col == "Average_Screw_RPM" else cn7
        assert f.loc[rows, col].median() == pytest.approx(value, rel=0.03), col
    assert f.loc[cn7 & ~before, "Average_Screw_RPM"].median() == pytest.approx(29.2, rel=0.03)
    assert f.loc[~cn7, "Max_Injection_Speed"].median() > 100  # RG3 has its own set points
    assert (f.Switch_Over_Position == 0).mean() > 0.99
    dead = ["Barrel_Temperature_7"] + [f"Mold_Temperature_{i}" for i in (1, 2, 5, 6, 7, 8, 9, 10, 11, 12)]
    assert (f[dead] == 0).all().all()
    assert f[process + temps].min().min() >= 0 and f[temps].max().max() < 320
    missing = f.isna().mean()
    assert missing[["PassOrFail", "Reason", "TimeStamp"]].sum() == 0
    assert (missing > 0.002).sum() >= 3 and missing.max() < 0.02


def test_heat_treatment_schema():
    f = _frame("heat_treatment", 8000, 7)
    cols = ["Batch_Time", "Furnace_ID", "Carbon_pct", "Manganese_pct", "Chromium_pct", "Molybdenum_pct",
            "Section_Thickness_mm", "Austenitize_Temp_C", "Soak_Time_min", "Quench_Medium", "Quench_Delay_s",
            "Quenchant_Temp_C", "Temper_Temp_C", "Temper_Time_h", "Hardness_HRC"]
    assert list(f.columns) == cols
    _check_types(f, {"Batch_Time"}, {"Furnace_ID", "Quench_Medium"})
    assert set(f.Furnace_ID) == {"F1", "F2", "F3", "F4"}
    assert set(f.Quench_Medium) == {"water", "oil", "polymer"}
    ranges = {"Carbon_pct": (0.2, 0.6), "Section_Thickness_mm": (5, 80), "Austenitize_Temp_C": (820, 900),
              "Soak_Time_min": (20, 120), "Quench_Delay_s": (3, 30), "Quenchant_Temp_C": (20, 80),
              "Temper_Temp_C": (150, 650), "Temper_Time_h": (0.5, 4), "Hardness_HRC": (15, 67)}
    for col, (lo, hi) in ranges.items():
        assert f[col].min() >= lo and f[col].max() <= hi, col
    q05, q95 = f.Hardness_HRC.quantile([0.05, 0.95])
    assert q05 > 18 and q95 < 62
    hours = f.Batch_Time.diff().dt.total_seconds().median() / 3600
    assert 0.5 < hours < 1.5
    assert f.Hardness_HRC.notna().all() and f.isna().any().sum() >= 2


def test_press_cycles_schema():
    f = _frame("press_cycles", 8000, 7)
    cols = ["working_time", "machine_name", "item_no", "press_time", "pressure_1", "pressure_2", "pressure_3",
            "die_temperature", "strokes_since_maintenance", "fault"]
    assert list(f.columns) == cols
    _check_types(f, {"working_time"}, {"machine_name", "item_no"}, {"strokes_since_maintenance", "fault"})
    assert set(f.machine_name) == {"Press-01"} and 2 <= f.item_no.nunique() <= 3
    assert (f.item_no != f.item_no.shift()).sum() < 20
    gaps = f.working_time.diff().dt.total_seconds().dropna()
    assert 2 <= gaps.median() <= 4
    assert (f.pressure_3 - f.pressure_1 - f.pressure_2).abs().max() < 0.11
    normal = f[f.fault == 0]
    assert 540 < normal.press_time.median() < 565
    assert 250 < normal.pressure_1.median() < 300 and 500 < normal.pressure_3.median() < 600
    assert 15 < f.die_temperature.min() and f.die_temperature.max() < 90
    assert (f.strokes_since_maintenance.diff() < 0).any()  # maintenance resets the counter
    assert set(f.fault) == {0, 1} and 0.01 <= f.fault.mean() <= 0.03
    fault = f.fault.to_numpy()
    neighbour = (np.r_[0, fault[:-1]] + np.r_[fault[1:], 0]) > 0
    assert neighbour[fault == 1].mean() > 0.9  # episodes, not isolated rows
    assert f[["pressure_1", "fault"]].notna().all().all() and f.isna().any().sum() >= 2


@pytest.fixture(scope="module")
def molding():
    f = _frame("injection_molding", 8000, 7)
    x = _features(f, ["TimeStamp", "PassOrFail", "Reason", "EQUIP_NAME"])
    return x, (f.PassOrFail == "N").astype(int).to_numpy()


@pytest.mark.parametrize("shuffle", [False, True])
def test_injection_molding_learnable(molding, shuffle):
    x, y = molding
    y = _shuffled(y) if shuffle else y
    cut = int(len(y) * 0.75)  # time-ordered split
    model = lgb.LGBMClassifier(**LGB).fit(x[:cut], y[:cut])
    ap = average_precision_score(y[cut:], model.predict_proba(x[cut:])[:, 1])
    prevalence = y[cut:].mean()
    assert (ap <= 2 * prevalence) if shuffle else (ap >= 3 * prevalence), (ap, prevalence)


@pytest.mark.parametrize("shuffle", [False, True])
def test_heat_treatment_learnable(shuffle):
    f = _frame("heat_treatment", 4000, 1)
    x = _features(f, ["Batch_Time", "Hardness_HRC"])
    y = f.Hardness_HRC.to_numpy()
    y = _shuffled(y) if shuffle else y
    cut = int(len(y) * 0.75)
    model = lgb.LGBMRegressor(**LGB).fit(x[:cut], y[:cut])
    r2 = r2_score(y[cut:], model.predict(x[cut:]))
    assert (r2 < 0.05) if shuffle else (r2 > 0.7), r2


@pytest.mark.parametrize("shuffle", [False, True])
def test_press_cycles_residuals_find_faults(shuffle):
    f = _frame("press_cycles", 8000, 7)
    x = _features(f, ["working_time", "machine_name", "fault", "pressure_1", "pressure_3"])
    y = f.pressure_1.to_numpy()
    fault = f.fault.to_numpy()
    fault = _shuffled(fault) if shuffle else fault
    order = np.random.default_rng(0).permutation(len(f))
    train, held = order[: int(len(f) * 0.75)], order[int(len(f) * 0.75):]
    train = train[fault[train] == 0]  # normal-behaviour model: learn from healthy strokes only
    model = lgb.LGBMRegressor(**LGB).fit(x.iloc[train], y[train])
    score = np.abs(y[held] - model.predict(x.iloc[held]))
    auc = roc_auc_score(fault[held], score)
    assert (0.4 <= auc <= 0.6) if shuffle else (auc > 0.8), auc
