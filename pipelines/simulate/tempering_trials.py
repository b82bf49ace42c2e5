"""Tempering trials: hardened specimens of many steel grades tempered at a grid of temperatures and
times, one row per specimen, target Hardness_HRC (the layout of the published tempering series of
Grange & Baughman 1956, Hollomon & Jaffe 1945 and Penha 2010).

Physics: a grade's as-quenched hardness rises with carbon (about 20 + 60*sqrt(C) HRC, at most 66);
tempering softens martensite along the Hollomon-Jaffe parameter P = T_K * (20 + log10(t_h)), above
a threshold P0, the more slowly the more Mo, Cr and Si the steel holds (carbides resist), down to a
floor that rises with carbon. The constants were fitted to the public tempering data (1,466 specimens,
RMSE 2.6 HRC in sample); the grade families, composition spreads and the test grid follow it too.
Each grade is measured on its own grid; some series report the as-quenched hardness, others do not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import rng

# Fitted to tempering_steel_hardness: softening a*x + b*x^2 (x = (P - P0)/1000), scaled by the grade's
# resistance (c0 + c1*C) * (1 - mo*Mo - cr*Cr - si*Si), never below floor0 + floor1*C.
A, B, C0, C1, MO, CR, SI, P0, FLOOR0, FLOOR1 = 1.661, 0.207, 0.808, 0.189, 0.406, 0.168, 0.065, 7320.0, 2.685, 6.736

# Grade families (share, C range, Mn, Si, Ni, Cr, Mo as (mean, sd) where they vary): plain carbon,
# Cr-Mo, Ni-Cr-Mo, Cr, Si-Mn spring, bearing and nitriding steels, as in the public series.
FAMILIES = {
    "plain carbon": (0.5, (0.25, 0.65), (0.75, 0.12), (0.2, 0.05), (0.0, 0.02), (0.03, 0.03), (0.0, 0.01)),
    "high carbon": (0.07, (0.7, 1.15), (0.4, 0.1), (0.2, 0.05), (0.0, 0.02), (0.03, 0.03), (0.0, 0.01)),
    "Cr-Mo": (0.12, (0.27, 0.68), (0.85, 0.1), (0.25, 0.05), (0.05, 0.05), (0.95, 0.1), (0.22, 0.04)),
    "Ni-Cr-Mo": (0.1, (0.38, 0.42), (0.75, 0.08), (0.25, 0.05), (1.8, 0.4), (0.8, 0.15), (0.25, 0.05)),
    "Cr": (0.09, (0.40, 0.60), (0.8, 0.08), (0.25, 0.05), (0.05, 0.05), (0.85, 0.1), (0.0, 0.01)),
    "Si-Mn": (0.04, (0.55, 0.65), (0.85, 0.1), (1.6, 0.2), (0.0, 0.02), (0.05, 0.05), (0.0, 0.01)),
    "bearing": (0.04, (0.98, 1.05), (0.35, 0.05), (0.25, 0.05), (0.05, 0.05), (1.45, 0.1), (0.0, 0.01)),
    "nitriding": (0.04, (0.35, 0.42), (0.55, 0.05), (0.3, 0.05), (0.0, 0.05), (1.6, 0.1), (0.35, 0.05)),
}
TEMPERATURES = np.array([100, 150, 204.4, 260, 315.6, 371.1, 426.7, 482.2, 537.8, 593.3, 648.9, 704.4])
TIMES_S = np.array([10, 90, 600, 900, 3600, 9000, 14400, 28800, 86400])


def generate(rows: int = 1500, seed: int = 7, per_grade: tuple[int, int] = (20, 60), noise_hrc: float = 1.2,
             reported_initial: float = 0.35) -> pd.DataFrame:
    r = rng(seed)
    names = list(FAMILIES)
    share = np.array([FAMILIES[f][0] for f in names])
    parts, total, grade = [], 0, 0
    while total < rows:
        family = names[r.choice(len(names), p=share / share.sum())]
        _, c_range, mn, si, ni, cr, mo = FAMILIES[family]
        chem = {"Carbon_pct": r.uniform(*c_range), "Manganese_pct": r.normal(*mn), "Silicon_pct": r.normal(*si),
                "Nickel_pct": r.normal(*ni), "Chromium_pct": r.normal(*cr), "Molybdenum_pct": r.normal(*mo),
                "Vanadium_pct": r.choice([0.0, 0.0, 0.0, 0.0, 0.15]) if family == "Cr" else 0.0,
                "Aluminium_pct": r.uniform(0.9, 1.3) if family == "nitriding" else 0.0,
                "Copper_pct": r.choice([0.0, 0.0, 0.05]), "Phosphorus_pct": r.uniform(0.007, 0.026),
                "Sulphur_pct": r.uniform(0.01, 0.035)}
        chem = {k: round(float(max(v, 0.0)), 3) for k, v in chem.items()}
        n = int(min(r.integers(per_grade[0], per_grade[1] + 1), rows - total))
        # a series: a few tempering times at many temperatures (or the other way round)
        times = r.choice(TIMES_S, size=int(r.integers(1, 5)), replace=False)
        grid = np.array([(t, s) for t in TEMPERATURES for s in times])
        pick = grid[r.choice(len(grid), size=min(n, len(grid)), replace=len(grid) < n)]
        c = chem["Carbon_pct"]
        quenched = min(20 + 60 * np.sqrt(c), 66) + r.normal(0, 1.5)
        temp, secs = pick[:, 0], pick[:, 1]
        p = (temp + 273.15) * (20 + np.log10(secs / 3600))
        x = np.clip(p - P0, 0, None) / 1000
        resist = (C0 + C1 * c) * (1 - MO * chem["Molybdenum_pct"] - CR * chem["Chromium_pct"] - SI * chem["Silicon_pct"])
        hrc = np.maximum(quenched - resist * (A * x + B * x**2), FLOOR0 + FLOOR1 * c)
        hrc = hrc + r.normal(0, noise_hrc, len(pick))
        parts.append(pd.DataFrame({
            "Steel_Type": f"{family} #{grade + 1:02d}",
            "Initial_Hardness_HRC": round(float(quenched), 1) if r.random() < reported_initial else np.nan,
            "Temper_Temp_C": temp,
            "Temper_Time_h": secs / 3600,
            **chem,
            "Hardness_HRC": np.clip(hrc, 0.5, 68.5).round(1),
        }))
        total += len(pick)
        grade += 1
    return pd.concat(parts, ignore_index=True)
