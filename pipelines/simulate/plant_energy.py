"""A steel plant's electric load at 15-minute intervals, in the layout of the UCI steel industry data.

The load is a few kWh of auxiliaries plus production: an electric arc furnace that runs heat after
heat (power-on for ~2 h at ~92 kWh per interval, the first interval boring in harder, then a
short tap/charge pause at ~55 kWh with ladle heating and fume extraction still on) gated by the shift plan (day and evening shifts, lunch and
shift-change dips, short Saturdays, Sundays/holidays off), scaled by production campaigns that last
days and by a seasonal swing (winter heavier). Reactive power comes from the furnace (lagging),
transformer magnetising, and a capacitor bank the controller switches on working days, which
over-compensates (leading) when the load drops. CO2 is usage times the grid emission factor, so
CO2 and the reactive-power and power-factor columns leak the same interval's usage. Load_Type is the
KEPCO time-of-use tariff period (summer and winter timetables; Light all day on days off).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import ar1, rng, with_missing

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
# Korean public holidays of 2018 and the plant's summer shutdown, as (month, day).
HOLIDAYS = {(1, 1), (2, 15), (2, 16), (2, 17), (3, 1), (5, 1), (5, 5), (5, 7), (5, 22), (6, 6), (6, 13),
            (8, 1), (8, 2), (8, 3), (8, 4), (8, 15), (9, 24), (9, 25), (9, 26), (10, 3), (10, 9), (12, 25)}
# Share of the furnace's full power the shift plan allows, by hour of the interval start.
WEEKDAY = np.array([0.10, 0.03, 0, 0, 0, 0, 0, 0.02, 0.6, 1, 1, 1, 0.25, 0.7, 1, 1, 1, 0.75, 0.5, 0.65,
                    0.65, 0.2, 0.1, 0.1])
SATURDAY = np.array([0.05, 0, 0, 0, 0, 0, 0, 0, 0.45, 0.8, 0.8, 0.8, 0.2, 0.6, 0.6, 0.6, 0.5, 0.25, 0, 0,
                     0, 0, 0, 0])
EMISSION = 0.00047  # tCO2 per kWh, Korean grid


def _runs(r: np.random.Generator, n: int, on_mean: float, off_mean: float) -> tuple[np.ndarray, np.ndarray]:
    """Furnace heats: alternating on/off runs (semi-Markov) as a 0/1 state, and the heats' first intervals."""
    k = n // 2 + 2
    on = 1 + r.poisson(on_mean - 1, k)
    off = 1 + r.poisson(off_mean - 1, k)
    lengths = np.column_stack([on, off]).ravel()
    s = np.repeat(np.tile([1, 0], k), lengths)
    bore = np.zeros(lengths.sum(), dtype=int)
    bore[np.cumsum(lengths)[0::2] - lengths[0::2]] = 1  # first interval of each heat: electrodes bore in
    offset = int(r.integers(0, 6))
    return s[offset:offset + n], bore[offset:offset + n]


