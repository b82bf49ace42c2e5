"""Quench-and-temper furnace line: one row per batch (a part sampled from it), target Hardness_HRC.

Physics: as-quenched martensite hardness rises with carbon (about 20 + 60*sqrt(C) HRC). How much of
the section turns to martensite is hardenability against quench: the ideal critical diameter DI
(Grossmann: a carbon base times multiplying factors for Mn, Cr, Mo, Si) and the quench severity H
(water > polymer > oil, weaker when the quenchant is hot) give the critical diameter, compared with
the section thickness. Austenitizing below the carbon-dependent Ac3 (Andrews), a soak too short for
the section, or a long transfer delay (thin parts cool in air below Ar3) leave ferrite or pearlite.
Tempering softens martensite along the Hollomon-Jaffe parameter P = T_K * (20 + log10(t_h)), with
Mo and Cr resisting. Each furnace thermocouple reads off by an offset that drifts until it is replaced; the measured
hardness carries about +-1 HRC of scatter, and a few parts are mis-loaded (another batch's part).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import ar1, rng, sigmoid, with_missing

# Grade nominal chemistry (wt%): C, Mn, Cr, Mo; the grade itself is not recorded, only the chemistry.
GRADES = np.array([
    [0.20, 0.80, 0.50, 0.20],  # 8620
    [0.30, 0.75, 0.05, 0.02],  # 1030
    [0.30, 0.50, 0.95, 0.20],  # 4130
    [0.40, 0.88, 0.95, 0.20],  # 4140
    [0.40, 0.70, 0.80, 0.25],  # 4340 (Ni left out)
    [0.45, 0.75, 0.08, 0.02],  # 1045
    [0.50, 0.80, 0.95, 0.02],  # 6150
    [0.55, 0.75, 0.08, 0.02],  # 1055
    [0.60, 0.88, 0.80, 0.02],  # 5160
])
FURNACE_OFFSET = {"F1": 4.0, "F2": -7.0, "F3": 10.0, "F4": 0.0}  # degC the thermocouple reads high
QUENCH_H = {"water": 1.2, "polymer": 0.7, "oil": 0.4}  # Grossmann severity, agitated, at 20 degC
QUENCH_HOT = {"water": 0.011, "polymer": 0.006, "oil": 0.001}  # fractional loss of H per degC above 20
SI = 0.25  # silicon is not on the certificate: take the usual killed-steel level


def ac3(c, mn, cr, mo):
    """Andrews' upper critical temperature (degC)."""
    return 910 - 203 * np.sqrt(c) - 30 * mn - 11 * cr + 31.5 * mo + 44.7 * SI


