"""Public datasets by id (``datasets/sources.yaml``): where they are, whether they are intact, and
how their files become a card's frame.

Files are looked up under ``WORKBENCH_DATA_DIR/<id>/``; nothing is downloaded at run time. ``fetch``
(pooch, sha256-checked) is for users whose licence allows a download; KAMP data is brought by hand.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict

from . import settings
from .errors import DataError

Loaded = tuple[pd.DataFrame, pd.DataFrame | None]


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    title: str
    publisher: str
    licence: str
    url: str | None = None
    how_to_get: str
    files: dict[str, str]
    loader: dict[str, Any]
    # What the loaded frame is: "real" data as published, or "real + injected faults" where the loader
    # adds labelled fault episodes to unlabelled real records (said wherever the data's origin is shown).
    kind: str = "real"


@cache
def _catalog(path: str) -> dict[str, Source]:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return {key: Source.model_validate(value) for key, value in raw.items()}


def catalog() -> dict[str, Source]:
    return _catalog(str(settings.sources_file()))


def get(dataset_id: str) -> Source:
    try:
        return catalog()[dataset_id]
    except KeyError:
        raise DataError(settings.sources_file(), f"no public dataset named {dataset_id!r}",
                        fix=f"use one of {sorted(catalog())}") from None


def folder(dataset_id: str) -> Path:
    return settings.data_dir() / dataset_id


def available(dataset_id: str) -> bool:
    """True when every file of the dataset is present (intact or not: ``load`` checks)."""
    return all((folder(dataset_id) / name).exists() for name in get(dataset_id).files)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(dataset_id: str) -> None:
    for name, expected in get(dataset_id).files.items():
        path = folder(dataset_id) / name
        if sha256(path) != expected:
            raise DataError(path, f"sha256 differs from datasets/sources.yaml ({expected[:12]}...): "
                            "the file was changed or is another version.",
                            fix=f"replace it with the original ({get(dataset_id).how_to_get})")


def load(dataset_id: str) -> Loaded:
    """Verify and load a public dataset into ``(frame, fixed_test_or_None)``."""
    source = get(dataset_id)
    if not available(dataset_id):
        raise DataError(folder(dataset_id), "public dataset not found.", fix=source.how_to_get)
    verify(dataset_id)
    options = dict(source.loader)
    return LOADERS[options.pop("name")](folder(dataset_id), **options)


def fetch(dataset_id: str) -> Path:
    """Download a dataset with a public url into the data folder (pooch checks the sha256)."""
    import pooch

    source = get(dataset_id)
    if not source.url:
        raise DataError(dataset_id, "this dataset cannot be downloaded automatically.", fix=source.how_to_get)
    target = folder(dataset_id)
    files = pooch.retrieve(source.url, known_hash=None, path=target, processor=pooch.Unzip(extract_dir="."),
                           progressbar=True)
    verify(dataset_id)
    return Path(files[0]).parent if files else target


# --- loaders: files -> (frame, fixed test) --------------------------------------------------------

LOADERS: dict[str, Callable[..., Loaded]] = {}


def loader(fn: Callable[..., Loaded]) -> Callable[..., Loaded]:
    LOADERS[fn.__name__] = fn
    return fn


@loader
def csv(folder: Path, file: str, encoding: str = "utf-8-sig", parse_dates: list[str] | None = None, **kw) -> Loaded:
    frame = pd.read_csv(folder / file, encoding=encoding, **kw)
    for col in parse_dates or []:
        frame[col] = pd.to_datetime(frame[col])
    return frame, None


@loader
def ai4i(folder: Path, file: str) -> Loaded:
    """AI4I 2020 as published, plus ``Failure_Mode``: one class per part derived from the mode flags
    (the rule lives with the simulator that follows the same physics)."""
    from .simulate.machining_failures import failure_mode

    frame = pd.read_csv(folder / file, encoding="utf-8-sig")
    frame["Failure_Mode"] = failure_mode(frame, frame["Machine failure"])
    return frame, None


@loader
def onehot_class(folder: Path, file: str, target: str, classes: dict[str, str]) -> Loaded:
    """One-hot label columns (UCI steel plates) -> one class column."""
    frame = pd.read_csv(folder / file)
    onehot = frame[list(classes)].to_numpy()
    if not (onehot.sum(axis=1) == 1).all():
        raise DataError(folder / file, "some rows have no or several fault flags set.")
    frame[target] = np.asarray(list(classes.values()))[onehot.argmax(axis=1)]
    return frame.drop(columns=list(classes)), None


@loader
def steel_energy(folder: Path, file: str) -> Loaded:
    """Day-first dates, and each day's last interval stamped ``D 00:00`` meaning midnight at the END
    of day D: shift those to D+1 so time runs forward."""
    frame = pd.read_csv(folder / file, encoding="utf-8-sig")
    stamp = pd.to_datetime(frame["date"], format="%d/%m/%Y %H:%M")
    midnight = (stamp.dt.hour == 0) & (stamp.dt.minute == 0)
    frame["date"] = stamp + pd.to_timedelta(midnight.astype(int), unit="D")
    return frame, None


@loader
def yearly_csv(folder: Path, pattern: str, years: list[int]) -> Loaded:
    """One file per year, in time order within each year; keeps ``year`` for time-aware splits."""
    parts = [pd.read_csv(folder / pattern.format(year=y)).assign(year=y) for y in years]
    return pd.concat(parts, ignore_index=True), None


CMAPSS_COLUMNS = ["unit", "cycle", "op_setting_1", "op_setting_2", "op_setting_3"] + [f"s{i}" for i in range(1, 22)]


@loader
def cmapss(folder: Path, subset: str = "FD001") -> Loaded:
    """NASA C-MAPSS: run-to-failure training units; the official test units, each cut short, with
    the true RUL at their last cycle in RUL_FDxxx.txt (so RUL of every test row follows)."""
    def read(name: str) -> pd.DataFrame:
        return pd.read_csv(folder / name, sep=r"\s+", header=None, names=CMAPSS_COLUMNS)

    train = read(f"train_{subset}.txt")
    train["RUL"] = train.groupby("unit")["cycle"].transform("max") - train["cycle"]
    test = read(f"test_{subset}.txt")
    final_rul = pd.read_csv(folder / f"RUL_{subset}.txt", header=None).iloc[:, 0].to_numpy()
    last = test.groupby("unit")["cycle"].transform("max")
    test["RUL"] = final_rul[test["unit"].to_numpy() - 1] + (last - test["cycle"])
    return train, test


@loader
def cnc_experiments(folder: Path, labels: str, pattern: str, experiments: list[int], every: int = 1,
                    phases: str | None = None) -> Loaded:
    """CNC milling experiments (UMich SMART / KAMP): one controller time series per experiment, labelled
    per experiment in ``labels`` (joined on ``No``). ``every`` keeps every n-th sample; ``phases`` keeps
    rows whose ``Machining_Process`` starts with it (``Layer``: only while the tool cuts)."""
    table = pd.read_csv(folder / labels)
    parts = []
    for no in experiments:
        part = pd.read_csv(folder / pattern.format(no=no))
        part.insert(0, "sample", np.arange(len(part)))  # 100 ms controller samples within the experiment
        part.insert(0, "No", no)
        parts.append(part.iloc[::every])
    frame = pd.concat(parts, ignore_index=True).merge(table, on="No", how="left", validate="many_to_one")
    if phases:
        frame = frame[frame["Machining_Process"].astype(str).str.startswith(phases)].reset_index(drop=True)
    return frame, None


@loader
def renamed_csv(folder: Path, file: str, columns: dict[str, str], na_values: list[str] | None = None,
                scale: dict[str, float] | None = None) -> Loaded:
    """A CSV whose published headers carry units and punctuation (``C (%wt)``, ``Tempering time (s)``):
    the columns named in ``columns`` under the card's names (the rest dropped), each in ``scale``
    multiplied into the card's unit (seconds -> hours: 1/3600)."""
    frame = pd.read_csv(folder / file, encoding="utf-8-sig", na_values=na_values or [])
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise DataError(folder / file, f"columns {absent} are not in the file (another version of the dataset?)")
    frame = frame[list(columns)].rename(columns=columns)
    for column, factor in (scale or {}).items():
        frame[column] = frame[column] * factor
    return frame, None


