"""Demand and energy series, generic: one row per period (15 minutes, hour, day or week) per series
(item, product, furnace, meter), built from the parts every planner knows: a level per series, a
trend, daily, weekly and yearly seasonality, Korean public holidays and plant shutdowns, the shift
plan, on/off cycles (furnace heats, batches) started by the plan, promotions, intermittent demand,
autocorrelated noise and exogenous drivers (weather, production, plans announced in advance).

A card describes its series in ``reference_data.simulator.params``; the module only knows the parts.
Every written column is a card formula over the parts and over the columns before it, plus noise, so
a card writes its machine's physics down in one place. Shape of the params (only ``columns`` is
required)::

    freq: 15min | h | 4h | D | W-MON           # one step of the series
    start: "2021-01-04"
    time: {column: Timestamp}                  # omit to write no time column (UCI gas turbine)
    series: {column: Part Number, names: [A, B]}   # or {column, count: 40, prefix: "P-"}; omit: one series
    level: {sd: 0.6}                           # per-series scale, lognormal around 1 (formulas: level)
    offdays: [5, 6]                            # weekdays off (0 = Monday); public holidays are off too
    shutdowns: [["07-29", "08-04"]]            # plant holidays every year (MM-DD, inclusive)
    plan: {weekday: [24 shares], saturday: [...], sunday: [...]}   # shift plan by hour, 0..1;
                                               # holidays and shutdowns run the Sunday plan
    cycles: {on: 6, off: 2, min_on: 3}         # on/off runs (mean steps, shortest run); an on run
                                               # (a heat, a batch) starts with the plan's probability
    promotions: {rate: 0.03, length: 2, share: 0.6}   # episodes per step, their length, series with any
    columns:                                   # in order; later formulas see earlier columns by name
      Demand: {formula: "20*level*(1 + 0.3*promo)", mult: [0.6, 0.15], count: true, zero: "0.1"}
      Plan_Next_Week: {formula: "...", lead: 1}          # row t holds the value of step t+1
      helper: {formula: "...", hidden: true}              # used by later formulas, not written
      Shift: {labels: [day, night], index: "(hour < 6) + (hour >= 18)"}   # a category
    wide: {every: 4, source: power, columns: [15분, 30분, 45분, 60분]}   # KAMP: one row per hour,
                                                  # the quarter hours side by side; other columns by
                                                  # their ``agg``: first (default) | mean | sum | max
    missing: {rate: 0.005, columns: [기온]}

A column spec: ``formula``; ``noise`` (sd, independent); ``ar: [phi, sd]`` (additive AR(1) per
series); ``mult: [phi, sd]`` (multiplicative, exp of an AR(1)); ``zero`` (formula: probability the
value is 0, for intermittent items and outages); ``count`` (Poisson draw around the value); ``min``,
``max``, ``decimals``, ``int``; ``lead``; ``hidden``; ``labels`` + ``index``; ``agg``.

Formulas see the calendar of the step (``step``, ``t`` years since start, ``hour`` with minutes as a
fraction, ``dow`` 0 = Monday, ``doy``, ``month``, ``dom``, ``year``, ``holiday`` and ``workday``
(0/1 per day; counts of days in a weekly step), ``offday``, ``plan``, and ``plan_prev`` and
``offday_prev`` of the step before, for start-ups and the day after a holiday), the series (``s``
its index, ``level``, ``rs1``..``rs3`` uniform draws per series), the episodes (``promo``,
``promo_after`` the steps right after one, ``cycle``, ``cycle_start``, ``cycle_age`` steps since the
run started, ``cycle_len``) and fresh noise (``u`` uniform, ``e`` standard normal).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from .common import formula, rng, with_missing

# Korean public holidays (fixed dates; May 1 is Workers' Day, off in most plants) and the lunar and
# substitute holidays of 2018-2026, so the calendars of the simulated years look like a Korean plant's.
FIXED_HOLIDAYS = ["01-01", "03-01", "05-01", "05-05", "06-06", "08-15", "10-03", "10-09", "12-25"]
LUNAR_HOLIDAYS = [
    "2018-02-15", "2018-02-16", "2018-02-17", "2018-05-22", "2018-09-23", "2018-09-24", "2018-09-25", "2018-09-26",
    "2019-02-04", "2019-02-05", "2019-02-06", "2019-05-12", "2019-09-12", "2019-09-13", "2019-09-14",
    "2020-01-24", "2020-01-25", "2020-01-26", "2020-01-27", "2020-04-30", "2020-09-30", "2020-10-01", "2020-10-02",
    "2021-02-11", "2021-02-12", "2021-02-13", "2021-05-19", "2021-08-16", "2021-09-20", "2021-09-21", "2021-09-22",
    "2021-10-04", "2021-10-11",
    "2022-01-31", "2022-02-01", "2022-02-02", "2022-05-08", "2022-09-09", "2022-09-10", "2022-09-11", "2022-09-12",
    "2022-10-10",
    "2023-01-21", "2023-01-22", "2023-01-23", "2023-01-24", "2023-05-27", "2023-05-29", "2023-09-28", "2023-09-29",
    "2023-09-30", "2023-10-02",
    "2024-02-09", "2024-02-10", "2024-02-11", "2024-02-12", "2024-05-15", "2024-09-16", "2024-09-17", "2024-09-18",
    "2024-10-01",
    "2025-01-28", "2025-01-29", "2025-01-30", "2025-05-06", "2025-10-05", "2025-10-06", "2025-10-07", "2025-10-08",
    "2026-02-16", "2026-02-17", "2026-02-18", "2026-05-25", "2026-09-24", "2026-09-25", "2026-09-26",
]


def korean_holidays(days: pd.DatetimeIndex) -> np.ndarray:
    """True on Korean public holidays (the fixed ones every year, the lunar ones of 2018-2026)."""
    md = days.strftime("%m-%d")
    return np.isin(md, FIXED_HOLIDAYS) | np.isin(days.strftime("%Y-%m-%d"), LUNAR_HOLIDAYS)


def _ar(r: np.random.Generator, shape: tuple[int, int], phi: float, sd: float) -> np.ndarray:
    """AR(1) along time for every series, stationary sd ``sd``."""
    eps = r.normal(0.0, sd * np.sqrt(1 - phi**2), shape)
    eps[:, 0] = r.normal(0.0, sd, shape[0])
    return lfilter([1.0], [1.0, -phi], eps, axis=1)


def _calendar(stamps: pd.DatetimeIndex, offdays: list[int], shutdowns: list, plan: dict | None) -> dict:
    """Per-step calendar arrays (shape (1, T))."""
    step = stamps[1] - stamps[0] if len(stamps) > 1 else pd.Timedelta(days=1)
    first, last = stamps[0].normalize(), (stamps[-1] + step).normalize()
    days = pd.date_range(first, last, freq="D")
    holiday = korean_holidays(days)
    md = np.asarray(days.strftime("%m-%d"))
    for lo, hi in shutdowns or []:
        holiday |= (md >= lo) & (md <= hi)
    off = holiday | np.isin(days.day_of_week, offdays)
    if step >= pd.Timedelta(days=1):  # a day or a week: count days of the period
        edges = np.searchsorted(days, np.r_[stamps.normalize(), stamps[-1].normalize() + step])
        weekday_holiday = holiday & ~np.isin(days.day_of_week, offdays)
        cum = lambda x: np.r_[0, np.cumsum(x)]  # noqa: E731
        h_count = np.diff(cum(weekday_holiday)[edges])
        work = np.diff(cum(~off)[edges])
        offday = np.diff(cum(off)[edges])
        plan_share = work / np.maximum(np.diff(edges), 1)
    else:
        index = np.searchsorted(days, stamps.normalize())
        h_count, work, offday = holiday[index].astype(int), (~off[index]).astype(int), off[index].astype(int)
        hour = np.asarray(stamps.hour)
        if plan:
            weekday = np.asarray(plan.get("weekday", [1.0] * 24), float)
            saturday = np.asarray(plan.get("saturday", weekday), float)
            sunday = np.asarray(plan.get("sunday", [0.0] * 24), float)
            dow = np.asarray(stamps.day_of_week)  # holidays and shutdowns run the Sunday plan
            plan_share = np.where((h_count == 1) | (dow == 6), sunday[hour],
                                  np.where(dow == 5, saturday[hour], weekday[hour]))
        else:
            plan_share = work.astype(float)
    t = np.asarray((stamps - stamps[0]) / pd.Timedelta(days=365.25), float)
    out = {"step": np.arange(len(stamps), dtype=float), "t": t,
           "hour": np.asarray(stamps.hour + stamps.minute / 60, float), "dow": np.asarray(stamps.day_of_week, float),
           "doy": np.asarray(stamps.day_of_year, float), "month": np.asarray(stamps.month, float),
           "dom": np.asarray(stamps.day, float), "year": np.asarray(stamps.year, float),
           "holiday": np.asarray(h_count, float), "workday": np.asarray(work, float),
           "offday": np.asarray(offday, float), "plan": np.asarray(plan_share, float),
           "plan_prev": np.r_[plan_share[:1], plan_share[:-1]].astype(float),
           "offday_prev": np.r_[0, np.asarray(offday)[:-1]].astype(float)}
    return {k: v[None, :] for k, v in out.items()}


def _cycles(r: np.random.Generator, plan: np.ndarray, on: float, off: float, min_on: int = 1,
            min_off: int = 1) -> dict[str, np.ndarray]:
    """On/off runs for one series (semi-Markov: run lengths min + Poisson); an on run (a heat, a batch)
    happens with the probability the shift plan gives at its first step, else the unit stays idle."""
    n = len(plan)
    k = int(n / max(on + off, 1.0)) + 8

    def draw(size):
        return np.column_stack([min_on + r.poisson(max(on - min_on, 0), size),
                                min_off + r.poisson(max(off - min_off, 0), size)]).ravel()

    lengths = draw(k)
    while lengths.sum() < n + 20:
        lengths = np.r_[lengths, draw(8)]
    offset = int(r.integers(0, int(on + off) + 1))
    run = np.repeat(np.arange(len(lengths)), lengths)[offset:offset + n]
    begin = np.cumsum(lengths) - lengths
    age = np.arange(offset, offset + n) - begin[run]
    accept = plan[np.clip(begin - offset, 0, n - 1)] > r.random(len(lengths))
    cycle = ((run % 2 == 0) & accept[run] & (begin[run] >= offset)).astype(float)
    return {"cycle": cycle, "cycle_start": cycle * (age == 0), "cycle_age": cycle * age,
            "cycle_len": cycle * lengths[run]}


def _promotions(r: np.random.Generator, n: int, rate: float, length: int) -> tuple[np.ndarray, np.ndarray]:
    start = r.random(n) < rate
    promo = np.zeros(n)
    after = np.zeros(n)
    for i in np.flatnonzero(start):
        promo[i:i + length] = 1.0
        after[i + length:i + 2 * length] = 1.0
    return promo, after * (1 - promo)


def _series_names(spec: dict | None) -> tuple[str | None, list[str]]:
    if not spec:
        return None, ["all"]
    names = spec.get("names") or [f"{spec.get('prefix', 'S')}{i + 1:0{spec.get('digits', 2)}d}"
                                  for i in range(int(spec.get("count", 1)))]
    return spec["column"], [str(n) for n in names]


def _column(r: np.random.Generator, spec: dict, scope: dict, shape: tuple[int, int]) -> np.ndarray:
    """One column over (series, steps): formula, noise, intermittency, counts, range, rounding."""
    if "labels" in spec:
        index = np.broadcast_to(formula(str(spec["index"]), scope), shape)
        return np.clip(np.floor(index), 0, len(spec["labels"]) - 1).astype(int)
    value = np.broadcast_to(formula(str(spec["formula"]), scope), shape).astype(float)
    if spec.get("noise"):
        value = value + r.normal(0.0, float(spec["noise"]), shape)
    if spec.get("ar"):
        value = value + _ar(r, shape, *spec["ar"])
    if spec.get("mult"):
        value = value * np.exp(_ar(r, shape, *spec["mult"]))
    if spec.get("zero") is not None:
        p = np.broadcast_to(formula(str(spec["zero"]), scope), shape)
        value = np.where(r.random(shape) < p, 0.0, value)
    if spec.get("count"):
        value = r.poisson(np.clip(value, 0, None)).astype(float)
    value = np.clip(value, spec.get("min", -np.inf), spec.get("max", np.inf))
    if "decimals" in spec:
        value = np.round(value, int(spec["decimals"]))
    return value


def _widen(out: dict, specs: dict, wide: dict, n_series: int) -> dict:
    """KAMP layout: one row per ``every`` steps, the source's steps side by side, the rest aggregated."""
    every, slots = int(wide["every"]), list(wide["columns"])
    if len(slots) != every:
        raise ValueError("wide: give one column name per step of a row")
    result = {}
    for name, values in out.items():
        v = values.reshape(n_series, -1, every)
        if name == wide["source"]:
            for i, slot in enumerate(slots):
                result[slot] = v[:, :, i]
            continue
        agg = specs.get(name, {}).get("agg", "first")
        if agg == "first" or not np.issubdtype(v.dtype, np.number):
            result[name] = v[:, :, 0]
        else:
            result[name] = getattr(np, agg)(v, axis=2)
            if "decimals" in specs.get(name, {}):
                result[name] = np.round(result[name], int(specs[name]["decimals"]))
    return result


