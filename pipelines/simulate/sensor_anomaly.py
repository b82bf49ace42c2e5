"""Sensor anomalies, generic: machine signals over time with labelled anomaly events.

A card describes its machine in ``reference_data.simulator.params``; this module only knows how
monitored equipment behaves in general. Operating conditions (``context``: setpoints, load, speed,
recipe, ambient) wander, follow the clock and change per lot or per cycle; each measured signal
has a NORMAL behaviour, a formula over the context (current follows load, a zone temperature lags
its setpoint), plus slow wander and measurement noise. Labelled events then push chosen signals
away from normal for a while, each kind with its own signature. Because the engine scores rows by
how far signals stray from what the context predicts, the data are learnable exactly when the
card's formulas make normal behaviour predictable and its events visible against that. Shape of
the params (``signals``, ``events`` and ``label`` are needed, the rest optional)::

    time: {column: TimeStamp, start: "2024-03-04 06:00", step_s: 60, jitter_s: 2,
           stop_rate: 0.002, stop_min: [10, 120], shifts: [6, 22]}   # no column: no timestamp written
    cycles: {length: [15, 40], gap_s: [2, 20], counter: PageNo, first: 1}   # rows come in bursts
    lots: {run: 1500, counter: No_Shot}            # lot changes: `per: lot` context changes with them
    context:                                       # operating conditions, in order
      speed_rpm: {formula: "1450 + 150*sin(2*pi*(hour - 8)/24)", sd: 30, smooth: 0.98, noise: 2}
      recipe: {choices: {A: 0.6, B: 0.4}, per: lot}         # categories (formulas see is_recipe_A)
      setpoint: {levels: [850, 880, 920], per: lot}         # numeric settings held per lot/cycle/run
      speed: {levels: [6000, 8000], per: run, run: 10, formula: "level*where(is_recipe_A > 0, 1.5, 1)"}
    signals:                                       # measured responses; later ones may use earlier
      flow_m3h: {formula: "0.05*speed_rpm", sd: 1.0, smooth: 0.9, noise: 0.5, min: 0, decimals: 1}
      zone_temp: {formula: "setpoint", lag: 25}    # first-order lag of the formula (rows)
    events:                                        # labelled anomaly kinds
      clogged_impeller:
        ko: 임펠러 막힘
        count: 3                 # episodes per 10,000 rows (`cycles` durations: per 1,000 cycles), at least 1
        rows: [80, 240]          # duration in rows, or `cycles: [lo, hi]` for whole cycles
        shape: ramp              # step | ramp | spike | oscillation | noise | stuck | lag
        effects: {discharge_bar: "-12%", motor_current_a: "+6%", vibration_mm_s: 0.8}
    label: {column: fault, normal: 0, fault: 1}
    missing: {rate: 0.003, columns: [flow_m3h]}

Effects are amounts in the signal's unit or ``"+x%"`` of its normal value (a gain), scaled by the
shape's profile over the episode: ``step`` holds, ``ramp`` grows (``power``, ``start``: drift before a
failure), ``spike`` hits one to a few rows (``sign: random`` sends them either way), ``oscillation``
swings with a ``period`` in rows and growing amplitude, ``noise`` adds growing random scatter,
``stuck`` freezes the reading at its last value before the event, ``lag`` slows the response by
``amount`` extra rows of time constant. A signal may take a dict ``{amount, shape, period, power,
start, sign}`` or a list of them. Events are placed without overlap and spread evenly over the
record, so every stretch of time (a test period too) sees every kind.
Formulas see the context and earlier signals (normal, true values), ``z_<name>``, ``hour``,
``weekday``, ``since_stop`` (rows since a stop), ``k`` and ``phase`` (row in the cycle, 0..1),
``lot_row`` (rows since the lot began) and ``u`` (uniform noise).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from .common import formula, rng, with_missing

SHAPES = ("step", "ramp", "spike", "oscillation", "noise", "stuck", "lag")


def _wander(r: np.random.Generator, n: int, smooth: float) -> np.ndarray:
    """Unit-variance AR(1): the slow wander of a value around what its formula says."""
    eps = r.normal(0.0, np.sqrt(1 - smooth**2), n)
    return lfilter([1.0], [1.0, -smooth], eps)


def _lag(x: np.ndarray, tau: np.ndarray | float, steps: np.ndarray) -> np.ndarray:
    """First-order lag: each row moves toward ``x`` by 1 - exp(-steps/tau) (steps = elapsed rows)."""
    alpha = 1.0 - np.exp(-np.minimum(steps, 1e3) / np.maximum(tau, 1e-9))
    alpha = np.broadcast_to(alpha, x.shape)
    out = np.empty_like(x)
    acc = x[0]
    for i in range(len(x)):
        acc += alpha[i] * (x[i] - acc)
        out[i] = acc
    return out


def _blocks(r: np.random.Generator, n: int, spec: dict | None, kind: str) -> np.ndarray:
    """Block id per row: cycles (bursts of rows) or lots (runs of about ``run`` rows)."""
    if not spec:
        return np.zeros(n, dtype=int)
    starts, pos = [], 0
    while pos < n:
        starts.append(pos)
        if kind == "cycles":
            lo, hi = spec.get("length", [20, 40])
            pos += int(r.integers(lo, hi + 1))
        else:
            pos += max(2, int(r.normal(spec.get("run", 1000), 0.3 * spec.get("run", 1000))))
    block = np.zeros(n, dtype=int)
    block[np.array(starts[1:], dtype=int)] = 1
    return np.cumsum(block)


def _row_in_block(block: np.ndarray) -> np.ndarray:
    start = np.r_[True, block[1:] != block[:-1]]
    first = np.maximum.accumulate(np.where(start, np.arange(len(block)), 0))
    return np.arange(len(block)) - first


def _clock(r: np.random.Generator, n: int, spec: dict, cycle: np.ndarray, cycled: dict | None):
    """Timestamps, stop flags and elapsed rows per row; production only within ``shifts``."""
    step = float(spec.get("step_s", 60.0))
    gaps = step + r.uniform(-1, 1, n) * spec.get("jitter_s", 0.05 * step)
    new_cycle = np.r_[False, cycle[1:] != cycle[:-1]]
    if cycled:
        lo, hi = cycled.get("gap_s", [2.0, 20.0])
        gaps[new_cycle] += r.uniform(lo, hi, new_cycle.sum())
    stop = r.random(n) < spec.get("stop_rate", 0.0)
    if cycled:
        stop &= new_cycle  # a machine stops between cycles, not inside one
    lo, hi = spec.get("stop_min", [10, 120])
    gaps[stop] += r.uniform(lo, hi, stop.sum()) * 60
    start = pd.Timestamp(spec.get("start", "2024-03-04 06:00:00"))
    shifts = spec.get("shifts")
    now = (start - start.normalize()).total_seconds()
    secs = np.empty(n)
    for i in range(n):  # walk the clock so rows never fall outside the shifts
        now += gaps[i] if i else 0.0
        hour = (now / 3600) % 24
        if shifts and not (shifts[0] <= hour < shifts[1]) and (not cycled or new_cycle[i] or i == 0):
            skip = ((shifts[0] - hour) % 24) * 3600 + r.uniform(0, 300)
            now += skip
            gaps[i] += skip
            stop[i] = True
        secs[i] = now
    stop[0] = True
    t = start.normalize() + pd.to_timedelta(np.round(secs, 3), unit="s")
    since = np.arange(n) - np.maximum.accumulate(np.where(stop, np.arange(n), 0))
    steps = np.where(stop, 1e3, gaps / step)  # elapsed time in rows (a stop lets lags settle)
    return pd.DatetimeIndex(t).as_unit("ms"), since, steps


def _held(r: np.random.Generator, n: int, values, weights, block: np.ndarray) -> np.ndarray:
    """One draw per block (lot, cycle or run); a repeat of the previous value is drawn again once, so
    settings change at most block boundaries."""
    names = np.array(list(values))
    p = np.asarray(weights, dtype=float)
    p = p / p.sum()
    picks = [r.choice(len(names), p=p)]
    for _ in range(block.max()):
        nxt = r.choice(len(names), p=p)
        if len(names) > 1 and nxt == picks[-1]:
            nxt = r.choice(len(names), p=p)
        picks.append(nxt)
    return names[np.asarray(picks)[block]]


def _series(r, n: int, name: str, spec: dict, scope: dict, blocks: dict, steps: np.ndarray):
    """(true value, measured value) of one context or signal column."""
    if "choices" in spec or "levels" in spec:
        raw = spec.get("choices", spec.get("levels"))
        values, weights = (list(raw), list(raw.values())) if isinstance(raw, dict) else (list(raw), [1.0] * len(raw))
        per = spec.get("per", "run")
        block = blocks.get(per)
        if block is None:  # runs of about `run` rows of their own
            block = _blocks(r, n, {"run": spec.get("run", 500)}, "lots")
        held = _held(r, n, values, weights, block)
        if "choices" in spec:
            for v in values:
                scope[f"is_{name}_{v}"] = (held == str(v)).astype(float)
            return held, held
        centre = held.astype(float)
        if "formula" in spec:  # a held level scaled by the context, e.g. per material
            centre = formula(str(spec["formula"]), {**scope, "level": centre})
    else:
        centre = formula(str(spec["formula"]), scope) if "formula" in spec else np.full(n, float(spec.get("mean", 0.0)))
        centre = np.broadcast_to(centre, (n,)).astype(float)
    true = centre + float(spec.get("sd", 0.0)) * _wander(r, n, spec.get("smooth", 0.95)) if spec.get("sd") else centre
    if spec.get("lag"):
        true = _lag(true, float(spec["lag"]), steps)
    noise = spec.get("noise", 0.0)
    noise = formula(noise, scope) if isinstance(noise, str) else float(noise)
    measured = true + r.normal(0.0, 1.0, n) * noise
    return true, measured


# --- events ---------------------------------------------------------------------------------------

def _episodes(r, n: int, events: dict, cycle: np.ndarray, cycled: bool):
    """Non-overlapping episodes spread evenly over the record (so every period, test included,
    sees every kind): per row the event code (0 = normal) and the progress 0..1 through it."""
    units = int(cycle.max()) + 1 if cycled else n
    per = 1000 if cycled else 10_000
    todo = []
    for code, (name, spec) in enumerate(events.items(), start=1):
        lo, hi = spec.get("cycles" if cycled else "rows", [1, 3] if spec.get("shape") == "spike" else [50, 150])
        count = max(1, round(spec.get("count", 2) * units / per))
        where = (np.arange(count) + r.uniform(0.1, 0.9, count)) / count  # each kind spread over the record
        todo += [(w, code, int(r.integers(lo, hi + 1))) for w in where]
    todo = [(code, length) for _, code, length in sorted(todo)]
    margin = max(1, units // 50)
    slot = (units - 2 * margin) / max(len(todo), 1)
    code_u = np.zeros(units, dtype=int)
    for j, (code, length) in enumerate(todo):
        length = min(length, max(1, int(slot * 0.8)))
        free = max(0, int(slot) - length)
        start = margin + int(j * slot) + int(r.integers(0, free + 1))
        code_u[start: start + length] = code
    unit_of_row = cycle if cycled else np.arange(n)
    code = code_u[unit_of_row]
    progress = np.zeros(n)
    edges = np.flatnonzero(np.diff(np.r_[0, code, 0]) != 0)
    for s, e in zip(edges[:-1], edges[1:]):
        if code[s]:
            progress[s:e] = np.linspace(0.0, 1.0, e - s) if e - s > 1 else 1.0
    return code, progress


def _effects(spec) -> list[dict]:
    if isinstance(spec, list):
        return [e if isinstance(e, dict) else {"amount": e} for e in spec]
    return [spec if isinstance(spec, dict) else {"amount": spec}]


def _amount(amount, normal: np.ndarray) -> np.ndarray:
    """An effect in the signal's unit, or ``"x%"`` of its normal value (a gain, so a vibration
    waveform that swings around zero grows on both sides)."""
    if isinstance(amount, str) and amount.strip().endswith("%"):
        return float(amount.strip().rstrip("%")) / 100.0 * normal
    return np.full(len(normal), float(amount))


def _apply(r, value: np.ndarray, normal: np.ndarray, rows: np.ndarray, progress: np.ndarray, effect: dict,
           shape: str, steps: np.ndarray) -> None:
    """Push ``value`` (true reading, before noise) at ``rows`` by one effect."""
    if shape not in SHAPES:
        raise ValueError(f"event shape {shape!r} is unknown; known: {', '.join(SHAPES)}")
    p = progress[rows]
    if shape == "lag":
        tau = float(effect["amount"])
        for s, e in _runs(rows):
            seg = slice(s, e)
            x = np.r_[value[s - 1] if s else value[s], value[seg]]
            value[seg] = _lag(x, tau, np.r_[1.0, steps[seg]])[1:]
        return
    if shape == "stuck":
        return  # applied to the measured value, after noise
    a = _amount(effect["amount"], normal[rows])
    if effect.get("sign") == "random":  # e.g. isolated outliers above and below
        a = a * r.choice([-1.0, 1.0], len(rows))
    start = float(effect.get("start", 0.15))
    grow = start + (1 - start) * p ** float(effect.get("power", 1.0))
    if shape == "step":
        value[rows] += a
    elif shape == "ramp":
        value[rows] += a * grow
    elif shape == "spike":
        value[rows] += a * r.uniform(0.7, 1.3, len(rows))
    elif shape == "oscillation":
        period = float(effect.get("period", 6.0))
        value[rows] += a * grow * np.sin(2 * np.pi * np.arange(len(rows)) / period + r.uniform(0, 2 * np.pi))
    elif shape == "noise":
        value[rows] += np.abs(a) * grow * r.normal(0, 1, len(rows))


def _runs(rows: np.ndarray):
    """Contiguous stretches of sorted row positions as (start, end) pairs."""
    if len(rows) == 0:
        return []
    cut = np.flatnonzero(np.diff(rows) != 1) + 1
    return [(int(seg[0]), int(seg[-1]) + 1) for seg in np.split(rows, cut)]


# --- the family -----------------------------------------------------------------------------------

def generate(rows: int = 6000, seed: int = 7, signals: dict | None = None, events: dict | None = None,
             label: dict | None = None, context: dict | None = None, time: dict | None = None,
             cycles: dict | None = None, lots: dict | None = None, missing: dict | None = None,
             kind_column: str | None = None) -> pd.DataFrame:
    """Reference data of the card's machine; ``kind_column`` also writes each row's event kind
    (for tests and for people studying the simulator; cards never read it)."""
    if not signals or not events or not label:
        raise ValueError("sensor_anomaly needs `signals`, `events` and `label` in the card's simulator params")
    r, n = rng(seed), rows
    cycle = _blocks(r, n, cycles, "cycles")
    lot = _blocks(r, n, lots, "lots")
    tspec = time or {}
    t, since, steps = _clock(r, n, tspec, cycle, cycles)
    k = _row_in_block(cycle)
    length = np.bincount(cycle)[cycle]
    scope: dict[str, np.ndarray] = {
        "hour": (t.hour + t.minute / 60).to_numpy(float), "weekday": t.day_of_week.to_numpy(float),
        "since_stop": since.astype(float), "k": k.astype(float), "phase": k / np.maximum(length - 1, 1),
        "lot_row": _row_in_block(lot).astype(float), "u": r.random(n)}
    blocks = {"lot": lot, "cycle": cycle}
    frame: dict[str, object] = {}
    if tspec.get("column"):
        frame[tspec["column"]] = t
    if lots and lots.get("counter"):
        frame[lots["counter"]] = _row_in_block(lot) + int(lots.get("first", 0))
    if cycles and cycles.get("counter"):
        frame[cycles["counter"]] = k + int(cycles.get("first", 1))

    def add(name: str, spec: dict, keep_true: dict | None = None):
        true, measured = _series(r, n, name, spec, scope, blocks, steps)
        if true.dtype.kind in "OUS":
            frame[name] = true
            return
        scope[name], scope[f"z_{name}"] = true, (true - true.mean()) / (true.std() or 1.0)
        if keep_true is not None:
            keep_true[name] = (true, measured - true)
        else:
            frame[name] = _finish(measured, spec)

    for name, spec in (context or {}).items():
        add(name, spec)
    normal: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, spec in signals.items():
        add(name, spec, keep_true=normal)

    by_cycle = bool(cycles) and all("cycles" in spec for spec in events.values())  # whole strokes, or rows
    code, progress = _episodes(r, n, events, cycle, by_cycle)
    value = {s: v[0].copy() for s, v in normal.items()}
    stuck: list[tuple[str, np.ndarray]] = []
    for c, (ev_name, ev) in enumerate(events.items(), start=1):
        rows_ = np.flatnonzero(code == c)
        for signal, spec in ev.get("effects", {}).items():
            if signal not in normal:
                raise ValueError(f"event {ev_name}: {signal!r} is not a signal (signals: {', '.join(normal)})")
            for effect in _effects(spec):
                shape = effect.get("shape", ev.get("shape", "step"))
                if shape == "stuck":
                    stuck.append((signal, rows_))
                _apply(r, value[signal], normal[signal][0], rows_, progress, {**ev, **effect}, shape, steps)
    for name, spec in signals.items():
        measured = value[name] + normal[name][1]
        for signal, rows_ in stuck:
            if signal == name:
                for s, e in _runs(rows_):
                    measured[s:e] = measured[max(s - 1, 0)]  # the last good reading, frozen
        frame[name] = _finish(measured, spec)

    frame[label["column"]] = np.where(code > 0, label.get("fault", 1), label.get("normal", 0))
    if kind_column:
        frame[kind_column] = np.array(["normal", *events])[code]
    out = pd.DataFrame(frame)
    miss = missing or {}
    return with_missing(out, r, miss.get("columns", []), miss.get("rate", 0.0)) if miss else out


def _finish(values: np.ndarray, spec: dict) -> np.ndarray:
    values = np.clip(values, spec.get("min", -np.inf), spec.get("max", np.inf))
    decimals = spec.get("decimals", 3)
    return np.round(values, decimals) if decimals is not None else values
