"""Last-mile deliveries: one row per order, from leaving the hub to handing the parcel over.

A delivery takes loading time, the drive (the route's distance, which grows with the stops made before
this one, at a speed set by the zone, the vehicle, the hour's traffic, the weekday and the weather)
and the service time of every earlier stop (parking, stairs and elevators, hand-over: longer in
apartment blocks, longer for new drivers), plus this order's parcels. A few orders wait at a locked
entrance or a missing recipient. Names and numbers come from the card's params, so another fleet or
city is a card change::

    time: {column: Dispatch_Time, start: "2024-09-02", orders_per_day: 110, hours: [8, 21]}
    zones: {urban: {share: 0.5, speed: 19, direct_km: 3, hop_km: 0.4, stop_min: 4.5}, ...}
    vehicles: {motorcycle: {share: 0.35, speed: 1.2, weather: 1.6, max_parcels: 3}, ...}
    weather: {clear: {p: 0.55, speed: 1.0}, rain: {p: 0.2, speed: 0.82}, snow: {months: [12, 1, 2], ...}}
    rush: {hours: [[7.5, 9.5], [17.5, 19.5]], speed: 0.65}
    weekday_speed: [1, 1, 1, 1, 0.92, 1.05, 1.15]       # Monday..Sunday
    columns: {target: Delivery_Minutes, zone: Zone, vehicle: Vehicle, ...}   # the card's names
    noise: 0.1                                         # lognormal sd of the total
    access_delay: {rate: 0.03, minutes: [10, 40]}
    missing: {rate: 0.005, columns: [Driver_Tenure_months]}

``vehicles[...].weather`` scales how much worse than a car the vehicle copes with bad weather (a
motorcycle in snow); weather states with ``months`` occur only then.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import rng, with_missing

ZONES = {"urban": {"share": 0.5, "speed": 19.0, "direct_km": 3.0, "hop_km": 0.4, "stop_min": 4.5},
         "suburban": {"share": 0.35, "speed": 30.0, "direct_km": 7.0, "hop_km": 1.2, "stop_min": 3.2},
         "rural": {"share": 0.15, "speed": 44.0, "direct_km": 15.0, "hop_km": 3.0, "stop_min": 2.3}}
VEHICLES = {"motorcycle": {"share": 0.35, "speed": 1.2, "weather": 1.6, "max_parcels": 3},
            "van": {"share": 0.5, "speed": 1.0, "weather": 1.0, "max_parcels": 12},
            "truck": {"share": 0.15, "speed": 0.85, "weather": 1.0, "max_parcels": 30}}
WEATHER = {"clear": {"p": 0.55, "speed": 1.0}, "cloudy": {"p": 0.22, "speed": 0.98},
           "rain": {"p": 0.15, "speed": 0.82}, "fog": {"p": 0.04, "speed": 0.88},
           "snow": {"p": 0.1, "speed": 0.6, "months": [12, 1, 2]}}
COLUMNS = {"time": "Dispatch_Time", "zone": "Zone", "vehicle": "Vehicle", "weather": "Weather",
           "distance": "Distance_km", "stops": "Stops_Before", "parcels": "Parcels", "tenure": "Driver_Tenure_months",
           "target": "Delivery_Minutes"}


def _pick(r: np.random.Generator, options: dict, n: int, weight: str = "share") -> np.ndarray:
    names = list(options)
    p = np.array([options[k][weight] for k in names], float)
    return np.array(names, dtype=object)[r.choice(len(names), size=n, p=p / p.sum())]


def _weather(r: np.random.Generator, hours: pd.DatetimeIndex, states: dict) -> pd.Series:
    """Weather per hour: persistent spells (a state holds about six hours), seasonal states only in
    their months."""
    names = list(states)
    out, current = [], None
    for stamp in hours:
        allowed = [k for k in names if stamp.month in states[k].get("months", range(1, 13))]
        if current not in allowed or r.random() < 1 / 6:
            p = np.array([states[k]["p"] for k in allowed], float)
            current = allowed[r.choice(len(allowed), p=p / p.sum())]
        out.append(current)
    return pd.Series(out, index=hours)


def generate(rows: int = 6000, seed: int = 7, time: dict | None = None, zones: dict | None = None,
             vehicles: dict | None = None, weather: dict | None = None, rush: dict | None = None,
             weekday_speed: list[float] | None = None, columns: dict | None = None, noise: float = 0.1, access_delay: dict | None = None, missing: dict | None = None) -> pd.DataFrame:
    r = rng(seed)
    n = rows
    zones, vehicles, states = zones or ZONES, vehicles or VEHICLES, weather or WEATHER
    names = {**COLUMNS, **(columns or {})}
    spec = time or {}
    rush = rush or {"hours": [[7.5, 9.5], [17.5, 19.5]], "speed": 0.65}
    weekday_speed = np.asarray(weekday_speed or [1, 1, 1, 1, 0.92, 1.05, 1.15], float)

    # Dispatch times: orders_per_day, busiest late morning and mid afternoon, inside the service hours.
    per_day = float(spec.get("orders_per_day", 110))
    days = int(np.ceil(n / per_day)) + 1
    lo, hi = spec.get("hours", [8, 21])
    hour = np.clip(np.where(r.random(n) < 0.5, r.normal(10.5, 1.5, n), r.normal(15.5, 2.0, n)), lo, hi - 0.05)
    day = np.sort(r.integers(0, days, n))
    stamp = (pd.Timestamp(spec.get("start", "2024-09-02")) + pd.to_timedelta(day, unit="D")
             + pd.to_timedelta(np.round(hour * 60), unit="min"))
    order = np.argsort(stamp.to_numpy(), kind="stable")
    stamp, hour = stamp[order], hour[order]
    hours = stamp.floor("h")
    sky = _weather(r, pd.date_range(hours.min(), hours.max(), freq="h"), states).reindex(hours).to_numpy()

    zone = _pick(r, zones, n)
    vehicle = _pick(r, vehicles, n)
    z = {k: np.array([zones[v][k] for v in zone], float) for k in ("speed", "direct_km", "hop_km", "stop_min")}
    v_speed = np.array([vehicles[v]["speed"] for v in vehicle], float)
    v_weather = np.array([vehicles[v].get("weather", 1.0) for v in vehicle], float)
    max_parcels = np.array([vehicles[v].get("max_parcels", 10) for v in vehicle])
    # A motorcycle's speed advantage is a city advantage; on rural roads it drives like a van.
    v_speed = np.where(zone == list(zones)[-1], np.minimum(v_speed, 1.0), v_speed)

    stops = np.minimum(r.poisson(np.where(vehicle == "motorcycle", 3, 9)), 30)
    direct = z["direct_km"] * np.exp(r.normal(0, 0.45, n))
    distance = np.round(direct + stops * z["hop_km"] * r.uniform(0.6, 1.4, n), 2)
    parcels = 1 + np.minimum(r.poisson(0.8, n), max_parcels - 1)
    tenure = np.round(np.exp(r.normal(2.6, 1.0, n)).clip(0.5, 240), 1)

    in_rush = np.zeros(n, dtype=bool)
    for a, b in rush["hours"]:
        in_rush |= (hour >= a) & (hour < b)
    traffic = np.where(in_rush, rush["speed"], np.where((hour >= 11.5) & (hour < 14), 0.9, 1.0))
    w_speed = np.array([states[s]["speed"] for s in sky], float)
    w_speed = 1 - (1 - w_speed) * v_weather  # bad weather hits two-wheelers harder
    speed = z["speed"] * v_speed * traffic * weekday_speed[stamp.day_of_week] * w_speed
    drive = 60 * distance / np.maximum(speed, 3.0)
    rookie = 1 + 0.45 * np.exp(-tenure / 6)  # new drivers lose time finding entrances
    service = stops * z["stop_min"] * rookie + 0.6 * parcels
    minutes = (6 + drive + service) * np.exp(r.normal(0, noise, n))
    delay = access_delay or {"rate": 0.03, "minutes": [10, 40]}
    late = r.random(n) < delay["rate"]
    minutes = np.round(minutes + late * r.uniform(*delay["minutes"], n), 1)

    frame = pd.DataFrame({
        names["time"]: stamp.as_unit("ns"),
        names["zone"]: pd.Series(zone, dtype="str"),
        names["vehicle"]: pd.Series(vehicle, dtype="str"),
        names["weather"]: pd.Series(sky, dtype="str"),
        names["distance"]: distance,
        names["stops"]: stops.astype(np.int64),
        names["parcels"]: parcels.astype(np.int64),
        names["tenure"]: tenure,
        names["target"]: minutes,
    })
    miss = missing or {}
    return with_missing(frame, r, miss.get("columns", []), miss.get("rate", 0.0)) if miss else frame
