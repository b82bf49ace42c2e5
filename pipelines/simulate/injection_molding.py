"""Injection molding machine in the KAMP 사출성형기 layout: one row per shot (cycle).

Physics: a 650 t machine runs two product families in production runs, each with its own set
points. Melt temperature follows the barrel zones, which wander and drift down slowly as the
heaters age; the live mold thermocouples (Mold_Temperature_3/4) follow the day/night ambient and
cool down while the machine stands. Defects come from four mechanisms: short shot (미성형) when cold
melt and/or low injection pressure meet a small cushion; gas/burn (가스) when a fast injection
pushes air through a cold mold; flash (버) when high injection pressure overcomes a weak clamp
(seen as a slow Clamp_Close_Time); initial defects (초기허용불량) in the first shots after a stop
or a mold change, while the mold, screw and cycle settle (longer Cycle_Time, cold mold).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import ar1, rng, sigmoid, with_missing

EQUIP = "650톤-우진2호기"
# Set points and spreads per family, taken from the KAMP labeled_data medians and inter-quartile ranges
# (the real process is steady: most readings move by a few tenths around their set point).
FAMILIES = {
    "CN7": dict(name="CN7 W/S SIDE MLD'G RH", run=1000, inj=9.59, fill=4.45, plast=16.85, cycle=59.55,
                clamp=7.12, cushion=653.43, plast_pos=68.4, clamp_open=648.0, speed=55.4, speed_sd=0.6,
                max_rpm=30.7, avg_rpm=292.4, p_inj=141.95, p_sd=0.25, p_so=136.5, bp_max=37.9, bp_avg=59.5,
                barrel=(276.1, 275.3, 275.0, 270.0, 255.0, 230.0), hopper=66.5, mold=(21.9, 23.3)),
    "RG3": dict(name="RG3 MOLD'G W/SHLD, RH", run=140, inj=1.06, fill=0.94, plast=12.93, cycle=61.78,
                clamp=6.80, cushion=654.25, plast_pos=53.58, clamp_open=4.63, speed=128.2, speed_sd=0.2,
                max_rpm=30.85, avg_rpm=290.5, p_inj=142.6, p_sd=0.15, p_so=116.4, bp_max=56.1, bp_avg=60.9,
                barrel=(286.0, 285.2, 285.0, 275.0, 265.0, 235.0), hopper=65.5, mold=(22.7, 23.8)),
}
BARREL_WEIGHT = (1.0, 0.9, 0.9, 1.0, 0.6, 0.2)  # feed-side zones follow the melt drift less
REASONS = np.array(["미성형", "가스", "버", "초기허용불량"])


def _slow(r: np.random.Generator, n: int, phi: float, slow_share: float) -> np.ndarray:
    """Unit-variance signal: a slow AR(1) wander plus shot-to-shot scatter."""
    slow = ar1(r, n, phi, np.sqrt(1 - phi**2))
    return np.sqrt(slow_share) * slow + np.sqrt(1 - slow_share) * r.normal(0, 1, n)


def _runs(r: np.random.Generator, n: int) -> np.ndarray:
    """Alternating production runs (CN7 long, RG3 short), so the family is not random per row."""
    fam: list[str] = []
    while len(fam) < n:
        key = "RG3" if fam and fam[-1] == "CN7" else "CN7"
        fam += [key] * max(20, int(r.exponential(FAMILIES[key]["run"])))
    return np.array(fam[:n])


def generate(rows: int = 8000, seed: int = 7, stop_rate: float = 1 / 300, fail_scale: float = 1.0,
             missing_rate: float = 0.005, start: str = "2020-10-16 05:00:00", rpm_tenth_from: float | None = 0.46,
             spread: float = 0.12) -> pd.DataFrame:
    """``spread``: how far the observed process values move with the latent states and their own noise,
    as a share of the scatter the defect model's latent states have (KAMP's machine holds its set points
    to a few tenths); ``rpm_tenth_from``: from this share of the rows on, Average_Screw_RPM is logged at
    a tenth of its value, as the KAMP PLC did from 2020-10-28 (None: never)."""
    r = rng(seed)
    n = rows
    fam = _runs(r, n)
    idx = (fam == "RG3").astype(int)
    p = {k: np.array([FAMILIES[f][k] for f in ("CN7", "RG3")])[idx] for k in FAMILIES["CN7"]}  # set points per row

    # Stops (breaks, alarms) and mold changes between runs; each one restarts the warm-up counter.
    change = np.r_[False, fam[1:] != fam[:-1]]
    stop = (r.random(n) < stop_rate) | change
    stop[0] = False
    stop_min = np.where(change, r.uniform(30, 120, n), r.uniform(10, 120, n)) * stop
    last = np.maximum.accumulate(np.where(stop, np.arange(n), -60))
    k = np.arange(n) - last  # shots since restart; the data starts mid-production

    # Latent process states (unit variance unless stated).
    melt = 2.4 * _slow(r, n, 0.995, 0.9)  # degC melt deviation: heater control wander
    p_z = _slow(r, n, 0.98, 0.6)  # hydraulic pressure capability
    cush_z = _slow(r, n, 0.97, 0.5)  # check-ring leak: small cushion
    speed_z = _slow(r, n, 0.99, 0.8)
    clamp_z = _slow(r, n, 0.99, 0.7)  # weak clamp closes slower
    gaps = np.where(stop, stop_min * 60, 0) + p["cycle"] + r.uniform(0.3, 0.8, n)
    t0 = pd.Timestamp(start)
    t = t0 + pd.to_timedelta(np.round(np.cumsum(gaps)), unit="s")
    hours = np.cumsum(gaps) / 3600.0
    clock = hours + (t0 - t0.normalize()).total_seconds() / 3600.0
    melt = melt - 0.008 * (hours % 336)  # heater ageing, -0.2 degC a day, undone by fortnightly service
    ambient = 1.3 * np.sin(2 * np.pi * (clock - 9) / 24)  # warm afternoon, cold dawn
    cool = np.minimum(stop_min / 15, 6.0)
    cool = cool[last.clip(0)] * np.exp(-k / 4.0) * (last >= 0)  # mold cools while the machine stands
    mold_dev = ambient + 0.7 * _slow(r, n, 0.995, 0.9) - cool
    mold_z = mold_dev / 1.3
    melt_z = melt / 2.4

    # Defect hazards: soft thresholds on interactions, not a linear sum.
    relu = lambda x: np.maximum(x, 0.0)  # noqa: E731
    deficit = relu(-melt_z - 0.4) + relu(-p_z - 0.4)  # cold melt and/or weak pressure...
    h_short = 0.9 * sigmoid(3.0 * (deficit * (0.5 + relu(-cush_z)) - 4.4))  # ...worse with little cushion
    h_gas = 0.9 * sigmoid(3.0 * (relu(speed_z - 0.2) * relu(-mold_z + 0.2) + 0.2 * relu(speed_z) - 3.0))
    h_flash = 0.9 * sigmoid(3.5 * (relu(p_z - 0.3) * relu(clamp_z - 0.3) - 2.6))
    h_init = 0.85 * 0.4**k
    h = np.c_[h_short, h_gas, h_flash, h_init] * fail_scale
    h[:, :3] += 0.0004  # unexplained defects: a floor no model can beat
    fail = r.random(n) < 1 - np.prod(1 - h.clip(0, 1), axis=1)
    pick = (r.random(n)[:, None] < np.cumsum(h, 1) / h.sum(1, keepdims=True)).argmax(1)
    reason = np.where(fail, REASONS[pick], "None")

    noise = lambda sd: r.normal(0, sd, n)  # noqa: E731
    warm = np.exp(-k / 1.5)  # first shots after a restart run long and plasticize slowly
    speed = p["speed"] + p["speed_sd"] * speed_z
    fill = p["fill"] * p["speed"] / speed * (1 - 0.003 * melt) + noise(0.02)
    bp_avg_dev = 3.0 * _slow(r, n, 0.995, 0.9)
    k_ = spread  # observed deviations from the set points, scaled to the real machine's steadiness
    out = {
        "TimeStamp": t,
        "PART_NAME": p["name"],
        "EQUIP_NAME": np.full(n, EQUIP),
        "PassOrFail": np.where(fail, "N", "Y"),
        "Reason": reason,
        "Injection_Time": p["inj"] - p["fill"] + fill + noise(0.03),
        "Filling_Time": fill,
        "Plasticizing_Time": p["plast"] * (1 + 0.004 * bp_avg_dev) - 0.04 * melt + 0.9 * warm + noise(0.2),
        "Cycle_Time": p["cycle"] + k_ * (0.6 * (fill - p["fill"]) + noise(0.3)) + 4.0 * warm,
        "Clamp_Close_Time": p["clamp"] + k_ * (0.06 * clamp_z + noise(0.02)),
        "Cushion_Position": p["cushion"] + k_ * (0.11 * cush_z + noise(0.02)),
        "Switch_Over_Position": np.where(r.random(n) < 0.001, 655.31, 0.0),  # rare PLC glitch value
        "Plasticizing_Position": p["plast_pos"] + 2 * k_ * 0.5 * _slow(r, n, 0.99, 0.8),
        "Clamp_Open_Position": p["clamp_open"] + np.where(idx == 0, noise(0.01), 0.0),
        "Max_Injection_Speed": speed + noise(0.15),
        "Max_Screw_RPM": p["max_rpm"] + noise(0.12),
        "Average_Screw_RPM": p["avg_rpm"] + noise(1.0),
        "Max_Injection_Pressure": p["p_inj"] + p["p_sd"] * p_z + k_ * (-0.15 * melt + noise(0.3)),
        "Max_Switch_Over_Pressure": p["p_so"] + 2.8 * p["p_sd"] * p_z + noise(0.5),
        "Max_Back_Pressure": p["bp_max"] + k_ * (0.45 * bp_avg_dev + noise(0.8)) * 3,
        "Average_Back_Pressure": p["bp_avg"] + k_ * (bp_avg_dev + noise(0.4)),
    }
    barrel = p["barrel"]
    for z in range(6):
        out[f"Barrel_Temperature_{z + 1}"] = barrel[:, z] + 1.5 * k_ * (BARREL_WEIGHT[z] * melt + noise(0.4))
    out["Barrel_Temperature_7"] = np.zeros(n)  # zone 7 is not fitted on this machine
    out["Hopper_Temperature"] = p["hopper"] + 0.8 * ambient + 2.0 * _slow(r, n, 0.995, 0.9)
    mold = p["mold"]
    for m in range(1, 13):  # only thermocouples 3 and 4 are wired; the rest read 0 as in KAMP
        live = {3: mold[:, 0] + mold_dev, 4: mold[:, 1] + 1.1 * mold_dev}.get(m)
        out[f"Mold_Temperature_{m}"] = live + noise(0.15) if live is not None else np.zeros(n)
    if rpm_tenth_from is not None:  # a PLC logging change: the same speed written at a tenth
        out["Average_Screw_RPM"] = np.where(np.arange(n) >= int(rpm_tenth_from * n), 0.1, 1.0) * out["Average_Screw_RPM"]
    frame = pd.DataFrame(out)
    # PLC resolution: two decimals for times and positions, one for speeds, pressures and temperatures.
    for col in frame.columns[5:]:
        frame[col] = frame[col].round(2 if col.endswith(("Time", "Position")) else 1)
    cols = ["Hopper_Temperature", "Mold_Temperature_3", "Max_Back_Pressure", "Barrel_Temperature_5"]
    return with_missing(frame, r, cols, missing_rate)