@loader
def ims_bearings(folder: Path, tests: dict[str, dict], cap_h: float, test_run: str, cut_every_h: float,
                 first_cut: float = 0.2, drop_tail: int = 0) -> Loaded:
    """NASA/IMS bearing run-to-failure tests (10-minute mean |acceleration| per bearing) as one row per
    bearing and snapshot, with the remaining useful life in hours capped at ``cap_h``.

    Each test ran until one or two bearings failed; the others were still healthy when the rig stopped,
    so their life is only known to exceed the time left in the test (censored). With the cap that is
    enough: where more than ``cap_h`` hours remained the capped RUL is ``cap_h`` whatever happened next;
    their last ``cap_h`` hours are unknown and left out. ``tests`` names per test its file, the failed
    bearings and each bearing's accelerometer column (test 1's second accelerometer per bearing is not
    read: the other tests have none, and a fixed test set must hold the columns training had).

    ``test_run`` is held out whole, as the fixed test set (leave one test out: its rig, its day, its
    bearings never seen in training), cut as NASA cuts C-MAPSS test engines: every ``cut_every_h``
    hours after ``first_cut`` of each bearing's known life one copy of the bearing's record up to that
    point (``bearing_id`` = bearing @ hour), its last row scored against the capped RUL there."""
    parts, test_parts = [], []
    for name, spec in tests.items():
        raw = pd.read_csv(folder / spec["file"], index_col=0)
        stamp = pd.to_datetime(raw["Datetime"], format="%Y.%m.%d.%H.%M.%S")
        keep = len(raw) - int(spec.get("drop_tail", drop_tail))  # end-of-test snapshots near 0 g: artefacts
        raw, stamp = raw.iloc[:keep], stamp.iloc[:keep]
        hours = (stamp - stamp.iloc[0]).dt.total_seconds().to_numpy() / 3600
        left = hours[-1] - hours
        for bearing, channel in spec["bearings"].items():
            failed = bearing in spec["failed"]
            part = pd.DataFrame({
                "bearing_id": f"{name}-{bearing}",
                "Datetime": stamp.to_numpy(),
                "vibration_g": raw[channel].to_numpy().round(5),
                "RUL": np.minimum(left, cap_h).round(3),
            })
            known = np.ones(len(part), dtype=bool) if failed else left >= cap_h  # censored: where the cap is certain
            (test_parts if name == test_run else parts).append((part[known], hours[known]))
    train = pd.concat([p for p, _ in parts], ignore_index=True)
    cuts = []
    for part, hours in test_parts:
        for at in np.arange(hours[0] + first_cut * (hours[-1] - hours[0]), hours[-1] + 1e-9, cut_every_h):
            upto = part[hours <= at]
            if len(upto):
                cuts.append(upto.assign(bearing_id=f"{upto['bearing_id'].iloc[0]}@{at:03.0f}h"))
    if not cuts:
        raise DataError(folder, f"test run {test_run!r} has no bearing to hold out")
    return train, pd.concat(cuts, ignore_index=True)


