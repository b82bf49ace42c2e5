"""Turbofan run-to-failure fleet in the NASA C-MAPSS FD001 layout (one operating condition).

Every engine starts with some initial wear and a small manufacturing offset on each sensor. A
hidden health index stays flat until a unit-specific onset, then degrades exponentially and
reaches failure (index 1) at the end of life, 128-362 cycles, as in FD001. The informative gas-path
sensors follow it: temperatures, pressures and fuel flow ratio rise (s2, s3, s4, s8, s11, s13, s15,
s17), static pressure, bleed and coolant flows fall (s7, s12, s20, s21); the core speed (s9, s14)
responds with a unit-specific gain and a slow drift. Measurement noise is as large as in FD001, so
single cycles are noisy and rolling windows help. s1, s5, s10, s16, s18, s19 and op_setting_3 are
constant, s6 almost so. Train units run to failure (RUL = last cycle - cycle, ends at 0); test
units are other engines cut off at a random cycle, RUL being the true remaining cycles (>= 1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import ar1, rng, with_missing

# name: (value when new, change at failure, measurement noise sd, decimals), from FD001.
INFORMATIVE = {
    "s2": (642.38, 1.22, 0.30, 2), "s3": (1586.8, 14.6, 4.0, 2), "s4": (1402.8, 24.6, 4.0, 2),
    "s7": (553.95, -2.32, 0.40, 2), "s8": (2388.058, 0.162, 0.03, 2), "s9": (9056.0, 39.5, 4.0, 2),
    "s11": (47.35, 0.75, 0.10, 2), "s12": (521.91, -1.98, 0.30, 2), "s13": (2388.056, 0.166, 0.03, 2),
    "s14": (8137.4, 27.8, 3.0, 2), "s15": (8.4183, 0.0968, 0.019, 4), "s17": (392.26, 3.78, 0.9, 0),
    "s20": (38.933, -0.462, 0.097, 2), "s21": (23.360, -0.276, 0.057, 4),
}
CONSTANT = {"s1": 518.67, "s5": 14.62, "s10": 1.3, "s16": 0.03, "s18": 2388.0, "s19": 100.0}
SENSORS = [f"s{i}" for i in range(1, 22)]


def _fleet(r: np.random.Generator, units: int, first_id: int) -> pd.DataFrame:
    """Full run-to-failure histories of ``units`` engines numbered from ``first_id``."""
    life = np.clip(128 + np.round(r.gamma(2.9, 27.0, units)), 128, 362).astype(np.int64)
    n = int(life.sum())
    unit_idx = np.repeat(np.arange(units), life)
    start = np.repeat(np.cumsum(life) - life, life)
    cycle = np.arange(n) - start + 1
    T = life[unit_idx].astype(float)

    # Health: initial wear w0, flat until the onset, then exponential growth to 1 at failure.
    w0 = r.uniform(0.0, 0.2, units)[unit_idx]
    onset = (r.uniform(0.0, 0.3, units) * life)[unit_idx]
    k = r.uniform(2.0, 3.5, units)[unit_idx]  # curvature: how sudden the end is
    x = np.clip((cycle - onset) / (T - onset), 0.0, 1.0)
    health = w0 + (1 - w0) * np.expm1(k * x) / np.expm1(k)

    op1 = np.round(r.normal(0, 0.0022, n), 4)
    op2 = np.round(r.normal(0, 0.0003, n), 4)
    f = {"unit": (unit_idx + first_id).astype(np.int64), "cycle": cycle.astype(np.int64),
         "op_setting_1": op1, "op_setting_2": op2, "op_setting_3": np.full(n, 100.0)}
    for name in SENSORS:
        if name in CONSTANT:
            f[name] = np.full(n, CONSTANT[name])
            continue
        if name == "s6":  # bypass-duct pressure: a 0.01 psia step now and then, nothing else
            f[name] = np.where(r.random(n) < 0.02, 21.60, 21.61)
            continue
        new, delta, noise, dec = INFORMATIVE[name]
        gain = np.ones(n)
        if name in ("s9", "s14"):  # core speed: the response differs a lot between engines
            gain = np.exp(r.normal(0, 0.5, units))[unit_idx]
            gain = gain + ar1(r, n, 0.97, 0.05)  # slow drift of the speed pick-up
        offset = r.normal(0, 0.5 * noise, units)[unit_idx]  # manufacturing scatter
        ambient = 300 * noise * op1  # a slightly hotter or faster flight condition shows up
        val = new + offset + gain * delta * (health - 0.1) / 0.9 + ambient + r.normal(0, noise, n)
        f[name] = np.round(val, dec).astype(np.int64) if dec == 0 else np.round(val, dec)
    f = pd.DataFrame(f)
    f["RUL"] = (T - cycle).astype(np.int64)
    return f


def generate(rows: int = 20000, seed: int = 0, test_share: float = 0.4, missing_rate: float = 0.005,
             mean_life: float = 206.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(train, test)``: about ``rows`` run-to-failure train rows, and truncated test units."""
    r = rng(seed)
    n_train = max(2, int(round(rows / mean_life)))
    n_test = max(1, int(round(test_share * n_train)))
    train = _fleet(r, n_train, 1)
    full = _fleet(r, n_test, n_train + 1)
    # Cut each test engine at a random cycle, as C-MAPSS does: 5-150 cycles before its failure,
    # and at least 31 cycles into its life.
    life = full.groupby("unit")["cycle"].transform("max")
    rul_at_cut = np.round(r.uniform(5, 150, n_test))[full["unit"] - n_train - 1]
    cut = np.maximum(life - rul_at_cut, 31)
    test = full[full["cycle"] <= cut].reset_index(drop=True)
    # Dropped reads on a few channels (never on unit, cycle or RUL).
    gappy = ["s3", "s9", "s14"]
    return (with_missing(train, r, gappy, missing_rate), with_missing(test, r, gappy, missing_rate))
