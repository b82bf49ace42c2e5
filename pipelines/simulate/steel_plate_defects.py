"""Steel plate surface inspection: one row per defect region found by the line camera.

Layout of the UCI Steel Plates Faults data (27 features), with one target column ``Fault``.
Each fault type is drawn with its own physics: scratches (Z_Scratch) are thin grooves on A300
plates of the narrow line, dug by rolls near the strip edge; K_Scatch are large, ragged, dark
pits at the very edge of thin A400 plates; Stains are tiny compact spots with little contrast;
Dirtiness is a tall streak in the middle of the plate; Pastry is a tall low-luminosity smear on
thick plates of the wide line. Bumps and Other_Faults are small, roundish and overlap (Other is a
grab bag, a fifth of it exactly like Bumps), so the best model confuses them as the real inspectors did.
The camera gain drifts slowly over the inspection sequence, and a few min/max luminosity and
thickness reads are missing. Derived indices are computed from the raw geometry exactly as UCI does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import ar1, rng, sigmoid, with_missing

FAULTS = ["Pastry", "Z_Scratch", "K_Scatch", "Stains", "Dirtiness", "Bumps", "Other_Faults"]
PRIOR = np.array([158, 190, 391, 72, 55, 402, 673], dtype=float)  # UCI counts of 1941
THICKNESS = np.array([40, 50, 60, 69, 70, 80, 85, 90, 100, 120, 130, 143, 150, 175, 185, 200, 220, 300])
COLUMNS = [
    "X_Minimum", "X_Maximum", "Y_Minimum", "Y_Maximum", "Pixels_Areas", "X_Perimeter", "Y_Perimeter",
    "Sum_of_Luminosity", "Minimum_of_Luminosity", "Maximum_of_Luminosity", "Length_of_Conveyer",
    "TypeOfSteel_A300", "TypeOfSteel_A400", "Steel_Plate_Thickness", "Edges_Index", "Empty_Index",
    "Square_Index", "Outside_X_Index", "Edges_X_Index", "Edges_Y_Index", "Outside_Global_Index",
    "LogOfAreas", "Log_X_Index", "Log_Y_Index", "Orientation_Index", "Luminosity_Index", "SigmoidOfAreas",
]

# Per-signature parameters, measured on the UCI file and then blurred a little:
# log width (mean, sd), log aspect h/w (mean, sd), empty fraction, x-edge ratio, y-edge ratio,
# edge distance (beta a, b), P(A300), P(wide line), log thickness (median mm, sd),
# luminosity index (mean, sd), min and max luminosity offsets from the mean grey level.
SIG = {  # name: (lw, lw_sd, la, la_sd, empty, ex, ey, ea, eb, p300, pwide, thick, th_sd, li, li_sd, dmin, dmax)
    "Pastry":       (2.35, 0.40, 1.15, 0.70, 0.33, 0.52, 0.97, 0.9, 2.2, 0.30, 0.62, 90, 0.50, -0.18, 0.11, 34, 15),
    "Z_Scratch":    (2.75, 0.55, 0.50, 0.80, 0.48, 0.50, 0.88, 0.8, 6.0, 0.92, 0.02, 70, 0.20, -0.20, 0.10, 20, 6),
    "K_Scatch":     (4.65, 0.95, -0.45, 0.65, 0.46, 0.56, 0.55, 0.5, 3.5, 0.02, 0.04, 40, 0.15, -0.10, 0.16, 60, 24),
    "Stains":       (1.90, 0.40, -0.35, 0.40, 0.41, 0.88, 0.93, 2.2, 1.6, 0.02, 0.02, 50, 0.20, -0.01, 0.05, 12, 12),
    "Dirtiness":    (2.30, 0.50, 1.30, 1.10, 0.40, 0.37, 0.95, 1.2, 1.0, 0.18, 0.18, 100, 0.35, -0.09, 0.07, 14, 16),
    "Bumps":        (2.65, 0.55, 0.12, 0.55, 0.36, 0.72, 0.92, 1.3, 1.5, 0.72, 0.58, 75, 0.35, -0.15, 0.08, 22, 18),
    "Other_Faults": (2.90, 0.85, 0.15, 1.05, 0.43, 0.62, 0.82, 1.0, 1.8, 0.36, 0.34, 100, 0.60, -0.11, 0.17, 16, 20),
}


def generate(rows: int = 1941, seed: int = 0, prior: list[float] | None = None, missing_rate: float = 0.005,
             bump_like: float = 0.2) -> pd.DataFrame:
    """Defect regions with the UCI geometry/luminosity columns and their ``Fault`` label."""
    r = rng(seed)
    p = np.asarray(prior if prior is not None else PRIOR, dtype=float)
    label = r.choice(len(FAULTS), size=rows, p=p / p.sum())
    # Other_Faults is not one mechanism: a fifth of its regions look just like Bumps.
    look = label.copy()
    look[(label == 6) & (r.random(rows) < bump_like)] = 5
    P = np.array([SIG[FAULTS[k]] for k in look]).T  # one column of parameters per row
    lw, lw_sd, la, la_sd, empty, ex, ey, ea, eb, p300, pwide, thick, th_sd, li, li_sd, dmin, dmax = P

    # Plate: grade, line (conveyor width in pixels) and thickness come with the fault's history.
    a300 = (r.random(rows) < p300).astype(np.int64)
    wide = r.random(rows) < pwide
    conveyor = np.where(wide, r.normal(1655, 40, rows), r.normal(1362, 12, rows))
    conveyor = np.clip(np.round(conveyor), 1227, 1794).astype(np.int64)
    t_mm = np.exp(np.log(thick) + th_sd * r.standard_normal(rows)) * np.where(a300 == 1, 1.0, 0.9)
    thickness = THICKNESS[np.abs(np.log(t_mm)[:, None] - np.log(THICKNESS)[None, :]).argmin(axis=1)]

    # Geometry: width on the camera's x axis, height along the rolling direction.
    w = np.exp(lw + lw_sd * r.standard_normal(rows))
    w = np.clip(np.round(w), 2, (0.7 * conveyor).astype(int)).astype(np.int64)
    h = np.exp(np.log(w) + la + la_sd * r.standard_normal(rows))
    h = np.clip(np.round(h), 1, np.maximum(1, 2.0e5 // w)).astype(np.int64)  # regions stay < ~2e5 px
    # Ragged regions fill less of their box and have longer borders (correlated, not independent).
    rag = r.normal(0, 0.08, rows)
    empty_frac = np.clip(empty + rag + r.normal(0, 0.06, rows), 0.0, 0.9)
    area = np.maximum(2, np.round(w * h * (1 - empty_frac))).astype(np.int64)
    exr = np.clip(ex - 1.2 * rag + r.normal(0, 0.15, rows), 0.05, 1.0)
    eyr = np.clip(ey - 0.8 * rag + r.normal(0, 0.10, rows), 0.05, 1.0)
    x_per = np.maximum(w, np.round(w / exr)).astype(np.int64)
    y_per = np.maximum(h, np.round(h / eyr)).astype(np.int64)

    # Position across the strip: distance to the nearer edge, on a random side.
    edge = r.beta(ea, eb) * (conveyor - w) / 2
    left = r.random(rows) < 0.5
    x_min = np.where(left, np.round(edge), conveyor - w - np.round(edge)).astype(np.int64)
    x_min = np.clip(x_min, 0, conveyor - w)
    x_max = x_min + w
    y_min = np.round(r.gamma(1.3, 1.25e6, rows) + 6000).astype(np.int64)
    y_max = y_min + h

    # Luminosity: grey level of the region; the camera gain drifts slowly along the sequence.
    gain = 1.0 + ar1(r, rows, 0.998, 0.0015)
    mean_lum = np.clip(128 * (1 + li + li_sd * r.standard_normal(rows)) * gain, 2, 250)
    sum_lum = np.round(area * mean_lum).astype(np.int64)
    mean_lum = sum_lum / area
    lum_min = np.clip(np.round(mean_lum - np.abs(r.normal(dmin, 0.5 * dmin + 4))), 0, np.floor(mean_lum))
    lum_max = np.clip(np.round(mean_lum + np.abs(r.normal(dmax, 0.5 * dmax + 3))), np.ceil(mean_lum), 253)

    f = pd.DataFrame({
        "X_Minimum": x_min, "X_Maximum": x_max, "Y_Minimum": y_min, "Y_Maximum": y_max,
        "Pixels_Areas": area, "X_Perimeter": x_per, "Y_Perimeter": y_per, "Sum_of_Luminosity": sum_lum,
        "Minimum_of_Luminosity": lum_min.astype(np.int64), "Maximum_of_Luminosity": lum_max.astype(np.int64),
        "Length_of_Conveyer": conveyor, "TypeOfSteel_A300": a300, "TypeOfSteel_A400": 1 - a300,
        "Steel_Plate_Thickness": thickness.astype(np.int64),
    })
    # Derived indices, the same formulas as the UCI file (rounded to 4 decimals like it).
    wf, hf = w.astype(float), h.astype(float)
    f["Edges_Index"] = 2 * np.minimum(x_min, conveyor - x_max) / conveyor
    f["Empty_Index"] = 1 - area / (wf * hf)
    f["Square_Index"] = np.minimum(wf, hf) / np.maximum(wf, hf)
    f["Outside_X_Index"] = wf / conveyor
    f["Edges_X_Index"] = wf / x_per
    f["Edges_Y_Index"] = hf / y_per
    f["Outside_Global_Index"] = np.where(hf > wf, 1.0, np.where(hf == wf, 0.5, 0.0))
    f["LogOfAreas"] = np.log10(area)
    f["Log_X_Index"] = np.log10(wf)
    f["Log_Y_Index"] = np.log10(hf)
    f["Orientation_Index"] = np.where(hf >= wf, 1 - wf / hf, hf / wf - 1)
    f["Luminosity_Index"] = sum_lum / area / 128 - 1
    f["SigmoidOfAreas"] = sigmoid(wf * hf / 150.0 - 2.015)
    derived = COLUMNS[COLUMNS.index("Edges_Index"):]
    f[derived] = f[derived].round(4)
    f["Fault"] = pd.Series([FAULTS[k] for k in label], dtype="str")
    # Dropped reads of the luminosity extremes and the thickness gauge.
    return with_missing(f, r, ["Minimum_of_Luminosity", "Maximum_of_Luminosity", "Steel_Plate_Thickness"], missing_rate)
