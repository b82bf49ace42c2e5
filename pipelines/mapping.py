"""Match a user's column names onto the card's: by name, by the card's Korean alias, ignoring case,
spaces and a unit suffix ('금형온도1(℃)' is 'Mold_Temperature_1' whose alias is '금형 온도 1'), or by
an explicit map (``--map "사출압력=Max_Injection_Pressure"`` or a YAML file of such pairs).

The result says for each card column which user column it came from and how, which user columns
are extra (ignored), which required ones are missing, and the closest user columns for each of those.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from .cards import Card
from .messages import error

HOW = ("map", "name", "korean name", "name without case/spaces/unit", "Korean name without spaces/unit")


@dataclass
class Match:
    card: str
    user: str
    how: str  # one of HOW


@dataclass
class Mapping:
    matches: list[Match] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)  # user columns the card does not read
    missing: list[str] = field(default_factory=list)  # required card columns with no user column
    absent_optional: list[str] = field(default_factory=list)
    suggestions: dict[str, list[str]] = field(default_factory=dict)  # unmatched card column -> close user columns

    @property
    def renames(self) -> dict[str, str]:
        return {m.user: m.card for m in self.matches if m.user != m.card}


def normal(name) -> str:
    """Compare names ignoring case, spaces, '_-./', full-width forms and a unit suffix: '온도 (℃)' ~ '온도'."""
    name = unicodedata.normalize("NFKC", str(name))
    name = re.sub(r"\s*[\(\[\{][^\(\[\{]*[\)\]\}]\s*$", "", name)
    return _squash(name)


def _squash(name) -> str:
    return re.sub(r"[\s_\-\./·]+", "", unicodedata.normalize("NFKC", str(name))).lower()


def _same(user: str, key: str) -> bool:
    """Loose match; a card name that itself ends in brackets ('배기 진공 (복수기)') keeps them."""
    return normal(user) in (normal(key), _squash(key))


def card_names(card: Card, with_target: bool = True) -> list[tuple[str, str | None, bool]]:
    """(name, Korean alias, required) for every column the card reads, the target last."""
    names = [(c.name, c.ko, c.required) for c in card.columns]
    return names + ([(card.target.column, card.target.ko, True)] if with_target else [])


class CardHeader:
    """A header's score for ``read_table(prefer=...)``: how many of the card's columns it names (by name or
    Korean name, spaces and units aside). ``in_order`` gives the card's columns (and its target last) with
    their kinds, as a file without a header row may hold them."""

    def __init__(self, card: Card):
        self.wanted = wanted_names(card)
        target = "category" if card.task in ("binary", "multiclass", "anomaly") else "numeric"
        self.in_order = [(c.name, c.kind) for c in card.columns] + [(card.target.column, target)]

    def __call__(self, header) -> int:
        return sum(normal(h) in self.wanted for h in header)


def card_columns_in(card: Card) -> CardHeader:
    return CardHeader(card)


def wanted_names(card: Card, column_map: dict[str, str] | None = None) -> dict[str, str]:
    """Each way a file may name a card column (its name, its Korean name; --map's names), as ``normal``
    writes it, -> the card column."""
    wanted = {normal(n): name for name, ko, _ in card_names(card) for n in (name, ko) if n}
    return wanted | {normal(mine): theirs for mine, theirs in (column_map or {}).items()}


def naming_column(frame: pd.DataFrame, wanted: dict[str, str], skip=()) -> tuple[object, int]:
    """The text column whose values name the most card columns (a long file's tags, a sideways report's
    items), and how many it names; (None, 0) where none does."""
    best, count = None, 0
    for col in frame.columns:
        values = frame[col]
        if col in skip or pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
            continue
        distinct = values.dropna().astype(str).str.strip().unique()
        if len(distinct) > 5000:  # a column of free text or stamps, not a set of names
            continue
        named = len({wanted[normal(v)] for v in distinct if normal(v) in wanted})
        if named > count:
            best, count = col, named
    return best, count


def columns_holding(frame: pd.DataFrame, name: str, skip=()) -> list:
    """The text columns that hold ``name`` among their values (``workbench new --target`` on a long file
    or a sideways report, before any card exists)."""
    return [c for c in frame.columns if c not in skip and not pd.api.types.is_numeric_dtype(frame[c])
            and frame[c].dropna().astype(str).str.strip().map(normal).eq(normal(name)).any()]


def match(columns, card: Card, column_map: dict[str, str] | None, source, with_target: bool = True,
          lang: str | None = None) -> Mapping:
    columns = [str(c) for c in columns]
    wanted = card_names(card, with_target=True)  # the target is matched when present, required only to train
    known = {name for name, _, _ in wanted}
    column_map = dict(column_map or {})
    unknown_user = [u for u in column_map if u not in columns]
    if unknown_user:
        raise error("map_unknown_user", source, lang=lang, names=", ".join(map(repr, unknown_user)),
                    header=", ".join(columns[:15]) + (" ..." if len(columns) > 15 else ""))
    unknown_card = [c for c in column_map.values() if c not in known]
    if unknown_card:
        raise error("map_unknown_card", source, lang=lang, names=", ".join(map(repr, unknown_card)), card=card.id)

    result = Mapping()
    taken: set[str] = set()
    for user, card_col in column_map.items():
        result.matches.append(Match(card_col, user, HOW[0]))
        taken.add(user)
    mapped = set(column_map.values())
    free = lambda: [c for c in columns if c not in taken]  # noqa: E731
    for name, ko, required in wanted:
        if name in mapped:
            continue
        found = None
        for how, key, same in ((HOW[1], name, str.__eq__), (HOW[2], ko, str.__eq__), (HOW[3], name, _same),
                               (HOW[4], ko, _same)):
            if not key:
                continue
            hits = [c for c in free() if same(c, key)]
            if len(hits) > 1:
                raise error("ambiguous", source, column=name, lang=lang, card_column=name,
                            names=", ".join(map(repr, hits)), first=hits[0])
            if hits:
                found = Match(name, hits[0], how)
                break
        if found:
            result.matches.append(found)
            taken.add(found.user)
        elif required and (name != card.target.column or with_target):
            result.missing.append(name)
        elif name != card.target.column:
            result.absent_optional.append(name)
    result.extras = free()
    pool = {normal(c): c for c in result.extras[:500]}  # bounded: a file or request of 50k names stays quick
    for name in [*result.missing, *result.absent_optional]:
        ko = next((k for n, k, _ in wanted if n == name), None)
        close = difflib.get_close_matches(normal(name), list(pool), n=2, cutoff=0.6)
        if ko:
            close += [c for c in difflib.get_close_matches(normal(ko), list(pool), n=2, cutoff=0.5) if c not in close]
        result.suggestions[name] = [pool[c] for c in close[:3]]
    return result


def reshaped(frame: pd.DataFrame, card: Card, column_map: dict[str, str] | None) -> pd.DataFrame:
    """A daily report laid sideways (a row per item, a column per hour) turned, a file of one reading per
    row widened, or a column per machine spread out, to the rows a card reads; any other file unchanged."""
    from . import long_format, per_unit, sideways

    frame = long_format.widened(sideways.turned(frame, card, column_map), card, column_map)
    return per_unit.spread_out(frame, card, column_map)


def reshapes(frame: pd.DataFrame, card: Card, column_map: dict[str, str] | None) -> bool:
    """Whether ``reshaped`` would change the file: it must then be read whole, not in chunks."""
    from . import long_format, per_unit, sideways

    return any(module.found(frame, card, column_map) is not None for module in (sideways, long_format, per_unit))


def map_columns(frame: pd.DataFrame, card: Card, column_map: dict[str, str] | None, source,
                lang: str | None = None, with_target: bool = True) -> pd.DataFrame:
    """Rename user columns onto card columns (see ``match``); the mapping rides along in
    ``attrs["mapping"]`` for the validation's messages and the check report."""
    frame = reshaped(frame, card, column_map)
    found = match(frame.columns, card, column_map, source, with_target=with_target, lang=lang)
    attrs = dict(frame.attrs)
    # a column already named as a card column that --map gives another column ('C=Carbon_pct' beside a
    # 'Carbon_pct') is not read: it steps aside, so two columns never share the card's name
    aside = {c: f"{c} (unused)" for c in frame.columns if c in set(found.renames.values()) and c not in found.renames}
    frame = frame.rename(columns={**aside, **found.renames})
    frame.attrs = {**attrs, "mapping": found}
    return frame


def parse_map(values: list[str] | None, lang: str | None = None) -> dict[str, str] | None:
    """``--map`` values: 'YOUR_COLUMN=CARD_COLUMN' pairs and/or YAML files of 'your column: card column'."""
    if not values:
        return None
    out: dict[str, str] = {}
    for value in values:
        if value.lower().endswith((".yaml", ".yml")):
            path = Path(value)
            try:
                loaded = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
            except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
                raise error("map_unreadable", path, lang=lang, path=path, detail=type(exc).__name__) from None
            if not isinstance(loaded, dict):
                raise error("map_unreadable", path, lang=lang, path=path, detail="not a mapping")
            out.update({str(k).strip(): str(v).strip() for k, v in loaded.items()})
        elif "=" in value:
            user, card_col = value.split("=", 1)
            out[user.strip()] = card_col.strip()
        else:
            raise error("map_bad_pair", "--map", lang=lang, value=value)
    return out
