"""The recent rows a server keeps per unit, so rows sent one at a time get their history.

A model with windows, lags or counts over earlier rows scores a row sent alone as its unit's first
(pipelines/history.py). The run measured how many earlier rows of the same unit give a row the features
the whole file gives it (``model.history_rows``); the server keeps that many per unit (an engine, a
furnace, a product: the card's group column; the whole stream where the card has none) and scores each
request after them. Where the card has a time column, remembered rows at or after a request's first time
stamp for that unit are left out, so a client that sends its own history gets it once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import pandas as pd

MAX_ROWS = 200_000  # rows kept per model in all: the least recently seen units are forgotten first


class UnitMemory:
    def __init__(self, rows: int, unit: str | None, order: str | None, max_rows: int = MAX_ROWS):
        self.rows, self.unit, self.order = rows, unit, order
        self.max_units = max(1, max_rows // max(rows, 1))
        self._kept: OrderedDict = OrderedDict()  # unit -> its last ``rows`` rows, oldest first
        self._lock = threading.Lock()

    def _units(self, frame: pd.DataFrame) -> pd.Series:
        if self.unit and self.unit in frame.columns:
            return frame[self.unit].astype(str)
        return pd.Series("", index=frame.index)  # one stream

    def before(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The remembered rows that come before ``frame``'s rows of the same units (possibly none)."""
        units = self._units(frame)
        parts = []
        with self._lock:
            for unit in units.unique():
                kept = self._kept.get(unit)
                if kept is None:
                    continue
                if self.order and self.order in frame.columns and self.order in kept.columns:
                    first = frame.loc[units == unit, self.order].min()
                    if pd.notna(first):
                        kept = kept[kept[self.order] < first]
                parts.append(kept)
        parts = [p for p in parts if len(p)]
        return pd.concat(parts, ignore_index=True) if parts else frame.iloc[:0]

    def remember(self, frame: pd.DataFrame) -> None:
        """Keep the last ``rows`` rows of each unit: those remembered and the request's, one row per time
        stamp (a row sent again replaces the one remembered), in time order."""
        if not self.rows:
            return
        units = self._units(frame)
        with self._lock:
            for unit, rows in frame.groupby(units, sort=False):
                kept = self._kept.get(unit)
                rows = pd.concat([kept, rows], ignore_index=True) if kept is not None else rows.reset_index(drop=True)
                if self.order and self.order in rows.columns:
                    rows = rows.drop_duplicates(subset=[self.order], keep="last").sort_values(self.order, kind="stable")
                self._kept[unit] = rows.tail(self.rows).reset_index(drop=True)
                self._kept.move_to_end(unit)
            while len(self._kept) > self.max_units:
                self._kept.popitem(last=False)

    def take_over(self, other: "UnitMemory") -> None:
        """A newly promoted version of the same model goes on from the rows the last one was sent."""
        with other._lock:
            self._kept = OrderedDict((unit, rows.tail(self.rows)) for unit, rows in other._kept.items())

    def units(self) -> int:
        return len(self._kept)
