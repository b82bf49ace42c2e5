"""Degradation, generic: machines that run until they fail, their sensors driven by a hidden health index.

A card describes its machine in ``reference_data.simulator.params``; this module knows how wear-out
data behaves in general. Each *life* (one machine from new or from its last repair to its failure)
has a hidden health index h that stays near its initial wear until an onset, then grows to 1 at
failure: exponentially with a life-specific curvature ``k`` (k near 0 is linear wear, large k a
sudden end), with an optional ``jump`` when a defect initiates (a spall, a crack). Sensors read
``base + fail * h**power`` with a unit-specific offset and gain, operating-condition effects and
measurement noise; a life may fail by one of several *modes*, each moving its own sensors. So a
model has to see the health index through noisy, condition-dependent readings.

Two layouts, chosen by ``target.kind``:

* ``rul``: a fleet of units each running one life to failure, ``RUL`` counting down to 0 (the
  training frame), and a second fleet of other units cut off at a random point before failure, with
  their true remaining life (the fixed test set, as NASA's C-MAPSS does). Returns ``(train, test)``.
* ``horizon``: a few machines on a shared calendar, each running life after life with a repair stop
  between; the label says whether the machine fails within the next ``horizon`` rows. One frame,
  split by time on the card.

Shape of the params (only ``sensors`` and ``target`` are required)::

    unit: {column: unit, prefix: "VP-", count: 12}      # count: horizon layout (rul: from rows/life)
    index: {column: run_days, per_row: 1, start: 1}     # counter within a life (cycles, hours, ...)
    time: {column: timestamp, start: "2024-01-01", step_min: 30, repair_h: [4, 48]}   # rul: units one after another
    life: {min: 90, shape: 2.5, scale: 60, max: 420}    # rows per life: min + gamma(shape, scale)
    health: {w0: [0, 0.1], onset: [0.2, 0.6], k: [1, 4], jump: [0, 0]}   # ranges drawn per life
    conditions:                                          # operating conditions, in order
      process: {choices: {nitride: 0.5, oxide: 0.5}, per: unit}      # categorical, fixed per unit
      speed_rpm: {values: [1500, 1800], per: unit}                     # numeric, fixed per unit
      load: {mean: 0.7, sd: 0.1, smooth: 0.9, min: 0, max: 1}          # wanders row to row
      demand: {formula: "0.6 + 0.3*sin(2*pi*(hour - 8)/24)", hidden: true}   # not a column
    modes:                                               # optional failure modes, drawn per life
      deposition: {share: 0.7, sensitivity: {vibration_rms: 0.2}}   # sensors not named respond fully
      bearing: {share: 0.3, sensitivity: {booster_current: 0.1}}
    sensors:
      booster_current: {base: "18 + 4*load", fail: 6, power: 2, noise: 0.3, unit_sd: 0.5, gain_sd: 0.2,
                        drift: 0.05, log_noise: 0, decimals: 2, min: 0, max: 60}
      duty: {base: "demand", fail: 0.4, hidden: true}        # a hidden driver; later sensors use it
    target:
      kind: rul | horizon
      column: RUL                    # rul: remaining life in ``per_row`` units (rows * per_row)
      per_row: 1
      cap: 48                        # rul, optional: the test fleet's RUL recorded as at most this
      horizon: 48                    # horizon: rows ahead that count as "fails soon"
      labels: {healthy: 0, failing: 1}
    test: {share: 0.4, cut: [5, 150], min_rows: 31}     # rul: truncated test fleet (rows)
    missing: {rate: 0.005, columns: [booster_current]}

Formulas (``base``, ``fail``, condition ``formula``) see the conditions by name (categories as
``is_<name>_<value>``), the true (noise-free) value of every sensor listed before, ``hour`` and
``weekday`` (when there is a clock), ``age`` (rows into the life) and ``u`` (uniform noise).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from .common import formula, rng, with_missing


def _range(spec: dict, key: str, default: float) -> tuple[float, float]:
    value = spec.get(key, default)
    return (float(value[0]), float(value[1])) if isinstance(value, (list, tuple)) else (float(value), float(value))


def _ar1(r: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    """AR(1) wander (standard deviation ``sd`` once settled, starting at 0): a condition or a pick-up drifting."""
    return sd * lfilter([1.0], [1.0, -phi], r.normal(0.0, np.sqrt(1 - phi**2), n))


def _lives(r: np.random.Generator, count: int, spec: dict) -> np.ndarray:
    lo, hi = spec.get("min", 100), spec.get("max", np.inf)
    life = lo + r.gamma(spec.get("shape", 2.5), spec.get("scale", 50.0), count)
    return np.clip(np.round(life), lo, hi).astype(np.int64)


def _mean_life(spec: dict) -> float:
    return spec.get("min", 100) + spec.get("shape", 2.5) * spec.get("scale", 50.0)


def _health(r: np.random.Generator, life: np.ndarray, life_idx: np.ndarray, age: np.ndarray, spec: dict) -> np.ndarray:
    """Health index per row: initial wear ``w0`` until the onset, then growth to 1 at failure."""
    n_lives = len(life)
    draw = {key: r.uniform(*_range(spec, key, default), n_lives)[life_idx]
            for key, default in (("w0", 0.05), ("onset", 0.3), ("k", 2.5), ("jump", 0.0))}
    T = life[life_idx].astype(float)
    onset = draw["onset"] * T
    x = np.clip((age - onset) / np.maximum(T - onset, 1.0), 0.0, 1.0)
    k = np.maximum(draw["k"], 1e-6)
    growth = np.expm1(k * x) / np.expm1(k)
    jump = draw["jump"] * (x > 0)
    return draw["w0"] + (1 - draw["w0"]) * np.clip(jump + (1 - jump) * growth, 0.0, 1.0)


def _conditions(r: np.random.Generator, specs: dict, unit_idx: np.ndarray, n_units: int,
                scope: dict) -> dict[str, np.ndarray]:
    """Operating conditions as columns (hidden ones only enter the scope for formulas)."""
    n = len(unit_idx)
    columns = {}
    for name, spec in (specs or {}).items():
        if "choices" in spec:
            names = np.array(list(spec["choices"]))
            weights = np.array(list(spec["choices"].values()), dtype=float)
            if spec.get("per", "unit") == "unit":
                values = names[r.choice(len(names), n_units, p=weights / weights.sum())][unit_idx]
            else:
                values = names[r.choice(len(names), n, p=weights / weights.sum())]
            for v in names:
                scope[f"is_{name}_{v}"] = (values == v).astype(float)
            if not spec.get("hidden"):
                columns[name] = values
            continue
        if "values" in spec:
            vals = np.asarray(spec["values"], dtype=float)
            pick = r.integers(0, len(vals), n_units)[unit_idx] if spec.get("per", "unit") == "unit" else r.integers(0, len(vals), n)
            values = vals[pick]
        elif "formula" in spec:
            values = formula(spec["formula"], scope) + _ar1(r, n, spec.get("smooth", 0.9), spec.get("sd", 0.0))
        else:
            values = spec.get("mean", 0.0) + _ar1(r, n, spec.get("smooth", 0.9), spec.get("sd", 1.0))
        values = np.clip(values, spec.get("min", -np.inf), spec.get("max", np.inf))
        if "decimals" in spec:
            values = np.round(values, spec["decimals"])
        scope[name] = values
        if not spec.get("hidden"):
            columns[name] = values
    return columns


def _value(spec, scope: dict, n: int) -> np.ndarray:
    if isinstance(spec, str):
        return np.broadcast_to(formula(spec, scope), (n,)).astype(float)
    return np.full(n, float(spec))


def _sensors(r: np.random.Generator, specs: dict, health: np.ndarray, unit_idx: np.ndarray, n_units: int,
             sensitivity: dict[str, np.ndarray], scope: dict) -> dict[str, np.ndarray]:
    n = len(health)
    out = {}
    for name, spec in specs.items():
        base = _value(spec.get("base", 0.0), scope, n)
        fail = _value(spec.get("fail", 0.0), scope, n)
        offset = r.normal(0.0, spec.get("unit_sd", 0.0), n_units)[unit_idx]  # manufacturing/install scatter
        gain = np.exp(r.normal(0.0, spec.get("gain_sd", 0.0), n_units))[unit_idx]  # how strongly it shows wear
        drift = _ar1(r, n, 0.995, spec["drift"]) if spec.get("drift") else 0.0  # slow pick-up drift
        wear = fail * gain * sensitivity.get(name, 1.0) * health ** spec.get("power", 1.0)
        true = np.clip(base + offset + wear + drift, spec.get("min", -np.inf), spec.get("max", np.inf))
        scope[name] = true  # later sensors may be driven by this one (a duty cycle drives pressures)
        if spec.get("hidden"):
            continue
        if spec.get("log_noise"):
            true = true * np.exp(r.normal(0.0, spec["log_noise"], n))
        value = true + r.normal(0.0, spec.get("noise", 0.0), n)
        value = np.clip(value, spec.get("min", -np.inf), spec.get("max", np.inf))
        out[name] = np.round(value, spec.get("decimals", 3))
    return out


def _modes(r: np.random.Generator, specs: dict | None, n_lives: int, life_idx: np.ndarray) -> dict[str, np.ndarray]:
    """Per-row sensitivity of each sensor to the health index, from the failure mode of its life."""
    if not specs:
        return {}
    names = list(specs)
    share = np.array([specs[m].get("share", 1.0) for m in names], dtype=float)
    mode = r.choice(len(names), n_lives, p=share / share.sum())[life_idx]
    sensors = {s for m in names for s in specs[m].get("sensitivity", {})}
    return {s: np.array([specs[m].get("sensitivity", {}).get(s, 1.0) for m in names])[mode] for s in sensors}


def _fleet(r: np.random.Generator, params: dict, lives_per_unit: list[int], first_unit: int) -> pd.DataFrame:
    """Rows of every life of every unit: unit, life number, age (row within life), life length."""
    n_units = len(lives_per_unit)
    life = _lives(r, int(sum(lives_per_unit)), params.get("life", {}))
    owner = np.repeat(np.arange(n_units), lives_per_unit)
    life_idx = np.repeat(np.arange(len(life)), life)
    unit_idx = owner[life_idx]
    start = np.repeat(np.cumsum(life) - life, life)
    age = np.arange(len(life_idx)) - start + 1  # 1 .. life
    return pd.DataFrame({"unit_idx": unit_idx + first_unit, "life_idx": life_idx, "age": age,
                         "life": life[life_idx]}), life


def _build(r: np.random.Generator, params: dict, skeleton: pd.DataFrame, life: np.ndarray,
           n_units: int, first_unit: int, clock: pd.DatetimeIndex | None) -> pd.DataFrame:
    n = len(skeleton)
    unit_idx = skeleton["unit_idx"].to_numpy() - first_unit
    life_idx, age = skeleton["life_idx"].to_numpy(), skeleton["age"].to_numpy().astype(float)
    scope: dict[str, np.ndarray] = {"age": age, "u": r.random(n)}
    if clock is not None:
        scope["hour"] = (clock.hour + clock.minute / 60).to_numpy(float)
        scope["weekday"] = clock.day_of_week.to_numpy(float)
    frame: dict[str, object] = {}
    unit = params.get("unit", {})
    ids = unit_idx + first_unit + 1
    frame[unit.get("column", "unit")] = (np.char.add(unit["prefix"], np.char.zfill(ids.astype(str), 3))
                                         if unit.get("prefix") else ids.astype(np.int64))
    if clock is not None:
        frame[params["time"].get("column", "timestamp")] = clock
    index = params.get("index")
    if index:
        counter = index.get("start", 1) + (age - 1) * index.get("per_row", 1)
        frame[index.get("column", "cycle")] = np.round(counter, index.get("decimals", 0)) if index.get("decimals") else counter.astype(np.int64)
    frame.update(_conditions(r, params.get("conditions"), unit_idx, n_units, scope))
    health = _health(r, life, life_idx, age, params.get("health", {}))
    sensitivity = _modes(r, params.get("modes"), len(life), life_idx)
    frame.update(_sensors(r, params["sensors"], health, unit_idx, n_units, sensitivity, scope))
    remaining = (skeleton["life"] - skeleton["age"]).to_numpy()  # rows to failure, 0 on the last row
    target = params["target"]
    if target.get("kind", "rul") == "rul":
        per_row = target.get("per_row", 1)
        frame[target.get("column", "RUL")] = (remaining.astype(np.int64) if per_row == 1
                                              else np.round(remaining * per_row, target.get("decimals", 2)))
    else:
        labels = target.get("labels", {"healthy": 0, "failing": 1})
        frame[target["column"]] = np.where(remaining < target.get("horizon", 24), labels["failing"], labels["healthy"])
    return pd.DataFrame(frame)


def _missing(frame: pd.DataFrame, r: np.random.Generator, spec: dict | None) -> pd.DataFrame:
    spec = spec or {}
    return with_missing(frame, r, spec.get("columns", []), spec.get("rate", 0.0)) if spec else frame


def generate(rows: int = 12000, seed: int = 7, sensors: dict | None = None, target: dict | None = None,
             **params) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    if not sensors or not target:
        raise ValueError("degradation needs `sensors` and `target` in the card's simulator params")
    params = {**params, "sensors": sensors, "target": target}
    r = rng(seed)
    if target.get("kind", "rul") == "rul":
        return _rul(r, rows, params)
    return _horizon(r, rows, params)


def _rul(r: np.random.Generator, rows: int, params: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    mean_life = _mean_life(params.get("life", {}))
    n_train = max(2, int(round(rows / mean_life)))
    test_spec = params.get("test", {})
    n_test = max(1, int(round(test_spec.get("share", 0.4) * n_train)))
    skeleton, life = _fleet(r, params, [1] * n_train, 0)
    train = _build(r, params, skeleton, life, n_train, 0, _rig_clock(params, skeleton, 0))
    skeleton, life = _fleet(r, params, [1] * n_test, n_train)
    full = _build(r, params, skeleton, life, n_test, n_train, _rig_clock(params, skeleton, n_train))
    # Cut each test unit short at a random point before its failure (and not too early in its life).
    lo, hi = test_spec.get("cut", [5, 150])
    rul_at_cut = np.round(r.uniform(lo, hi, n_test))[skeleton["unit_idx"].to_numpy() - n_train]
    cut = np.maximum(skeleton["life"].to_numpy() - rul_at_cut, test_spec.get("min_rows", 31))
    test = full[skeleton["age"].to_numpy() <= cut].reset_index(drop=True)
    if "cap" in params["target"]:
        # test truth as the plant records it where a run's end is unknown beyond the cap (IMS bearings
        # still running when the rig stopped count as "at least cap"); training RUL stays whole (the
        # card's target.clip caps it for training)
        column = params["target"].get("column", "RUL")
        test[column] = np.minimum(test[column], params["target"]["cap"])
    miss = params.get("missing")
    return _missing(train, r, miss), _missing(test, r, miss)


def _rig_clock(params: dict, skeleton: pd.DataFrame, first_unit: int) -> pd.DatetimeIndex | None:
    """rul layout with ``time``: the units run one after another on one rig, a row every ``step_min``,
    ``repair_h`` (the first value) between one unit's failure and the next one's start."""
    spec = params.get("time")
    if not spec:
        return None
    step = spec.get("step_min", 60) * 60.0
    pause = _range(spec, "repair_h", 24)[0] * 3600
    life = skeleton.groupby("unit_idx", sort=False)["life"].first()
    begins = pd.Series(np.cumsum(np.r_[0.0, (life.to_numpy()[:-1] * step + pause)]), index=life.index)
    offset = first_unit * (life.mean() * step + pause)  # the test fleet runs after the training fleet
    seconds = offset + begins.loc[skeleton["unit_idx"]].to_numpy() + (skeleton["age"].to_numpy() - 1) * step
    return pd.Timestamp(spec.get("start", "2024-01-01 00:00")) + pd.to_timedelta(np.round(seconds), unit="s")


def _horizon(r: np.random.Generator, rows: int, params: dict) -> pd.DataFrame:
    """Machines on one calendar, each running life after life with a repair stop after each failure."""
    n_units = params.get("unit", {}).get("count", 8)
    per_unit = int(np.ceil(rows / n_units))
    mean_life = _mean_life(params.get("life", {}))
    lives = [int(np.ceil(per_unit / mean_life * 2)) + 2] * n_units  # enough lives, trimmed below
    skeleton, life = _fleet(r, params, lives, 0)
    keep = skeleton.groupby("unit_idx").cumcount().to_numpy() < per_unit
    clock = None
    spec = params.get("time")
    if spec:
        step = pd.Timedelta(minutes=spec.get("step_min", 60))
        lo, hi = spec.get("repair_h", [4, 48])
        repair = np.round(r.uniform(lo, hi, len(life)) * 3600 / step.total_seconds()) * step.total_seconds() / 3600  # hours down after each failure, whole steps
        first_row = (skeleton["age"] == 1).to_numpy()
        extra = np.where(first_row, np.r_[0.0, repair][skeleton["life_idx"].to_numpy()], 0.0)  # after the previous life
        new_unit = (skeleton["unit_idx"].diff().fillna(1) != 0).to_numpy()
        extra[new_unit] = 0.0
        steps = np.where(new_unit, 0, 1)
        elapsed = (pd.Series(steps).groupby(skeleton["unit_idx"]).cumsum().to_numpy() * step.total_seconds()
                   + pd.Series(extra * 3600).groupby(skeleton["unit_idx"]).cumsum().to_numpy())
        clock = pd.Timestamp(spec.get("start", "2024-01-01 00:00")) + pd.to_timedelta(np.round(elapsed), unit="s")
        clock = clock[keep]
    skeleton = skeleton[keep].reset_index(drop=True)
    frame = _build(r, params, skeleton, life, n_units, 0, clock)
    if clock is not None:
        frame = frame.sort_values([params["time"].get("column", "timestamp"), params.get("unit", {}).get("column", "unit")],
                                  kind="stable").reset_index(drop=True)
    return _missing(frame, r, params.get("missing"))
