"""Data in: read a user's file or make the card's reference data, map its columns onto the card,
and validate it, so everything downstream sees one clean, typed frame.

The three steps live in their own modules (reading, mapping, validation); this module ties them
together and keeps the names notebooks and the other modules call: ``load``, ``read_table``,
``map_columns``, ``validate``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import simulate, sources
from .cards import Card
from .mapping import map_columns, parse_map  # noqa: F401 - the public names of this module
from .reading import read_table  # noqa: F401
from .validation import inspect, validate  # noqa: F401


@dataclass
class Dataset:
    """A validated frame for one card. ``test`` holds a fixed test set when the data defines one
    (C-MAPSS official test units); otherwise the card's split makes it from ``frame``."""

    frame: pd.DataFrame
    test: pd.DataFrame | None
    source: str
    sha256: str

    @property
    def rows(self) -> int:
        return len(self.frame) + (0 if self.test is None else len(self.test))


def load(card: Card, path: str | Path | None = None, column_map: dict[str, str] | None = None,
         sheet: str | int | None = None, lang: str | None = None) -> Dataset:
    """The user's file when ``path`` is given, else the card's reference data (public when present)."""
    if path is None:
        frame, test, source = reference(card)
    else:
        source = str(path)
        frame, test = read_table(path, sheet=sheet, lang=lang), None
    frame = validate(map_columns(frame, card, column_map, source, lang=lang), card, source, lang=lang)
    if test is not None:
        test = validate(map_columns(test, card, column_map, source, lang=lang), card, f"{source} (test)", lang=lang)
    digest = frame_sha256(frame if test is None else pd.concat([frame, test], keys=["train", "test"]))
    return Dataset(frame=frame, test=test, source=source, sha256=digest)


def load_new(card: Card, path: str | Path, column_map: dict[str, str] | None = None, sheet: str | int | None = None,
             lang: str | None = None) -> pd.DataFrame:
    """New data to score: the same reader, mapping and validation, without the target."""
    source = str(path)
    frame = map_columns(read_table(path, sheet=sheet, lang=lang), card, column_map, source, lang=lang,
                        with_target=False)
    return validate(frame, card, source, with_target=False, lang=lang)


def reference(card: Card) -> tuple[pd.DataFrame, pd.DataFrame | None, str]:
    ref = card.reference_data
    if ref.file:
        return read_table(ref.file, sheet=ref.sheet), None, f"file:{ref.file}"
    if ref.public and sources.available(ref.public):
        frame, test = sources.load(ref.public)
        return frame, test, f"public:{ref.public}"
    sim = ref.simulator
    frame, test = simulate.simulate(sim.family, rows=sim.rows, seed=sim.seed, params=sim.params)
    return frame, test, f"simulator:{sim.family}(rows={sim.rows}, seed={sim.seed})"


def frame_sha256(frame: pd.DataFrame) -> str:
    digest = hashlib.sha256("|".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()
