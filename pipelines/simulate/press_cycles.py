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


def generate(rows: int = 8000, seed: int = 7, fault_scale: float = 1.0, stop_rate: float = 1 / 1000,
             missing_rate: float = 0.005, start: str = "2020-05-04 06:00:00") -> pd.DataFrame:
    r = rng(seed)
    n = rows
    t0 = pd.Timestamp(start)
    start_hour = (t0 - t0.normalize()).total_seconds() / 3600

    # Faults: counts scale with the data, at least one episode of each kind.
    per = n / 8000 * fault_scale
    kind = _episodes(r, n, [(1, max(1, round(1.5 * per)), (30, 90)), (2, max(1, round(per)), (20, 60)),
                            (3, max(1, round(6 * per)), (1, 3))])
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
    seq = np.cumsum(np.r_[r.choice(3, p=[0.6, 0.25, 0.15]), r.integers(1, 3, run[-1])]) % 3
    item = np.array(list(ITEMS))[seq[run]]
    nom = np.array([ITEMS[i] for i in item])

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
    blank = 2.0 * ar1(r, n, 0.9, np.sqrt(1 - 0.81)) + r.normal(0, 2.0, n)
    thermal = 1 - 0.0025 * (die - 55)  # a cold die needs several percent more force
    wear = 1 + 0.03 * counter / 10000  # +3 % per 10k strokes as the edges dull
    base = nom[:, 0] * thermal * wear
    p1 = base + blank + r.normal(0, 0.8, n)
    p2 = base + nom[:, 1] + blank + r.normal(0, 0.8, n)
    ptime = nom[:, 2] + 0.08 * (60 - die) + 0.02 * (base - nom[:, 0]) + r.normal(0, 1.0, n)

    # Faults as departures from that behaviour.
    pos = np.zeros(n)  # progress 0..1 through the current episode
    for code in (1, 2):
        starts = np.flatnonzero((kind == code) & (np.r_[0, kind[:-1]] != code))
        for s in starts:
            e = s + np.argmax(kind[s:] != code) if (kind[s:] != code).any() else n
            pos[s:e] = np.linspace(0, 1, e - s)
    leak = (kind == 1) * (0.005 + 0.075 * pos)  # sags 0.5 % -> 8 %: hard to see at first
    p1 -= leak * base
    p2 -= 0.3 * leak * base
    ptime += leak * 300  # the pump needs longer to build pressure
    mis = (kind == 2) * (0.008 + 0.022 * pos) * base * r.uniform(0.9, 1.1, n)
    p1 += mis
    p2 -= mis
    spike = (kind == 3) * r.uniform(0.06, 0.15, n) * base  # double blank: hard, short, uneven
    p1 += spike
    p2 += 0.6 * spike
    ptime += (kind == 3) * r.uniform(5, 15, n)

    p1, p2 = p1.round(1), p2.round(1)
    frame = pd.DataFrame({
        "working_time": (t0 + pd.to_timedelta(np.round(secs, 1), unit="s")).as_unit("us"),
        "machine_name": np.full(n, "Press-01"),
        "item_no": item,
        "press_time": ptime.round(1),
        "pressure_1": p1,
        "pressure_2": p2,
        "pressure_3": (p1 + p2).round(1),
        "die_temperature": die.round(1),
        "strokes_since_maintenance": counter,
        "fault": (kind > 0).astype(np.int64),
    })
    return with_missing(frame, r, ["die_temperature", "press_time"], missing_rate)
