"""CNC milling experiments in the UMich SMART / KAMP layout: one controller time series per experiment
(samples while the tool cuts, ``Machining_Process`` = "Layer n Up/Down"), labelled per experiment.

Physics: a 3-axis mill cuts a wax block along a zig-zag path in three layers at a programmed feed rate
(mm/s) with the part held at a clamp pressure (bar). The spindle's torque current and power follow the
material removal rate, which follows the feed; a worn tool needs more of both and cuts less evenly
(more scatter), and the X/Y drives push harder along the direction of travel. Labels are per
experiment, as in the original: ``tool_condition``; ``machining_finalized`` (no when a weakly clamped
part slips at high feed, and the run stops early); ``passed_visual_inspection`` (empty unless
finalized; a worn tool at a high feed leaves a rough, torn surface, taken as an exact rule, because with
a few dozen experiments one random verdict would decide a grouped test split). ``INSPECT`` repeats the visual
verdict, as KAMP's files do. ``every`` keeps every n-th 100-ms sample, like the public loader.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from .common import rng, sigmoid

FEEDS = np.array([3, 6, 12, 15, 20])  # mm/s, as in the UMich experiments
CLAMPS = np.array([2.5, 3.0, 4.0])  # bar
PHASES = [f"Layer {layer} {way}" for layer in (1, 2, 3) for way in ("Up", "Down")]
PER_PASS_AT_3 = 270  # 100-ms samples per layer pass at 3 mm/s


def _wander(r: np.random.Generator, n: int, smooth: float) -> np.ndarray:
    return lfilter([1.0], [1.0, -smooth], r.normal(0.0, np.sqrt(1 - smooth**2), n))


def _experiment(r: np.random.Generator, no: int, every: int, wear_effect: float, worn: bool) -> pd.DataFrame:
    feed, clamp = float(r.choice(FEEDS)), float(r.choice(CLAMPS))
    slip = sigmoid(3.0 * (2.9 - clamp) + 0.15 * (feed - 12) - 0.5)
    finalized = r.random() > slip
    rough = 1.0 if worn and feed >= 10 else 0.0  # a worn edge at a high feed tears the surface
    passed = "" if not finalized else ("no" if r.random() < rough else "yes")

    # 100-ms samples per layer pass: fewer at a higher feed, but far from in proportion (the UMich
    # programmes add approach moves and dwell; their cutting rows run 1,600 samples at 3 mm/s, 700 at 20)
    per_pass = int(PER_PASS_AT_3 * (3.0 / feed) ** 0.55)
    phase = np.repeat(np.arange(len(PHASES)), per_pass)
    if not finalized:  # the part slipped: the run stops part-way
        phase = phase[: max(per_pass // 2, int(len(phase) * r.uniform(0.15, 0.7)))]
    n = len(phase)
    t = np.arange(n)
    direction = np.where(phase % 2 == 0, 1.0, -1.0)  # Up / Down passes travel opposite ways
    angle = 2 * np.pi * (t % per_pass) / max(per_pass / 6, 1)  # the zig-zag of the contour
    # The controller's axis velocities sit at the programme's travel speed (3, 4 or 5 mm/s in the UMich
    # logs, both axes alike) with the contour's excursions on top, larger in some programmes than others.
    travel = float(r.choice([3.0, 4.0, 5.0], p=[0.35, 0.15, 0.5]))
    reach = feed * r.uniform(0.05, 0.6)
    vx = travel + reach * direction * np.cos(angle) + r.normal(0, 0.1, n)
    vy = travel + 0.3 * reach * direction * np.sin(angle) + r.normal(0, 0.1, n)
    spindle = 57.2 + 1.0 * r.normal() + 0.6 * _wander(r, n, 0.98)  # rev/s, per-experiment override

    # Material removal drives the spindle's torque current; a worn edge needs more and scatters more.
    wear = 1 + wear_effect * worn * (1 + 0.3 * _wander(r, n, 0.95))
    load = (13.5 + 1.0 * feed**0.65) * wear * (1 + 0.06 * phase // 2)  # deeper layers cut a little more
    scatter = 1.2 * (1 + 1.5 * wear_effect * worn)
    s_current = load + scatter * _wander(r, n, 0.6) + r.normal(0, 0.8, n)
    s_power = 0.0086 * s_current * spindle / 57 + r.normal(0, 0.004, n)
    push = 1 + 0.8 * wear_effect * worn
    x_current = (1.5 + 0.22 * feed * push) * np.sign(vx) * np.abs(np.cos(angle)) + r.normal(0, 1.3, n)
    y_current = (1.5 + 0.22 * feed * push) * np.sign(vy) * np.abs(np.sin(angle)) + r.normal(0, 1.3, n)

    # the controller's feed display: the programmed feed, or 50 (its rapid rate) in some fast programmes
    shown = 50.0 if feed >= 12 and r.random() < 0.5 else feed
    frame = pd.DataFrame({
        "No": no, "sample": t,
        "X_ActualVelocity": vx.round(3), "Y_ActualVelocity": vy.round(3),
        "X_CurrentFeedback": x_current.round(3), "X_DCBusVoltage": (0.06 + 0.004 * np.abs(x_current) + r.normal(0, 0.01, n)).clip(0).round(4),
        "X_OutputCurrent": (326.0 + 0.1 * np.abs(x_current) + r.normal(0, 1.0, n)).round(0),
        "X_OutputVoltage": (1.1 * np.abs(vx) + 2 + r.normal(0, 1.5, n)).clip(0).round(2),
        "X_OutputPower": (0.00012 * x_current * (vx - travel) + r.normal(0, 0.0004, n)).round(6),
        "Y_CurrentFeedback": y_current.round(3), "Y_DCBusVoltage": (0.06 + 0.004 * np.abs(y_current) + r.normal(0, 0.01, n)).clip(0).round(4),
        "Y_OutputCurrent": (325.0 + 0.1 * np.abs(y_current) + r.normal(0, 1.0, n)).round(0),
        "Y_OutputVoltage": (1.1 * np.abs(vy) + 2 + r.normal(0, 1.5, n)).clip(0).round(2),
        "Y_OutputPower": (0.00012 * y_current * (vy - travel) + r.normal(0, 0.0004, n)).round(6),
        "S_ActualVelocity": spindle.round(2), "S_CurrentFeedback": s_current.round(2),
        "S_DCBusVoltage": (0.9 + 2.0 * (s_power - 0.15) + r.normal(0, 0.05, n)).clip(0).round(3),
        "S_OutputCurrent": (318.0 + 0.2 * s_current + r.normal(0, 1.5, n)).round(0),
        "S_OutputVoltage": (2.2 * spindle + r.normal(0, 1.5, n)).round(1),
        "S_OutputPower": s_power.round(4),
        "M_CURRENT_FEEDRATE": shown, "Machining_Process": np.asarray(PHASES)[phase],
        "feedrate": feed, "clamp_pressure": clamp, "material": "wax",
        "tool_condition": "worn" if worn else "unworn",
        "machining_finalized": "yes" if finalized else "no",
        "passed_visual_inspection": passed or np.nan,
        "INSPECT": "PASS" if passed == "yes" else "FAIL",
    })
    return frame.iloc[::every]


def generate(rows: int = 4000, seed: int = 7, every: int = 5, wear_effect: float = 0.15) -> pd.DataFrame:
    """Experiments until about ``rows`` samples (after keeping every ``every``-th one)."""
    r = rng(seed)
    parts, total, no = [], 0, 0
    deck: list[bool] = []
    while total < rows or no < 8:  # at least eight experiments, so a grouped split has classes to deal
        no += 1
        if not deck:  # tools dealt worn/unworn in shuffled pairs, as the UMich set holds both (10 and 8)
            deck = list(r.permutation([True, False]))
        part = _experiment(r, no, every, wear_effect, bool(deck.pop()))
        parts.append(part)
        total += len(part)
    return pd.concat(parts, ignore_index=True)
