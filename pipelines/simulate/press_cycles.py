"""Hydraulic press in the KAMP 프레스기 layout: one row per stroke, with labelled fault episodes.

Physics: two cylinders press each blank; pressure_3 is their sum, as the PLC reports it. Normal
forming force depends on the part (item_no, each with its own nominal), falls as the die warms
(hot lubricant, softer blank; the die heats over the first few hundred strokes after every start
and cools exponentially while the press stands), rises with die wear along
strokes_since_maintenance (reset at each maintenance), and both cylinders share the
blank-to-blank thickness scatter. Faults, in episodes of consecutive strokes: a hydraulic leak in
cylinder 1's circuit (pressure_1 sags gradually, pressure_2 a little, press_time lengthens, until
the repair stop), die misalignment (pressure_1 up, pressure_2 down), and a misfeed/double blank
(a short sharp spike on one or a few strokes). Faults are small against the normal spread of raw
pressures, so they show as residuals from expected behaviour rather than as extreme values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import ar1, rng, with_missing

# item: (nominal pressure_1, pressure_2 offset, nominal press_time ms, die heating target degC)
ITEMS = {"ED5260": (275.0, -1.0, 551.0, 70.0), "ED5270": (262.0, 0.5, 549.0, 65.0),
         "ED5310": (290.0, -2.0, 559.0, 76.0)}
SHIFT_START, SHIFT_END = 6.0, 22.0  # hours: two shifts, the press stands overnight


def _schedule(r: np.random.Generator, n: int, start_hour: float, stop_rate: float, repair: np.ndarray):
    """Gaps before each stroke (s) and whether a stop preceded it; repairs are forced stops."""
    gaps = r.uniform(2.0, 4.0, n)
    stop = r.random(n) < stop_rate  # breaks, coil changes
    gaps[stop] += r.uniform(300, 3600, stop.sum())
    stop[repair] = True
    gaps[repair] += r.uniform(1800, 5400, repair.size)
    now = start_hour * 3600
    for i in range(n):  # walk the clock so strokes never fall outside the shifts
        now += gaps[i]
        hour = (now / 3600) % 24
        if hour >= SHIFT_END or hour < SHIFT_START:
            skip = ((SHIFT_START - hour) % 24) * 3600 + r.uniform(0, 600)
            now += skip
            gaps[i] += skip
            stop[i] = True
    gaps[0], stop[0] = 0.0, True
    return gaps, stop


def _episodes(r: np.random.Generator, n: int, kinds: list[tuple[int, int, tuple[int, int]]]) -> np.ndarray:
    """Non-overlapping fault episodes: kind code per stroke (0 = normal)."""
    kind = np.zeros(n, dtype=int)
    for code, count, (lo, hi) in kinds:
        for _ in range(count):
            for _try in range(50):
                length = int(r.integers(lo, hi + 1))
                s = int(r.integers(200, max(201, n - length)))
                if not kind[max(0, s - 50): s + length + 50].any():
                    kind[s: s + length] = code
                    break
    return kind


def fault_plan(r: np.random.Generator, n: int, fault_scale: float = 1.0, per_stroke: int = 1) -> np.ndarray:
    """Fault episodes over ``n`` strokes: a kind code per stroke (0 normal, 1 hydraulic leak, 2 die
    misalignment, 3 double blank). Counts scale with ``n`` (at least one episode of each kind);
    ``per_stroke`` rows per stroke (a log that writes every stroke twice) shortens the episodes so that
    they span as many rows as the simulator's."""
    per = n * per_stroke / 8000 * fault_scale
    lengths = [(max(1, lo // per_stroke), max(1, hi // per_stroke)) for lo, hi in ((30, 90), (20, 60), (1, 3))]
    return _episodes(r, n, [(1, max(1, round(1.5 * per)), lengths[0]), (2, max(1, round(per)), lengths[1]),
                            (3, max(1, round(6 * per)), lengths[2])])


def fault_effects(r: np.random.Generator, kind: np.ndarray, base: np.ndarray, size: float = 1.0) -> tuple[np.ndarray, ...]:
    """What each fault adds to pressure_1, pressure_2 and press_time of a stroke whose normal forming
    pressure is ``base`` (bar): a leak sags 0.5 % -> 8 % through its episode and slows the stroke, a
    misaligned die loads cylinder 1 and unloads cylinder 2 more and more, a double blank spikes both;
    ``size`` scales every effect (a press that holds its pressure to a few tenths of a bar shows faults
    while they are still that small)."""
    n = len(kind)
    pos = np.zeros(n)  # progress 0..1 through the current episode
    for code in (1, 2):
        starts = np.flatnonzero((kind == code) & (np.r_[0, kind[:-1]] != code))
        for s in starts:
            e = s + np.argmax(kind[s:] != code) if (kind[s:] != code).any() else n
            pos[s:e] = np.linspace(0, 1, e - s)
    leak = (kind == 1) * (0.005 + 0.075 * pos)  # sags 0.5 % -> 8 %: hard to see at first
    mis = (kind == 2) * (0.008 + 0.022 * pos) * base * r.uniform(0.9, 1.1, n)
    spike = (kind == 3) * r.uniform(0.06, 0.15, n) * base  # double blank: hard, short, uneven
    d1 = -leak * base + mis + spike
    d2 = -0.3 * leak * base - mis + 0.6 * spike
    dt = leak * 300 + (kind == 3) * r.uniform(5, 15, n)  # the pump needs longer to build pressure
    return size * d1, size * d2, size * dt


def generate(rows: int = 8000, seed: int = 7, fault_scale: float = 1.0, stop_rate: float = 1 / 1000,
             missing_rate: float = 0.005, start: str = "2020-05-04 06:00:00", items: dict | None = None,
             item_mix: list[float] | None = None, thermal: float = 0.0025, wear: float = 0.03,
             blank_sd: float = 2.0, cylinder_sd: tuple[float, float] = (0.8, 0.8), time_sd: float = 1.0,
             time_per_bar: float = 0.0, p2_steps: list | None = None, decimals: int = 1,
             fault_size: float = 1.0) -> pd.DataFrame:
    """``items``: per item number ``[pressure_1, pressure_2 offset, press_time, die temperature]``
    nominals (default ITEMS) and ``item_mix`` how often each runs; ``thermal`` the share of force a
    degree of die temperature takes off, ``wear`` the share 10,000 strokes add; ``blank_sd`` the
    blank-to-blank scatter both cylinders share, ``cylinder_sd`` each cylinder's own, ``time_sd`` the
    press time's; ``time_per_bar`` ms of press time per bar of pressure_1 above normal (a pump that
    builds pressure at a fixed rate); ``p2_steps`` ``[[share of the rows, bar], ...]``: pressure_2's
    circuit re-set by that much from that point on; ``decimals`` of the logged pressures and time;
    ``fault_size`` scales the faults' effects (``fault_effects``)."""
    r = rng(seed)
    n = rows
    t0 = pd.Timestamp(start)
    start_hour = (t0 - t0.normalize()).total_seconds() / 3600
    items = {k: tuple(v) for k, v in (items or ITEMS).items()}

    # Faults: counts scale with the data, at least one episode of each kind.
    kind = fault_plan(r, n, fault_scale)
    # A leak ends with a repair stop, which is also a maintenance.
    repair = np.flatnonzero((kind[:-1] == 1) & (kind[1:] != 1)) + 1
    gaps, stop = _schedule(r, n, start_hour, stop_rate, repair)
    secs = np.cumsum(gaps)
    # Stroke counter since maintenance: reset at repairs and at the first stop after ~12k strokes.
    counter = np.empty(n, dtype=np.int64)
    c, due = int(r.integers(0, 12000)), int(r.integers(11000, 13000))
    is_repair = np.zeros(n, dtype=bool)
    is_repair[repair] = True
    for i in range(n):
        if is_repair[i] or (stop[i] and c >= due):
            c, due = 0, int(r.integers(11000, 13000))
        counter[i] = c
        c += 1

    # Production runs: the item changes only at a stop, always to another item; ED5260 is KAMP's.
    change = stop & (r.random(n) < 0.6)
    change[0] = True
    run = np.cumsum(change) - 1
    k = len(items)
    mix = np.asarray(item_mix if item_mix is not None else ([0.6, 0.25, 0.15] if k == 3 else [1 / k] * k), float)
    seq = np.cumsum(np.r_[r.choice(k, p=mix / mix.sum()), r.integers(1, k, run[-1]) if k > 1
                          else np.zeros(run[-1], dtype=int)]) % k
    item = np.array(list(items))[seq[run]]
    nom = np.array([items[i] for i in item])

    # Die temperature: heats toward the item's steady value stroke by stroke, cools while standing.
    hours = secs / 3600 + start_hour
    ambient = 22 + 3 * np.sin(2 * np.pi * (hours - 9) / 24)
    die = np.empty(n)
    temp = ambient[0]
    for i in range(n):
        temp = ambient[i] + (temp - ambient[i]) * np.exp(-gaps[i] / 2400.0)  # cooling, tau 40 min
        temp += (nom[i, 3] - temp) / 250.0  # each stroke adds heat
        die[i] = temp

    # Normal behaviour: nominal * thermal factor * wear factor, plus shared blank scatter.
    blank = blank_sd * ar1(r, n, 0.9, np.sqrt(1 - 0.81)) + r.normal(0, blank_sd, n)
    thermal_factor = 1 - thermal * (die - 55)  # a cold die needs more force
    wear_factor = 1 + wear * counter / 10000  # more force as the edges dull
    base = nom[:, 0] * thermal_factor * wear_factor
    p1 = base + blank + r.normal(0, cylinder_sd[0], n)
    p2 = base + nom[:, 1] + blank + r.normal(0, cylinder_sd[1], n)
    for share, by in p2_steps or []:
        p2[int(share * n):] += by
    ptime = (nom[:, 2] + 0.08 * (60 - die) + 0.02 * (base - nom[:, 0]) + time_per_bar * (p1 - nom[:, 0])
             + r.normal(0, time_sd, n))

    # Faults as departures from that behaviour.
    d1, d2, dt = fault_effects(r, kind, base, fault_size)
    p1, p2, ptime = p1 + d1, p2 + d2, ptime + dt

    # the PLC sums the cylinders before it rounds them
    p3 = (p1 + p2).round(1) if decimals < 1 else None
    p1, p2 = p1.round(decimals), p2.round(decimals)
    frame = pd.DataFrame({
        "working_time": (t0 + pd.to_timedelta(np.round(secs, 1), unit="s")).as_unit("us"),
        "machine_name": np.full(n, "Press-01"),
        "item_no": item,
        "press_time": ptime.round(decimals),
        "pressure_1": p1,
        "pressure_2": p2,
        "pressure_3": (p1 + p2).round(1) if p3 is None else p3,
        "die_temperature": die.round(1),
        "strokes_since_maintenance": counter,
        "fault": (kind > 0).astype(np.int64),
    })
    return with_missing(frame, r, ["die_temperature", "press_time"], missing_rate)
