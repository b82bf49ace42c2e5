"""Machining with physical failure modes, in the layout of the AI4I 2020 predictive maintenance data.

One row per machined part, in production order, following the generation rules Matzka (2020)
published for AI4I: product quality variants L/M/H; air temperature a slow random walk around 300 K;
process temperature 10 K above it plus its own walk; torque normal around 40 Nm and the spindle
speed falling with it as in AI4I (about ``base + k/torque`` rpm, so power varies much less than
either); tool wear growing 5/3/2 minutes per part
for H/M/L until the tool is changed at a random 200-240 minutes, where it sometimes breaks instead.
The machine fails when one of the modes fires on the TRUE values:

* TWF tool wear failure: the tool breaks at its change point (a share of changes);
* HDF heat dissipation failure: air-to-process temperature difference below ``hdf.dT_K`` and speed
  below ``hdf.rpm`` (the spindle does not move enough air to carry the heat away);
* PWF power failure: torque x angular speed outside ``pwf`` [min_W, max_W];
* OSF overstrain failure: tool wear x torque above the variant's limit (``osf``, min*Nm);
* RNF random failure: a small chance per part whatever the process does.

Every rule is a card parameter (``shares``, ``air``, ``process``, ``torque``, ``speed``, ``wear``,
``tool_life``, ``tool_break_share``, ``hdf``, ``pwf``, ``osf``, ``rnf_rate``). Readings are rounded as in
AI4I (0.1 K, 1 rpm, 0.1 Nm, 1 min). The frame carries the failure flag, the five mode flags (they
give the answer away: cards exclude them) and the derived ``Failure_Mode`` class (``failure_mode``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from .common import rng

# A part that trips several modes is labelled with the first in this order: the drive's power trip
# acts at once, overstrain and heat build up over the cut, tool breakage and random causes last.
MODE_PRIORITY = ("PWF", "OSF", "HDF", "TWF", "RNF")


def failure_mode(flags: pd.DataFrame, failed: pd.Series | np.ndarray) -> np.ndarray:
    """One class per part: ``No_Failure``, or the failed part's mode by MODE_PRIORITY. A failed part
    with no mode flag (AI4I has nine) counts as RNF (random or unexplained); an RNF flag on a part
    that did not fail (AI4I has eighteen) counts as No_Failure: the machine did not stop."""
    failed = np.asarray(failed).astype(bool)
    mode = np.where(failed, "RNF", "No_Failure").astype(object)
    for name in reversed(MODE_PRIORITY):
        mode = np.where(failed & (np.asarray(flags[name]) == 1), name, mode)
    return mode


def _walk(r: np.random.Generator, n: int, smooth: float) -> np.ndarray:
    """Unit-variance AR(1), a slow random walk that stays in range."""
    return lfilter([1.0], [1.0, -smooth], r.normal(0.0, np.sqrt(1 - smooth**2), n))


def generate(rows: int = 10000, seed: int = 7, shares: dict | None = None, air: dict | None = None,
             process: dict | None = None, torque: dict | None = None, speed: dict | None = None,
             wear: dict | None = None, tool_life: tuple = (200, 240), tool_break_share: float = 0.43,
             hdf: dict | None = None, pwf: dict | None = None, osf: dict | None = None,
             rnf_rate: float = 0.001) -> pd.DataFrame:
    r, n = rng(seed), rows
    shares = shares or {"L": 0.6, "M": 0.3, "H": 0.1}
    air, process = air or {"mean": 300.0, "sd": 2.0, "smooth": 0.999}, process or {"offset": 10.0, "sd": 1.0, "smooth": 0.999}
    torque, speed = torque or {"mean": 40.0, "sd": 10.0}, speed or {"base": 1050.0, "k": 17900.0, "noise": 55.0}
    wear = wear or {"L": 2, "M": 3, "H": 5}
    hdf, pwf = hdf or {"dT_K": 8.6, "rpm": 1380}, pwf or {"min_W": 3500, "max_W": 9000}
    osf = osf or {"L": 11000, "M": 12000, "H": 13000}

    names = list(shares)
    variant = np.asarray(names)[r.choice(len(names), n, p=np.array(list(shares.values())) / sum(shares.values()))]
    serial = 10000 + np.cumsum(r.integers(1, 4, n))  # serial numbers rise along the line
    air_K = air["mean"] + air["sd"] * _walk(r, n, air.get("smooth", 0.9995))
    proc_K = air_K + process["offset"] + process["sd"] * _walk(r, n, process.get("smooth", 0.999))
    torque_Nm = np.clip(torque["mean"] + torque["sd"] * r.normal(size=n), 3.8, None)
    speed_rpm = speed["base"] + speed["k"] / np.maximum(torque_Nm, 9.0) + speed["noise"] * r.normal(size=n)

    # Tool wear: grows per part by variant, reset at a random change point; some changes are breaks.
    step = np.vectorize(wear.get)(variant).astype(float)
    tool_wear = np.empty(n)
    twf = np.zeros(n, dtype=int)
    acc, limit = 0.0, r.uniform(*tool_life)
    for i in range(n):
        if acc >= limit:
            twf[i] = int(r.random() < tool_break_share)
            acc, limit = 0.0, r.uniform(*tool_life)
        tool_wear[i] = acc
        acc += step[i]
    # TWF belongs to the part cut with the worn-out tool: flag the last part before the reset.
    twf = np.r_[twf[1:], 0]

    power_W = torque_Nm * speed_rpm * 2 * np.pi / 60
    flags = pd.DataFrame({
        "TWF": twf,
        "HDF": ((proc_K - air_K < hdf["dT_K"]) & (speed_rpm < hdf["rpm"])).astype(int),
        "PWF": ((power_W < pwf["min_W"]) | (power_W > pwf["max_W"])).astype(int),
        "OSF": (tool_wear * torque_Nm > np.vectorize(osf.get)(variant)).astype(int),
        "RNF": (r.random(n) < rnf_rate).astype(int),
    })
    failed = flags.to_numpy().any(axis=1).astype(int)
    frame = pd.DataFrame({
        "UDI": np.arange(1, n + 1),
        "Product_ID": np.char.add(variant.astype(str), serial.astype(str)),
        "Type": variant,
        "Air_temperature": np.round(air_K, 1),
        "Process_temperature": np.round(proc_K, 1),
        "Rotational_speed": np.round(speed_rpm).astype(np.int64),
        "Torque": np.round(torque_Nm, 1),
        "Tool_wear": tool_wear.astype(np.int64),
        "Machine_failure": failed,
    })
    frame = pd.concat([frame, flags], axis=1)
    frame["Failure_Mode"] = failure_mode(flags, failed)
    return frame
