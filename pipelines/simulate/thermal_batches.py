"""Thermal batch processes logged at a fixed interval: vessels that fill, heat, hold and discharge,
and a verdict per batch from the lethality the product really received (pasteurisers, retorts).

Each vessel runs batch after batch: filling with cold product (state 0), heating towards the
setpoint at the jacket's rate (state 1), holding for the hold time (state 1), then cooling and
discharging (state 0). Lethality is the classic F-value, the minutes at ``tref`` that do the same
kill: ``sum(10 ** ((T - tref) / z) * dt)`` over the batch, from the TRUE product temperature. A
batch fails (under-processed) when its lethality falls short of ``required``. What lowers it:
a wrong (low) setpoint on some batches, holds cut short, dips of the shared steam supply that cool
every vessel heating or holding at that moment, and a temperature probe that slowly reads high until
it is recalibrated, so the log looks better than the product was. Readings carry noise.

The filler packs the last batch that finished its hold, so a batch's verdict is written on the rows
from the end of its hold to the end of the next one's; with several vessels feeding the filler, a row
fails when any vessel's last finished batch failed. Params::

    time: {column: STD_DT, start: "2024-03-04 06:00", step_s: 120}
    vessels: [{state: MIXA_PASTEUR_STATE, temp: MIXA_PASTEUR_TEMP}, ...]
    cycle: {product_c: 6, fill_min: [8, 14], heat_rate: 1.6, setpoint: 72.5, setpoint_sd: 0.5,
            hold_min: 30, hold_sd: 1.5, cool_c: 8, cool_tau_min: 6, discharge_min: [15, 25]}
    lethality: {tref: 70, z: 7, required: 25}
    upsets: {low_setpoint: 0.04, low_by_c: [2, 5], short_hold: 0.04, short_to: [0.3, 0.7],
             steam_dips_per_day: 2, dip_c: [2, 6], dip_min: [6, 20],
             probe_drift_c_per_day: 0.2, calibration_days: 10}
    noise_c: 0.15
    target: {column: INSP, labels: {pass: OK, fail: NG}, base_rate: 0.01}
    missing: {rate: 0.002}
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import rng, with_missing


def _steam_dips(r: np.random.Generator, n: int, dt: float, spec: dict) -> np.ndarray:
    """Temperature lost by any heating or holding vessel when the shared steam header sags (degC)."""
    dip = np.zeros(n)
    per_step = spec.get("steam_dips_per_day", 0.0) * dt / 1440
    for start in np.flatnonzero(r.random(n) < per_step):
        length = max(1, int(r.uniform(*spec.get("dip_min", [6, 20])) / dt))
        depth = r.uniform(*spec.get("dip_c", [2, 6]))
        shape = np.sin(np.linspace(0, np.pi, length))  # sags and recovers
        end = min(n, start + length)
        dip[start:end] = np.maximum(dip[start:end], depth * shape[: end - start])
    return dip


def _vessel(r: np.random.Generator, n: int, dt: float, cycle: dict, upsets: dict, dip: np.ndarray):
    """One vessel's true temperature, state and batch number per row, and each batch's setpoint upset."""
    temp, state, batch = np.empty(n), np.zeros(n, dtype=int), np.empty(n, dtype=int)
    product = cycle.get("product_c", 6.0)
    i, b = int(r.integers(0, int(40 / dt) + 1)), 0  # vessels start out of phase
    temp[:i], batch[:i] = product, -1
    while i < n:
        setpoint = cycle.get("setpoint", 72.5) + r.normal(0, cycle.get("setpoint_sd", 0.5))
        if r.random() < upsets.get("low_setpoint", 0.0):  # wrong recipe or controller offset
            setpoint -= r.uniform(*upsets.get("low_by_c", [2, 5]))
        hold = max(dt, r.normal(cycle.get("hold_min", 30), cycle.get("hold_sd", 1.5)))
        if r.random() < upsets.get("short_hold", 0.0):  # hold cut short to catch up
            hold *= r.uniform(*upsets.get("short_to", [0.3, 0.7]))
        t = product + r.normal(0, 1.0)
        phases = [("fill", r.uniform(*cycle.get("fill_min", [8, 14]))), ("heat", None), ("hold", hold),
                  ("cool", r.uniform(*cycle.get("discharge_min", [15, 25])))]
        for phase, minutes in phases:
            elapsed = 0.0
            while i < n and (phase == "heat" or elapsed < minutes):
                if phase == "fill":
                    t += (product - t) * 0.3
                elif phase == "heat":
                    t = min(setpoint, t + cycle.get("heat_rate", 1.6) * dt * r.uniform(0.8, 1.2))
                elif phase == "hold":
                    t = setpoint + 0.2 * r.normal()
                else:  # chilled-water jacket: first order towards the cooling temperature
                    t += (cycle.get("cool_c", 8.0) - t) * (1 - np.exp(-dt / cycle.get("cool_tau_min", 6.0)))
                heating = phase in ("heat", "hold")
                temp[i] = t - dip[i] * heating
                state[i], batch[i] = int(heating), b
                i += 1
                elapsed += dt
                if phase == "heat" and t >= setpoint - 0.05:
                    break
        b += 1
    return temp, state, batch


def generate(rows: int = 12000, seed: int = 7, time: dict | None = None, vessels: list | None = None,
             cycle: dict | None = None, lethality: dict | None = None, upsets: dict | None = None,
             noise_c: float = 0.15, target: dict | None = None, missing: dict | None = None) -> pd.DataFrame:
    if not vessels or not target:
        raise ValueError("thermal_batches needs `vessels` and `target` in the card's simulator params")
    r, n = rng(seed), rows
    time, cycle, lethality, upsets = time or {}, cycle or {}, lethality or {}, upsets or {}
    dt = time.get("step_s", 60) / 60.0  # minutes per row
    stamps = pd.Timestamp(time.get("start", "2024-03-04 06:00:00")) + pd.to_timedelta(np.arange(n) * dt, unit="min")
    dip = _steam_dips(r, n, dt, upsets)
    tref, z, required = lethality.get("tref", 70.0), lethality.get("z", 7.0), lethality.get("required", 25.0)
    labels = target.get("labels", {"pass": "OK", "fail": "NG"})

    frame: dict[str, object] = {time.get("column", "STD_DT"): stamps}
    failed_row = np.zeros(n, dtype=bool)
    calibration = upsets.get("calibration_days", 10) * 1440 / dt  # rows between probe calibrations
    for v in vessels:
        true, state, batch = _vessel(r, n, dt, cycle, upsets, dip)
        lethal = np.where(batch >= 0, 10 ** ((true - tref) / z) * dt, 0.0)
        per_batch = pd.Series(lethal).groupby(batch).sum()
        fails = (per_batch < required) | (r.random(len(per_batch)) < target.get("base_rate", 0.0))
        fails[fails.index < 0] = False
        finished = (state == 1) & (np.r_[state[1:], 0] == 0)  # last row of each hold
        packed = pd.Series(np.where(finished, batch, np.nan)).shift(1).ffill()  # batch the filler draws from
        failed_row |= packed.map(fails).fillna(False).to_numpy(bool)
        phase = r.uniform(0, calibration)
        drift = upsets.get("probe_drift_c_per_day", 0.0) * dt / 1440 * ((np.arange(n) + phase) % calibration)
        frame[v["state"]] = state
        frame[v["temp"]] = np.round(true + drift + r.normal(0, noise_c, n), 1)
    frame[target["column"]] = np.where(failed_row, labels["fail"], labels["pass"])
    out = pd.DataFrame(frame)
    miss = missing or {}
    temps = [v["temp"] for v in vessels]
    return with_missing(out, r, miss.get("columns", temps), miss.get("rate", 0.0)) if miss else out
