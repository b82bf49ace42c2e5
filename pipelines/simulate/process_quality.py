"""Process quality, generic: one row per shot, part, weld, batch or pack, and its quality outcome.

A card describes its machine in ``reference_data.simulator.params``; this module only knows how
process data behaves in general. The inputs wander slowly around their setpoints (AR(1) in
standardized units), drift until maintenance resets them, jump at product or lot changes, and are
recorded with measurement noise; the outcome is computed from the TRUE values through the card's
formulas, so a model must learn the physics the card writes down, through noisy readings. Shape of
the params (every key but ``inputs`` and ``target`` is optional)::

    time: {column: TimeStamp, start: "2024-03-04 06:00", step_s: 45, jitter_s: 5,
           stop_rate: 0.003, stop_min: [10, 120]}     # restarts; formulas see since_stop, hour
    group: {column: Machine_ID, values: [M1, M2, M3], shift_sd: 0.5}  # per-group offsets (in sd)
    inputs:                                            # in order; later ones may use earlier ones
      Melt_Temp: {mean: 680, sd: 6, smooth: 0.98, drift: 0.004, reset: 3000, noise: 0.5, decimals: 1}
      Cast_Pressure: {formula: "310 + 0.4*(Melt_Temp - 680)", sd: 4, smooth: 0.9}
      Alloy: {choices: {AC4C: 0.6, ADC12: 0.4}, run: 400}   # categories, in runs (lots)
    target:
      column: passorfail
      kind: binary | multiclass | regression
      labels: {pass: 0, fail: 1}                       # binary: values written
      defects: {short_shot: "sigmoid((655 - Melt_Temp)/3 - 2)", ...}   # binary/multiclass hazards
      normal: "Normal"                                 # multiclass: the no-defect class
      base_rate: 0.002                                 # defects nothing explains
      formula: "..."   noise: 0.8   clip: [0, 100]   decimals: 2        # regression
    missing: {rate: 0.005, columns: [Melt_Temp]}
    outlier_rate: 0.003                                # regression: mis-measured targets

Formulas see every input by name (true value), ``z_<name>`` (standardized), ``hour``, ``weekday``,
``since_stop`` (rows since the last restart) and ``u`` (uniform noise).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from .common import formula, rng, with_missing


def _wander(r: np.random.Generator, n: int, smooth: float) -> np.ndarray:
    """Unit-variance AR(1): the slow wander of a controlled process value around its setpoint."""
    eps = r.normal(0.0, np.sqrt(1 - smooth**2), n)
    return lfilter([1.0], [1.0, -smooth], eps)


def _runs(r: np.random.Generator, n: int, choices: dict, run: float) -> np.ndarray:
    """Categories in runs of about ``run`` rows (lots, products, shifts), drawn with the given weights."""
    names = np.array(list(choices))
    weights = np.array(list(choices.values()), dtype=float)
    starts = np.flatnonzero(np.r_[True, r.random(n - 1) < 1.0 / max(run, 1.0)])
    picks = r.choice(len(names), size=len(starts), p=weights / weights.sum())
    return names[np.repeat(picks, np.diff(np.r_[starts, n]))]


def _clock(r: np.random.Generator, n: int, spec: dict) -> tuple[pd.DatetimeIndex, np.ndarray]:
    step = spec.get("step_s", 60.0)
    stop = r.random(n) < spec.get("stop_rate", 0.0)
    stop[0] = False
    lo, hi = spec.get("stop_min", [10, 120])
    gaps = step + r.uniform(-1, 1, n) * spec.get("jitter_s", 0.1 * step) + stop * r.uniform(lo, hi, n) * 60
    t = pd.Timestamp(spec.get("start", "2024-03-04 06:00:00")) + pd.to_timedelta(np.cumsum(np.abs(gaps)).round(), unit="s")
    last = np.maximum.accumulate(np.where(stop, np.arange(n), 0))
    return t, np.arange(n) - last


def generate(rows: int = 8000, seed: int = 7, inputs: dict | None = None, target: dict | None = None,
             time: dict | None = None, group: dict | None = None, missing: dict | None = None,
             outlier_rate: float = 0.0) -> pd.DataFrame:
    if not inputs or not target:
        raise ValueError("process_quality needs `inputs` and `target` in the card's simulator params")
    r, n = rng(seed), rows
    t, since_stop = _clock(r, n, time or {})
    scope: dict[str, np.ndarray] = {"hour": (t.hour + t.minute / 60).to_numpy(float),
                                    "weekday": t.day_of_week.to_numpy(float), "since_stop": since_stop.astype(float),
                                    "u": r.random(n)}
    frame: dict[str, object] = {}
    if time:
        frame[time.get("column", "TimeStamp")] = t
    groups = None
    if group:
        groups = _runs(r, n, dict.fromkeys(group["values"], 1.0), group.get("run", 500))
        frame[group["column"]] = groups

    for name, spec in inputs.items():
        if "choices" in spec:
            frame[name] = _runs(r, n, spec["choices"], spec.get("run", 200))
            for value in spec["choices"]:  # formulas test categories as is_<name>_<value>
                scope[f"is_{name}_{value}"] = (frame[name] == value).astype(float)
            continue
        sd = float(spec.get("sd", 1.0))
        z = _wander(r, n, spec.get("smooth", 0.95))
        if groups is not None:
            shift = {g: r.normal(0, group.get("shift_sd", 0.5)) for g in group["values"]}
            z = z + np.vectorize(shift.get)(groups)
        reset = spec.get("reset", n)
        drift = spec.get("drift", 0.0) * (np.arange(n) % reset)  # wear until maintenance resets it
        centre = formula(spec["formula"], scope) if "formula" in spec else float(spec.get("mean", 0.0))
        true = np.clip(centre + sd * z + drift, spec.get("min", -np.inf), spec.get("max", np.inf))
        scope[name], scope[f"z_{name}"] = true, (true - np.mean(true)) / (np.std(true) or 1.0)
        measured = true + r.normal(0, spec.get("noise", 0.0), n)
        frame[name] = np.clip(measured, spec.get("min", -np.inf), spec.get("max", np.inf)).round(spec.get("decimals", 3))

    frame[target["column"]] = _outcome(r, n, target, scope, outlier_rate)
    out = pd.DataFrame(frame)
    miss = missing or {}
    return with_missing(out, r, miss.get("columns", []), miss.get("rate", 0.0)) if miss else out


def _outcome(r, n, target: dict, scope: dict, outlier_rate: float) -> np.ndarray:
    kind = target.get("kind", "binary")
    if kind == "regression":
        y = formula(target["formula"], scope) + r.normal(0, target.get("noise", 0.0), n)
        bad = r.random(n) < outlier_rate  # a mis-measured or mislabelled sample
        y[bad] = r.permutation(y)[bad]
        lo, hi = target.get("clip", [-np.inf, np.inf])
        return np.clip(y, lo, hi).round(target.get("decimals", 3))
    names = list(target["defects"])
    h = np.column_stack([np.clip(formula(target["defects"][k], scope), 0, 1) for k in names])
    h = np.clip(h + target.get("base_rate", 0.0) / len(names), 0, 1)
    hit = r.random(n) < 1 - np.prod(1 - h, axis=1)
    if kind == "binary":
        labels = target.get("labels", {"pass": 0, "fail": 1})
        return np.where(hit, labels["fail"], labels["pass"])
    which = (r.random(n)[:, None] < np.cumsum(h, 1) / np.maximum(h.sum(1, keepdims=True), 1e-12)).argmax(1)
    return np.where(hit, np.array(names)[which], target.get("normal", "Normal"))
