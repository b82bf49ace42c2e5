"""Exports with a column per machine or product instead of a row per machine: a SCADA table of ``IF-1 전력,
IF-1 장입량, IF-2 전력, IF-2 장입량`` (a unit's name before or after the card's column), a demand sheet of
``Week | Part 1 | Part 2 | ...`` (a forecast card's series, one column each), or a test rig's log of
``Datetime | Bearing 1 | Bearing 2 | ...`` (the one reading a card watches, a column a unit). Where the card tells its units
apart by a group column the file lacks, each unit's columns become rows of their own, the unit's name in the
group column; what was done is in ``attrs["reading"]["per_unit"]`` for a note.
"""

from __future__ import annotations

import re

import pandas as pd

from .mapping import normal, wanted_names

_PARTS = re.compile(r"[\s_()\[\]]+")  # what separates a unit's name from a column's ('IF-1 전력', '온도(1호기)')
MIN_UNITS = 2


def found(frame: pd.DataFrame, card, column_map: dict | None = None) -> dict | None:
    """How the file spreads its units over columns, or None: ``signals`` (a column per unit and card column)
    or ``series`` (a forecast's series or a card's lone reading, a column per unit)."""
    if not card.group or frame.empty:
        return None
    wanted = wanted_names(card, column_map)
    present = {wanted[normal(c)] for c in frame.columns if normal(c) in wanted}
    if card.group.column in present:
        return None
    spread = {c: hit for c in frame.columns if normal(c) not in wanted and (hit := _unit_and_column(c, wanted))}
    units = {unit for unit, _ in spread.values()}
    if len(units) >= MIN_UNITS and all(sum(u == unit for u, _ in spread.values()) == len(spread) // len(units)
                                       for unit in units):
        return {"kind": "signals", "columns": spread, "shared": [c for c in frame.columns if c not in spread]}
    time = card.time.column if card.time else None
    lone = _lone_reading(card, present)
    if lone is None or time not in present:
        return None
    series = [c for c in frame.columns if normal(c) not in wanted and pd.api.types.is_numeric_dtype(frame[c])
              and _names_a_unit(str(c)) and not str(c).startswith("Unnamed:")]  # not a saved index
    if len(series) < MIN_UNITS:
        return None
    return {"kind": "series", "columns": {c: (str(c), lone) for c in series},
            "shared": [c for c in frame.columns if c not in series]}


def _lone_reading(card, present: set) -> str | None:
    """The one reading a column per unit can hold, named by nothing but the unit ('Bearing 1', 'Part 7'):
    a forecast's series, or the only reading of a card that watches one (a bearing's vibration); None
    where the file has it already or the card reads several."""
    if card.task == "forecast":
        lone = card.target.column
    else:
        special = {card.group.column, card.time.column if card.time else None, *card.exclude}
        readings = [c.name for c in card.columns if c.kind == "numeric" and c.name not in special]
        lone = readings[0] if len(readings) == 1 else None
    return lone if lone is not None and lone not in present else None


def _unit_and_column(name, wanted: dict) -> tuple[str, str] | None:
    """('IF-1', 'Power_kW') for 'IF-1 전력' where 전력 names Power_kW: the card column's name at one end of the
    column's, the unit's name the rest."""
    parts = [p for p in _PARTS.split(str(name).strip()) if p]
    for cut in range(1, len(parts)):
        head, tail = " ".join(parts[:cut]), " ".join(parts[cut:])
        if normal(tail) in wanted and normal(head) not in wanted and _names_a_unit(head):
            return head, wanted[normal(tail)]
        if normal(head) in wanted and normal(tail) not in wanted and _names_a_unit(tail):
            return tail, wanted[normal(head)]
    return None


def _names_a_unit(text: str) -> bool:
    """A machine's or line's name holds a number or is one letter (IF-1, 1호기, #2, Line A); '최대', 'avg' or
    'SV' beside a column's name say what kind of reading it is, not whose."""
    return bool(re.search(r"\d", text)) or bool(re.fullmatch(r"(?i)(line|라인)?\s*[a-z]\s*(라인|line)?", text.strip()))


def spread_out(frame: pd.DataFrame, card, column_map: dict | None = None) -> pd.DataFrame:
    """The file as a card reads it: unchanged unless it has a column per unit; then a row per unit and row of
    the file, the unit's name in the card's group column."""
    layout = found(frame, card, column_map)
    if layout is None:
        return frame
    group, shared = card.group.column, layout["shared"]
    units = list(dict.fromkeys(unit for unit, _ in layout["columns"].values()))
    parts = []
    for unit in units:
        own = {column: c for c, (u, column) in layout["columns"].items() if u == unit}
        parts.append(frame[shared].assign(**{group: unit}, **{column: frame[c] for column, c in own.items()}))
    out = pd.concat(parts, ignore_index=True)
    reading = {k: v for k, v in frame.attrs.get("reading", {}).items() if k not in ("places", "titles")}
    signals = sorted({column for _, column in layout["columns"].values()})
    out.attrs = {**frame.attrs, "reading": {**reading, "header_line": 0, "per_unit": {
        "kind": layout["kind"], "group": group, "units": [str(u) for u in units], "rows": len(out), "lines": len(frame),
        "signals": signals}}}
    return out