@loader
def press_with_faults(folder: Path, file: str, seed: int, fault_scale: float = 1.0, fault_size: float = 1.0) -> Loaded:
    """KAMP press strokes (one machine, one item, no label) with labelled fault episodes injected when
    loaded: real normal behaviour, synthetic faults, so an anomaly score can be judged on it at all.

    The file's own quirks first: ``working_time`` is a date only, and about 1,600 rows carry malformed
    dates (``12/31/99``, ``6/15/38``); ``id`` restarts with each day. Each run of ``id`` (a day) takes
    the most common date of the file's year among its rows, and the rows keep the file's order within
    the day. The PLC writes most strokes twice (the next row repeats every signal): such twins are one
    stroke and get the same fault.

    Faults: the press_cycles simulator's episodes and shapes (hydraulic leak, die misalignment, double
    blank; ``fault_plan``, ``fault_effects``), placed on the strokes with ``seed`` and sized from each
    stroke's own pressure_1 times ``fault_size``, added to its readings and rounded as the PLC logs them (whole bar and
    ms, pressure_3 to 0.1). ``fault`` = 1 on injected strokes. Anything odd in the real strokes (the
    file's first day holds about 600 strokes at 285 bar / 570 ms) stays labelled normal."""
    from .simulate.press_cycles import fault_effects, fault_plan

    frame = pd.read_csv(folder / file, encoding="utf-8-sig")
    stamps = pd.to_datetime(frame["working_time"], format="%m/%d/%y %H:%M", errors="coerce")
    year = stamps.dt.year.mode().iloc[0]
    day = (frame["id"].diff() < 0).cumsum()
    usual = stamps.where(stamps.dt.year == year).groupby(day).agg(lambda s: s.mode().iloc[0] if s.notna().any() else pd.NaT)
    frame["working_time"] = day.map(usual).ffill().to_numpy()
    signals = ["press_time", "pressure_1", "pressure_2", "pressure_3"]
    twin = (frame[signals] == frame[signals].shift()).all(axis=1).to_numpy()
    stroke = np.cumsum(~twin) - 1
    strokes = int(stroke[-1]) + 1
    r = np.random.default_rng(seed)
    kind = fault_plan(r, strokes, fault_scale, per_stroke=max(1, round(len(frame) / strokes)))
    first = np.flatnonzero(~twin)
    d1, d2, dt = fault_effects(r, kind, frame["pressure_1"].to_numpy(float)[first], fault_size)
    d1, d2, dt = d1[stroke], d2[stroke], dt[stroke]
    frame["pressure_3"] = (frame["pressure_3"] + d1 + d2).round(1)
    for column, delta in (("pressure_1", d1), ("pressure_2", d2), ("press_time", dt)):
        frame[column] = (frame[column] + delta).round().astype(frame[column].dtype)
    frame["fault"] = (kind[stroke] > 0).astype(np.int64)
    return frame, None