def generate(rows: int = 8000, seed: int = 7, columns: dict | None = None, freq: str = "D",
             start: str = "2021-01-04", time: dict | None = None, series: dict | None = None,
             level: dict | None = None, offdays: list[int] | None = None, shutdowns: list | None = None,
             plan: dict | None = None, cycles: dict | None = None, promotions: dict | None = None,
             wide: dict | None = None, missing: dict | None = None) -> pd.DataFrame:
    """About ``rows`` rows (a whole number of steps per series), series after series in time order."""
    if not columns:
        raise ValueError("demand_series needs `columns` in the card's simulator params")
    r = rng(seed)
    series_column, names = _series_names(series)
    n_series = len(names)
    every = int(wide["every"]) if wide else 1
    n_rows = max(rows // n_series, 2)  # rows per series
    lead = max([int(c.get("lead", 0)) for c in columns.values()] + [0])
    n_steps = n_rows * every
    stamps = pd.date_range(start, periods=n_steps + lead, freq=freq)
    shape = (n_series, len(stamps))

    scope = _calendar(stamps, offdays if offdays is not None else [5, 6], shutdowns or [], plan)
    lvl = level or {}
    scope["s"] = np.arange(n_series, dtype=float)[:, None]
    scope["level"] = np.exp(r.normal(0.0, float(lvl.get("sd", 0.0)), n_series) - lvl.get("sd", 0.0) ** 2 / 2)[:, None]
    for i in (1, 2, 3):
        scope[f"rs{i}"] = r.random(n_series)[:, None]
    plan_full = np.broadcast_to(scope["plan"], shape)
    if cycles:
        runs = [_cycles(r, plan_full[i], float(cycles.get("on", 4)), float(cycles.get("off", 2)),
                        int(cycles.get("min_on", 1)), int(cycles.get("min_off", 1))) for i in range(n_series)]
        for key in runs[0]:
            scope[key] = np.vstack([run[key] for run in runs])
    else:
        for key in ("cycle", "cycle_start", "cycle_age", "cycle_len"):
            scope[key] = np.zeros((1, 1))
    promo = np.zeros(shape)
    after = np.zeros(shape)
    if promotions:
        with_promos = r.random(n_series) < float(promotions.get("share", 1.0))
        for i in np.flatnonzero(with_promos):
            promo[i], after[i] = _promotions(r, shape[1], float(promotions["rate"]), int(promotions.get("length", 1)))
    scope["promo"], scope["promo_after"] = promo, after
    scope["u"], scope["e"] = r.random(shape), r.normal(0.0, 1.0, shape)

    out: dict[str, np.ndarray] = {}
    for name, spec in columns.items():
        values = _column(r, spec, scope, shape)
        if name.isidentifier():
            scope[name] = values.astype(float)
        if spec.get("hidden"):
            continue
        k = int(spec.get("lead", 0))
        values = values[:, k:k + n_steps]
        out[name] = np.asarray(spec["labels"], dtype=object)[values] if "labels" in spec else values
    if time:
        out = {time.get("column", "Timestamp"): np.broadcast_to(np.asarray(stamps[:n_steps]), (n_series, n_steps)),
               **out}
    if wide:
        out = _widen(out, columns, wide, n_series)
    frame = {}
    if series_column:
        frame[series_column] = pd.Series(np.repeat(names, n_rows), dtype="str")
    for name, values in out.items():
        flat = np.asarray(values).reshape(-1)
        spec = columns.get(name, {})
        if "labels" in spec:
            frame[name] = pd.Series(flat.astype(str), dtype="str")
        elif spec.get("int"):
            frame[name] = flat.astype(np.int64)
        else:
            frame[name] = flat
    result = pd.DataFrame(frame)
    if time:
        column = time.get("column", "Timestamp")
        result[column] = pd.to_datetime(result[column]).astype("datetime64[ns]")
    miss = missing or {}
    return with_missing(result, r, miss.get("columns", []), miss.get("rate", 0.0)) if miss else result