def generate(rows: int = 8000, seed: int = 7, outlier_rate: float = 0.004, noise_hrc: float = 0.7,
             missing_rate: float = 0.005, start: str = "2023-01-02 06:00:00") -> pd.DataFrame:
    r = rng(seed)
    n = rows
    noise = lambda sd: r.normal(0, sd, n)  # noqa: E731
    # Batches arrive roughly hourly and go to whichever furnace is free.
    gaps = 20 + r.exponential(40, n)
    t = pd.Timestamp(start) + pd.to_timedelta(np.round(np.cumsum(gaps)), unit="min")
    furnace = np.array(list(FURNACE_OFFSET))[r.integers(0, 4, n)]

    grade = r.integers(0, len(GRADES), n)
    chem = GRADES[grade] + r.normal(0, 1, (n, 4)) * [0.015, 0.05, 0.04, 0.015]  # heat-to-heat spread
    c, mn, cr, mo = (np.clip(chem[:, i], lo, hi) for i, (lo, hi) in
                     enumerate([(0.20, 0.60), (0.3, 1.2), (0.0, 1.2), (0.0, 0.4)]))
    thick = np.exp(r.uniform(np.log(5), np.log(80), n))
    alloyed = cr > 0.3
    # Plain carbon steels go to water or polymer, alloy steels mostly oil (to avoid cracking).
    u = r.random(n)
    medium = np.where(alloyed, np.where(u < 0.65, "oil", np.where(u < 0.95, "polymer", "water")),
                      np.where(u < 0.5, "water", np.where(u < 0.85, "polymer", "oil")))

    # Recipe: Ac3 + ~80 degC, soak ~1 min/mm; one batch in ten runs an ad-hoc recipe.
    a3 = ac3(c, mn, cr, mo)
    adhoc = r.random(n) < 0.1
    aus_set = np.where(adhoc, r.uniform(820, 900, n), a3 + 80 + noise(15)).clip(820, 900).round()
    soak = np.where(adhoc, r.uniform(20, 120, n), 15 + 1.0 * thick + noise(10)).clip(20, 120).round()
    delay = np.clip(3 + r.gamma(2.0, 3.5, n), 3, 30).round(1)
    q_temp = np.clip(np.where(medium == "oil", 55, 30) + noise(8), 20, 80).round(1)
    temper = r.uniform(150, 650, n).round(-1)
    temper_h = r.choice(np.arange(0.5, 4.01, 0.25), n)

    # Thermocouple error: a fixed offset per furnace plus a slow drift along that furnace's batches.
    offset = np.array([FURNACE_OFFSET[f] for f in furnace])
    for f in FURNACE_OFFSET:
        m = furnace == f
        # Ageing: +0.002 degC a batch until the thermocouple is replaced every 2,000 batches.
        offset[m] += ar1(r, int(m.sum()), 0.995, 0.4) + 0.002 * (np.arange(m.sum()) % 2000)
    aus_true = aus_set - offset

    # Fraction austenitized: temperature against Ac3, and soak against the time to heat through.
    f_temp = sigmoid((aus_true - a3 - 15) / 8)
    f_soak = 1 - np.exp(-soak / (0.35 * (10 + thick)))
    # Transfer delay: thin sections lose heat in air; below Ar3 ferrite forms before the quench.
    t_quench = aus_true - delay * 25 / thick
    f_delay = sigmoid((t_quench - (a3 - 40)) / 12)
    austenite = f_temp * f_soak * f_delay

    # Hardenability: ideal critical diameter DI (inch), then the critical diameter for this quench.
    di = 0.47 * np.sqrt(c) * (1 + 3.33 * mn) * (1 + 2.16 * cr) * (1 + 3.0 * mo) * (1 + 0.7 * SI)
    h = np.array([QUENCH_H[q] for q in medium]) * (1 - np.array([QUENCH_HOT[q] for q in medium]) * (q_temp - 20))
    hd = np.sqrt(np.clip(h, 0.05, None) * di)
    d_crit = di * hd / (1 + hd)
    martensite = austenite / (1 + (thick / 25.4 / d_crit) ** 4)

    # As-quenched and tempered hardness of martensite and of the non-martensitic rest.
    hrc_m = np.minimum(20 + 60 * np.sqrt(c), 66)
    hrc_rest = 12 + 35 * c  # pearlite and bainite
    p = (temper + 273.15) * (20 + np.log10(temper_h))
    x = np.clip(p - 8000, 0, None) / 1000
    resist = (0.8 + 0.5 * c) * (1 - 0.8 * mo - 0.06 * cr)  # Mo, Cr carbides slow softening
    hrc_tm = np.maximum(hrc_m - resist * (2.3 * x + 0.08 * x**2), hrc_rest)
    hrc = martensite * hrc_tm + (1 - martensite) * (hrc_rest - 0.3 * x)
    hrc = hrc + noise(noise_hrc)
    mis = np.flatnonzero(r.random(n) < outlier_rate)  # mis-loaded: the part came from another batch
    hrc[mis] = hrc[r.integers(0, n, mis.size)] + r.normal(0, 2, mis.size)

    frame = pd.DataFrame({
        "Batch_Time": t,
        "Furnace_ID": furnace,
        "Carbon_pct": c.round(3),
        "Manganese_pct": mn.round(2),
        "Chromium_pct": cr.round(2),
        "Molybdenum_pct": mo.round(3),
        "Section_Thickness_mm": thick.round(1),
        "Austenitize_Temp_C": aus_set,
        "Soak_Time_min": soak,
        "Quench_Medium": medium,
        "Quench_Delay_s": delay,
        "Quenchant_Temp_C": q_temp,
        "Temper_Temp_C": temper,
        "Temper_Time_h": temper_h,
        "Hardness_HRC": hrc.clip(15, 67).round(1),
    })
    return with_missing(frame, r, ["Soak_Time_min", "Quench_Delay_s", "Quenchant_Temp_C"], missing_rate)
