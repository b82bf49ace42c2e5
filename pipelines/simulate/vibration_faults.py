"""Fault classes, generic: condition-monitoring readings of many machines, each in a known state.

A card describes its machine in ``reference_data.simulator.params``; this module knows how condition
data behaves in general. A fleet of assets is surveyed; each asset goes through one or more
*episodes*, each in one state (normal, or a fault class with a severity from incipient to severe),
and every episode yields a handful of readings taken at varying operating conditions (speed, load,
oil temperature). A feature reads its healthy level (a formula of the conditions, times an asset
factor: foundations, mounting and sensor placement differ) plus the effect of the fault, a formula
of the severity ``s``, the conditions and the healthy level ``base``; then measurement noise. Mild
faults hide in the normal scatter and similar faults move the same features, so the classes overlap
as they do in the field. Shape of the params (``features`` and ``classes`` are required)::

    asset: {column: motor_id, prefix: "M-", count: 300}   # count: else rows / readings / episodes
    episodes: [1, 2]                  # episodes per asset (states in turn: a fault develops, is fixed)
    readings: [8, 20]                 # readings per episode
    time: {column: timestamp, start: "2024-01-01", step_h: 24}   # optional clock per asset
    conditions:
      speed_rpm: {mean: 1780, sd: 15, per: asset}      # per asset (nameplate), plus per reading:
      load_pct: {mean: 70, sd: 15, min: 20, max: 110}  # drawn per reading
      temp: {formula: "40 + 0.2*load_pct", sd: 2}       # formula of earlier conditions
    features:
      v1x_mm_s: {base: "0.8*(speed_rpm/1780)", asset_sd: 0.25, noise: 0.05, log_noise: 0.15,
                 decimals: 3, min: 0, max: 50}
    classes:
      normal: {share: 0.4}
      imbalance: {share: 0.12, severity: [0.1, 1.0], effects: {v1x_mm_s: "base*6*s*(speed_rpm/1780)**2"}}
    target: {column: fault}
    missing: {rate: 0.005, columns: [temp_C]}

Formulas see the conditions by name, ``s`` (severity, 0 when normal), ``u`` (uniform noise per reading), ``base`` (the feature's
healthy value, in effects) and every feature listed before (its true value).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import formula, rng, with_missing


def _count(spec, r: np.random.Generator, size: int) -> np.ndarray:
    lo, hi = (spec, spec) if isinstance(spec, (int, float)) else spec
    return r.integers(int(lo), int(hi) + 1, size)


def generate(rows: int = 4000, seed: int = 7, features: dict | None = None, classes: dict | None = None,
             asset: dict | None = None, episodes=1, readings=(8, 20), time: dict | None = None,
             conditions: dict | None = None, target: dict | None = None, missing: dict | None = None) -> pd.DataFrame:
    if not features or not classes:
        raise ValueError("vibration_faults needs `features` and `classes` in the card's simulator params")
    r = rng(seed)
    asset = asset or {}
    per_episode = np.mean(readings) if not isinstance(readings, (int, float)) else readings
    per_asset = per_episode * (np.mean(episodes) if not isinstance(episodes, (int, float)) else episodes)
    n_assets = asset.get("count") or max(2, int(round(rows / per_asset)))

    # Episodes: each asset in turn, each with a state and a severity.
    n_episodes = _count(episodes, r, n_assets)
    episode_asset = np.repeat(np.arange(n_assets), n_episodes)
    names = list(classes)
    share = np.array([classes[c].get("share", 1.0) for c in names], dtype=float)
    state = r.choice(len(names), len(episode_asset), p=share / share.sum())
    lo_hi = np.array([classes[c].get("severity", [0.0, 0.0]) for c in names], dtype=float)
    severity = r.uniform(lo_hi[state, 0], lo_hi[state, 1])

    # Readings: rows of each episode, trimmed to ``rows``.
    per = _count(readings, r, len(episode_asset))
    episode = np.repeat(np.arange(len(episode_asset)), per)[:rows]
    n = len(episode)
    asset_idx = episode_asset[episode]
    scope: dict[str, np.ndarray] = {"s": severity[episode], "u": r.random(n)}
    frame: dict[str, object] = {}
    ids = asset_idx + 1
    frame[asset.get("column", "asset")] = (np.char.add(asset["prefix"], np.char.zfill(ids.astype(str), 3))
                                           if asset.get("prefix") else ids.astype(np.int64))
    if time:
        # Readings of one asset are ``step_h`` apart (with some jitter), every asset on its own route day.
        step = time.get("step_h", 24.0)
        order = pd.Series(np.arange(n)).groupby(asset_idx).cumcount().to_numpy()
        start = r.uniform(0, step, n_assets)[asset_idx]
        hours = start + order * step + r.uniform(-0.1, 0.1, n) * step
        frame[time.get("column", "timestamp")] = (pd.Timestamp(time.get("start", "2024-01-01"))
                                                   + pd.to_timedelta(np.round(hours * 60), unit="min"))

    for name, spec in (conditions or {}).items():
        if spec.get("per") == "asset":
            centre = formula(spec["formula"], scope) if "formula" in spec else spec.get("mean", 0.0)
            values = centre + r.normal(0, spec.get("sd", 0.0), n_assets)[asset_idx]
        elif "values" in spec:
            values = np.asarray(spec["values"], dtype=float)[r.integers(0, len(spec["values"]), n)]
        else:
            centre = formula(spec["formula"], scope) if "formula" in spec else spec.get("mean", 0.0)
            values = centre + r.normal(0, spec.get("sd", 0.0), n)
        values = np.clip(values, spec.get("min", -np.inf), spec.get("max", np.inf))
        values = np.round(values, spec["decimals"]) if "decimals" in spec else values
        scope[name] = values
        if not spec.get("hidden"):
            frame[name] = values

    is_class = {c: (state[episode] == i) for i, c in enumerate(names)}
    for name, spec in features.items():
        healthy = formula(spec["base"], scope) if isinstance(spec.get("base"), str) else np.full(n, float(spec.get("base", 0.0)))
        healthy = healthy * np.exp(r.normal(0, spec.get("asset_sd", 0.0), n_assets))[asset_idx]  # asset factor
        scope["base"] = healthy
        effect = np.zeros(n)
        for c in names:
            expr = classes[c].get("effects", {}).get(name)
            if expr is not None and is_class[c].any():
                effect = effect + np.where(is_class[c], formula(expr, scope), 0.0)
        true = np.clip(healthy + effect, spec.get("min", -np.inf), spec.get("max", np.inf))
        scope[name] = true
        value = true * np.exp(r.normal(0, spec.get("log_noise", 0.0), n)) + r.normal(0, spec.get("noise", 0.0), n)
        frame[name] = np.round(np.clip(value, spec.get("min", -np.inf), spec.get("max", np.inf)), spec.get("decimals", 3))
    del scope["base"]

    frame[(target or {}).get("column", "fault")] = np.asarray(names, dtype=object)[state[episode]]
    out = pd.DataFrame(frame)
    miss = missing or {}
    return with_missing(out, r, miss.get("columns", []), miss.get("rate", 0.0)) if miss else out
