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
