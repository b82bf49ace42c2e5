"""Data in: read a user's file or make the card's reference data, map its columns onto the card,
and inspect it, so everything downstream sees one clean, typed frame and every decision made on it.

The steps live in their own modules (reading, mapping, parsing, inspection); this module ties them
together and keeps the names notebooks and the other modules call: ``load``, ``read_table``,
``map_columns``, ``validate``.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import labels, messages, simulate, sources
from .cards import Card
from .inspection import Options, accepted, inspect, validate  # noqa: F401 - the public names of this module
from .mapping import card_columns_in, map_columns, parse_map  # noqa: F401
from .reading import read_table  # noqa: F401

log = logging.getLogger("pipelines.data")


@dataclass
class Dataset:
    """A validated frame for one card. ``test`` holds a fixed test set when the data defines one
    (C-MAPSS official test units); otherwise the split makes it from ``frame``. ``card`` is the card as
    this file allows it (the split it falls back to, the signals present); ``notes`` are every decision
    the inspection made (message codes and fields), ``facts`` what a report shows."""

    frame: pd.DataFrame
    test: pd.DataFrame | None
    source: str
    sha256: str
    card: Card | None = None
    notes: list = field(default_factory=list)
    facts: dict = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return len(self.frame) + (0 if self.test is None else len(self.test))

    def notes_text(self, lang: str | None = None) -> list[str]:
        return [messages.note(code, lang, **fields) for code, fields in self.notes]

    def carry(self) -> dict:
        """What travels with the validated frame when it is written for a notebook kernel."""
        return {"source": self.source, "notes": messages.portable(self.notes), "facts": _plain(self.facts)}


def load(card: Card, path: str | Path | None = None, column_map: dict[str, str] | None = None,
         sheet: str | int | None = None, lang: str | None = None, options: Options | dict | None = None) -> Dataset:
    """The user's file when ``path`` is given, else the card's reference data (public when present).
    ``options``: the user's choices beyond the card (split, strict, date order, sensor codes)."""
    carried = None
    if path is None:
        frame, test, source = reference(card)
    else:
        source = str(path)
        frame, test = read_table(path, sheet=sheet, lang=lang, prefer=card_columns_in(card)), None
        carried = frame.attrs.get("reading", {}).get("carried")
        given = Options.of(options)
        frame = labels.joined(frame, card, given.labels, given.on, source, lang)
    found = inspect(map_columns(frame, card, column_map, source, lang=lang), card, source, options=options)
    found.raise_first(source, card, lang)
    if test is not None:
        test = validate(map_columns(test, card, column_map, source, lang=lang), card, f"{source} (test)", lang=lang,
                        options=options)
    notes, facts = found.notes, found.facts
    if carried:  # the runner's copy of a user's file: its decisions were made on the original
        source, notes, facts = carried["source"], [tuple(n) for n in carried["notes"]], carried["facts"]
    for code, fields in notes:
        log.info(messages.note(code, lang, **fields))
    frame = found.frame
    digest = frame_sha256(frame if test is None else pd.concat([frame, test], keys=["train", "test"]))
    return Dataset(frame=frame, test=test, source=source, sha256=digest, card=found.card, notes=notes, facts=facts)


def load_new(card: Card, path: str | Path, column_map: dict[str, str] | None = None, sheet: str | int | None = None,
             lang: str | None = None, required: list[str] | None = None,
             options: Options | dict | None = None) -> pd.DataFrame:
    """New data to score: the same reader, mapping and inspection, without the target; ``required``
    are the columns the trained model reads."""
    source = str(path)
    frame = read_table(path, sheet=sheet, lang=lang, prefer=card_columns_in(card))
    frame = map_columns(frame, card, column_map, source, lang=lang, with_target=False)
    return validate(frame, card, source, with_target=False, lang=lang, required=required, options=options)


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


def _plain(value):
    """Facts as JSON: numpy numbers as Python ones, anything else that JSON lacks as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def frame_sha256(frame: pd.DataFrame) -> str:
    digest = hashlib.sha256("|".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()