def generate(rows: int = 35040, seed: int = 0, start: str = "2018-01-01 00:15", missing_rate: float = 0.005,
             saturday_off: float = 0.25) -> pd.DataFrame:
    """``rows`` quarter-hour intervals from ``start`` (stamp = end of the interval)."""
    r = rng(seed)
    stamp = pd.date_range(start, periods=rows, freq="15min")
    t0 = stamp - pd.Timedelta(minutes=15)  # the interval's start decides what the plant was doing
    day = np.asarray((t0.normalize() - t0[0].normalize()).days)
    n_days = int(day.max()) + 1
    day_start = t0[0].normalize() + pd.to_timedelta(np.arange(n_days), unit="D")
    dow = np.asarray(day_start.day_of_week)
    holiday = np.array([(m, d) in HOLIDAYS for m, d in zip(day_start.month, day_start.day)])
    sat_off = (dow == 5) & (r.random(n_days) < saturday_off)
    shutdown = r.random(n_days) < 0.01  # rare breakdown/maintenance days
    off = holiday | sat_off | (dow == 6) | shutdown
    # Campaigns: runs of days at one production level (orders, scrap supply, maintenance).
    lengths = 2 + r.poisson(3, n_days)
    level = np.repeat(r.uniform(0.55, 1.2, n_days), lengths)[:n_days]
    season = 1 + 0.18 * np.cos(2 * np.pi * (np.asarray(day_start.day_of_year) - 20) / 365.25)

    hour = np.asarray(t0.hour)
    plan = np.where(dow[day] == 5, SATURDAY[hour], WEEKDAY[hour])
    plan = np.where(off[day], 0.03 * (hour >= 8) * (hour < 17), plan)
    drive = plan * level[day] * season[day]

    heat, bore = _runs(r, rows, on_mean=8.0, off_mean=2.0)
    furnace = np.where(heat == 1, 92.0, 55.0) * (1 + 0.15 * bore)
    wobble = 1 + ar1(r, rows, 0.9, 0.04)  # scrap mix, electrode wear: slow swings of the arc power
    aux = 3.4 + 0.6 * np.sin(2 * np.pi * day / 7) + ar1(r, rows, 0.95, 0.12)  # lights, fans, pumps
    usage = aux + drive * furnace * wobble + r.normal(0, 1.2, rows) * (drive > 0.05)
    # The furnace transformer's tap limit flattens the biggest bursts softly below ~160 kWh.
    usage = np.where(usage > 130, 130 + 30 * np.tanh((usage - 130) / 30), usage)
    usage = np.round(np.clip(usage, 0, None), 2)

    # Reactive power: furnace ~0.65 kVarh/kWh lagging plus transformer magnetising; the capacitor bank
    # is on while the plan runs (and on some nights it is left on), and over-compensates light load.
    prod = np.clip(usage - aux, 0, None)
    q = 0.65 * prod * (1 + r.normal(0, 0.1, rows)) + 3.8 * (1 + r.normal(0, 0.2, rows))
    left_on = (r.random(n_days) < 0.22)[day]
    bank = np.where((np.r_[0, plan[:-1]] > 0.05) | left_on, 15.0 + r.normal(0, 1.5, rows), 0.0)
    net = q - bank
    # While the furnace runs, its load swings inside the quarter hour and the bank's steps lead for a
    # few minutes of it now and then: a small leading energy beside the lagging one (the real meter
    # shows both in about one production interval in five).
    swing = (prod > 10) & (r.random(rows) < 0.25)
    lag = np.round(np.clip(net, 0, None), 2)
    lead = np.round(np.clip(-net, 0, None) + swing * r.uniform(0.3, 4.0, rows), 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        lag_pf = np.where(lag > 0, 100 * usage / np.hypot(usage, lag), np.where(usage > 0, 100.0, 0.0))
        lead_pf = np.where(lead > 0, 100 * usage / np.hypot(usage, lead), 100.0)
    co2 = np.round(usage * EMISSION * (1 + r.normal(0, 0.05, rows)), 2)

    nsm = np.asarray(stamp.hour * 3600 + stamp.minute * 60, dtype=np.int64)
    sdow = np.asarray(stamp.day_of_week)
    # Tariff period by the stamp's clock time (the real file's convention): summer Mar-Oct, winter Nov-Feb.
    h = nsm / 3600.0
    winter = np.isin(np.asarray(t0.month), [11, 12, 1, 2])
    winter_peak = ((h > 17) & (h <= 20)) | ((h > 22) & (h <= 23))
    peak = ((h > 10) & (h <= 12)) | np.where(winter, winter_peak, (h > 13) & (h <= 17))
    day_time = (h > 9) & (h <= 23)
    load = np.where(~day_time | off[day], "Light_Load", np.where(peak, "Maximum_Load", "Medium_Load"))
    frame = pd.DataFrame({
        "date": stamp.as_unit("ns"),
        "Usage_kWh": usage,
        "Lagging_Current_Reactive_Power_kVarh": lag,
        "Leading_Current_Reactive_Power_kVarh": lead,
        "CO2(tCO2)": co2,
        "Lagging_Current_Power_Factor": np.round(lag_pf, 2),
        "Leading_Current_Power_Factor": np.round(lead_pf, 2),
        "NSM": nsm,
        "WeekStatus": pd.Series(np.where(sdow >= 5, "Weekend", "Weekday"), dtype="str"),
        "Day_of_week": pd.Series(np.array(DAYS)[sdow], dtype="str"),
        "Load_Type": pd.Series(load, dtype="str"),
    })
    # Meter dropouts on the reactive-power and CO2 channels (usage itself is the billing meter).
    gappy = ["Lagging_Current_Reactive_Power_kVarh", "Leading_Current_Reactive_Power_kVarh", "CO2(tCO2)"]
    return with_missing(frame, r, gappy, missing_rate)
