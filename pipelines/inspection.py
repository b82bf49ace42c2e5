"""Inspect a mapped frame against its card: the one place where ``check``, ``run`` and ``predict``
decide what of a file is usable, and say every decision.

A card says what a model CAN use; the file decides what it DOES use. Like pandera's lazy validation,
everything is collected first, then a policy per kind of finding decides:

- columns: only the target (to train), the key the split needs and columns marked ``required`` must be
  there; any other card column the file lacks is a note and the model trains without it;
- the split: a time split without the time column falls back to the card's ``split.fallback``;
- values: text that does not parse, readings outside a column's physical range and declared sensor
  codes become missing (the boosters handle missing) and are counted; a column that is mostly text,
  or mostly out of range (another unit), stays an error, as do a file without the target or with one
  class only;
- rows: a repeated header (two exports pasted together) and totals or notes below the table are left
  out.

Every refusal is a ``Problem`` with a code from pipelines/messages.py, the column and a few row numbers
as the spreadsheet shows them; every decision is a note. ``--strict`` (``Options.strict``) turns the
tolerated findings back into refusals. ``validate`` raises the first problem as one paragraph;
``inspect`` returns them all with the notes, the facts a report shows and the card as this file
allows it (``Inspection.card``: fallback split, the signals present).
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd
import pandera.pandas as pa

from . import messages, time_parts, workbooks
from .cards import Card, Costs, TimeSpec
from .errors import DataError
from .mapping import Mapping, match
from .parsing import (DAY_FIRST, MONTH_FIRST, MISSING_TEXT, WINDOW, class_labels, is_positive, labels,  # noqa: F401
                      parse_dates, parse_numbers, unit_key)
from .reading import row_labels

log = logging.getLogger("pipelines.data")

MIN_ROWS = 20  # below this no split into train, test and CV folds says anything
MOSTLY = 0.5  # a column with more unreadable (or out-of-range) cells than this share is refused, not repaired
SPLITS = ("time", "group", "stratified", "random")


@dataclass(frozen=True)
class Options:
    """The user's choices beyond the card (``--split``, ``--strict``, ``--dayfirst``/``--monthfirst``,
    ``--na``). Plain data, so it travels into a notebook kernel as a papermill parameter."""

    split: str | None = None
    strict: bool = False
    dates: str | None = None  # parsing.DAY_FIRST or MONTH_FIRST
    missing_values: dict[str, list] = field(default_factory=dict)  # column -> codes read as missing
    costs: str | None = None  # "FALSE_ALARM:MISSED" (--costs): a binary card's alarm prices
    positive: str | None = None  # --positive: the label that marks a defect in this file, when not the card's
    labels: str | None = None  # --labels FILE: the target from a file of its own (pipelines/labels.py)
    on: str | None = None  # --on COLUMN: the key column the data and the labels file share
    failed: str | None = None  # --failed UNITS: a life card's units that ran to failure (the others stopped early)

    @classmethod
    def of(cls, value: "Options | dict | None") -> "Options":
        if isinstance(value, Options):
            return value
        return cls(**{k: v for k, v in (value or {}).items() if v not in (None, {}, False)})

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in (None, {}, False)}


@dataclass
class Problem:
    code: str
    column: str | None = None
    rows: list[int] = field(default_factory=list)
    fields: dict = field(default_factory=dict)

    def error(self, source, lang: str | None = None) -> DataError:
        return messages.error(self.code, source, column=self.column, row_numbers=self.rows, lang=lang, **self.fields)


@dataclass
class Inspection:
    """What inspection found: the typed frame (None when there are problems), problems, notes (each a
    message code and its fields), facts, the column mapping and the card as the file allows it."""

    frame: pd.DataFrame | None
    problems: list[Problem]
    notes: list[tuple[str, dict]]
    facts: dict
    mapping: Mapping | None = None
    card: Card | None = None
    input_rows: np.ndarray | None = None  # each kept row's index in the frame as read (before sorting)

    def raise_first(self, source, card: Card, lang: str | None = None) -> None:
        if not self.problems:
            return
        err = self.problems[0].error(source, lang)
        if len(self.problems) > 1:
            more = messages.MORE[messages.lang_or_default(lang)].format(count=len(self.problems) - 1, card=card.id,
                                                                         file=source)
            err.args = (err.args[0] + more,)
        raise err


def validate(frame: pd.DataFrame, card: Card, source, with_target: bool = True, lang: str | None = None,
             options: Options | dict | None = None, required: list[str] | None = None) -> pd.DataFrame:
    """Keep the card's columns the file has, typed and sorted; raise DataError naming the column and
    the fix otherwise. ``with_target=False`` inspects new data for prediction; ``required`` then
    names the columns the trained model reads (instead of the card's required ones)."""
    return accepted(frame, card, source, with_target, lang, options, required).frame


def accepted(frame: pd.DataFrame, card: Card, source, with_target: bool = True, lang: str | None = None,
             options: Options | dict | None = None, required: list[str] | None = None) -> Inspection:
    """``validate``'s inspection (for callers that need more than the frame, e.g. each row's input row)."""
    found = inspect(frame, card, source, with_target=with_target, options=options, required=required)
    found.raise_first(source, card, lang)
    for code, fields in found.notes:
        log.info(messages.note(code, lang, **fields))
    return found


def inspect(frame: pd.DataFrame, card: Card, source, with_target: bool = True, options: Options | dict | None = None,
            required: list[str] | None = None) -> Inspection:
    options = Options.of(options)
    problems: list[Problem] = []
    notes: list[tuple[str, dict]] = []
    facts: dict = {"rows": len(frame)}
    rownum = row_labels(frame)  # index -> the rows the user finds them at (spreadsheet rows, sheet!row)
    reading_notes(frame.attrs.get("reading", {}), notes)
    places = frame.attrs.get("reading", {}).get("places")  # files or sheets read one below the other
    mapping = frame.attrs.get("mapping") or match(frame.columns, card, None, source, with_target=with_target)
    # The same columns without attrs: pandas deep-copies attrs into every frame derived from this one,
    # 0.2 s of a 200,000-row predict's 1 s of checks.
    frame = pd.DataFrame(frame)
    target = card.target.column
    frame = _drop_repeated_headers(frame, notes, rownum)
    frame = _drop_units_row(frame, card, notes, rownum)
    frame, mapping = _joined_date_and_time(frame, card, mapping, notes, places)
    if with_target and not options.strict:
        frame, mapping = _target_by_its_words(frame, card, mapping, notes)
        frame, mapping = _target_from_flags(frame, card, mapping, notes)
        frame = _without_fault_labels(frame, card, notes)
        frame = _rul_from_run_to_failure(frame, card, notes, problems, options.failed)

    # 1. columns: what must be there, what the model does without, and the split this file allows
    usable = _usable_card(card, frame.columns, options, with_target, notes, problems)
    if required is None:
        required = [c.name for c in card.columns if c.required]
        if options.strict:
            required += [c for c in card.input_columns if c not in required]
        needs = [usable.group.column] if usable.group and (usable.split.kind == "group" or card.task == "rul") else []
        required += [c for c in needs if c not in required]
    missing = [c for c in required if c not in frame.columns]
    if with_target and target not in frame.columns:
        missing.append(target)
    if missing:
        problems.append(Problem("missing_columns", missing[0], fields={
            "count": len(missing), "listing": _missing_listing(card, missing, mapping)}))
    if mapping.extras:
        notes.append(("extra_columns", {"count": len(mapping.extras), "names": _names(mapping.extras)}))
    absent = [c.name for c in card.columns if c.name not in frame.columns and c.name not in missing
              and c.name not in card.exclude]
    facts["absent"] = absent
    if with_target and card.task != "forecast" and not any(c in frame.columns for c in usable.feature_columns):
        problems.append(Problem("no_features", None, fields={"names": _names(usable.feature_columns, 6)}))
    elif absent and with_target:
        notes.append(("absent_columns", {"count": len(absent), "listing": _missing_listing(card, absent, mapping)}))

    # 2. parse text into types, remembering the cells that do not parse
    specs = [c for c in card.columns if c.name in frame.columns]
    typed = pd.DataFrame(index=frame.index)
    bad: dict[str, pd.Series] = {}
    for col in specs:
        if col.kind == "numeric":
            typed[col.name], bad[col.name] = parse_numbers(frame[col.name], col.unit)
        elif col.kind == "datetime":
            typed[col.name], bad[col.name] = _dates(frame[col.name], col.name, options.dates or col.date_order,
                                                    notes, problems, rownum, facts, strict=options.strict)
        else:
            typed[col.name], merged = labels(frame[col.name])
            for value, spellings in list(merged.items())[:3]:
                notes.append(("labels_merged", {"column": col.name, "value": value,
                                                "spellings": ", ".join(map(repr, spellings[:4]))}))
    has_target = with_target and target in frame.columns
    if has_target:
        if card.task in ("binary", "multiclass", "anomaly"):
            typed[target] = class_labels(frame[target])
        else:
            typed[target], bad[target] = parse_numbers(frame[target], card.target.unit)
    typed = _unreadable_cells(frame, typed, bad, options, notes, problems, rownum)

    # 3. values: sensor codes, physical ranges, columns left empty
    typed = _sensor_codes(typed, card, options, notes)
    typed = _ranges(typed, card, options, notes, problems, facts, rownum)
    if with_target or options.strict:  # new rows to score keep an empty column: the model reads it as missing
        typed = _empty_columns(typed, card, required, notes, problems, target)
    if not any(p.code == "missing_columns" for p in problems):
        _likely_sentinels(typed, card, notes)

    # 4. what a schema cannot say: the target, the split, time order
    facts["missing"] = {c: int(v) for c, v in typed.isna().sum().items()}
    parsed = lambda col: col not in bad or not bad[col].any() or col in typed.columns  # noqa: E731
    if has_target and parsed(target) and target in typed.columns:
        unlabelled = int(typed[target].isna().sum())
        if unlabelled:
            notes.append(("unlabelled_rows", {"count": unlabelled}))
        typed = typed[typed[target].notna()]
        typed[target], found = _defect_label(typed[target], card, options, notes, facts)
        found = found or _target_values(typed[target], card, rownum) or _target_problems(typed, usable, facts)
        if "no_faults" in facts and not any(code == "anomaly_without_labels" for code, _ in notes):
            notes.append(("anomaly_no_faults", {"target": target, "label": facts["no_faults"]}))
        usable, found = _split_without_late_events(typed, usable, card, options, found, notes, facts)
        problems += found
    time = usable.time.column if usable.time else None
    if time and time in typed.columns and not any(p.code == "ambiguous_dates" for p in problems):
        lost_group = card.group.column if card.group and card.group.column not in typed.columns else None
        problems += _time_problems(typed, usable, rownum, notes, facts, lost_group)
    twice = typed.duplicated() if len(typed.columns) else pd.Series(False, index=typed.index)
    duplicated = int(twice.sum())
    if duplicated:
        notes.append(("duplicate_rows", {"count": duplicated, "rows": _rows_text(rownum(typed.index[twice]))}))
    facts["duplicates"] = duplicated
    facts["split_kind"], facts["card_split_kind"] = usable.split.kind, card.split.kind
    facts["notes"] = len(notes)
    if problems:
        return Inspection(None, problems, notes, facts, mapping, usable)

    keep = [c.name for c in card.columns if c.name in typed.columns] + ([target] if has_target else [])
    typed = typed[keep]
    order = [c for c in (usable.group.column if usable.group else None, time) if c and c in typed.columns]
    if order:
        typed = typed.sort_values(order, kind="stable", key=_as_numbers_where_all_are)
    facts["rows_used"] = len(typed)
    facts["columns"] = [c for c in keep if c != target]
    return Inspection(typed.reset_index(drop=True), problems, notes, facts, mapping, usable,
                      input_rows=typed.index.to_numpy())


def _as_numbers_where_all_are(column: pd.Series) -> pd.Series:
    """Sort key: ids written as numbers (engine 1, 2, 10) sort as numbers, not as text (1, 10, 2)."""
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
        return column
    numbers = pd.to_numeric(column, errors="coerce")
    return numbers if numbers.notna().sum() == column.notna().sum() else column


# --- the card as this file allows it -------------------------------------------------------------------

def _usable_card(card: Card, columns, options: Options, with_target: bool, notes: list, problems: list) -> Card:
    """The card with the split this file allows: a time split without its time column falls back to
    ``split.fallback`` (a forecast keeps the file's row order), ``--split`` overrides; an anomaly card
    watches the signals the file has."""
    columns = set(columns)
    kind = options.split or card.split.kind
    if options.split and options.split != card.split.kind:
        if (options.split == "group" and not card.group) or (options.split == "stratified" and not card.is_classifier):
            problems.append(Problem("split_unavailable", None, fields={
                "kind": options.split, "need": "group" if options.split == "group" else "classes"}))
            kind = card.split.kind
        elif with_target:
            notes.append(("split_override", {"kind": options.split, "card_kind": card.split.kind}))
    time = card.time
    has_clock = bool(time and time.column and time.column in columns)
    if time and time.column and not has_clock:
        time = TimeSpec(column=None) if kind == "time" else None
        if kind == "time" and not options.strict:
            fallback = card.fallback_split if not options.split else "time"
            if fallback == "time":
                notes.append(("split_file_order", {"time_column": card.time.column}))
            else:
                if with_target:  # rows to score are not split: nothing to say
                    notes.append(("split_fallback", {"time_column": card.time.column, "fallback": fallback,
                                                     "share": f"{card.split.test_size:.0%}"}))
                kind, time = fallback, None
    group = card.group if card.group and card.group.column in columns else None
    if card.group and not group and (kind == "group" or card.task == "rul"):
        group = card.group  # required: reported as a missing column
    anomaly = card.anomaly
    if anomaly:
        present = [s for s in anomaly.signals if s in columns]
        if not present:
            problems.append(Problem("no_signals", None, fields={"names": ", ".join(anomaly.signals)}))
        anomaly = anomaly.model_copy(update={"signals": present or anomaly.signals})
    costs = card.costs
    if options.costs and card.task == "binary":
        costs = Costs.parse(options.costs, unit=card.costs.unit if card.costs else None)
        card_costs = f"{card.costs.false_alarm:g}:{card.costs.missed:g}" if card.costs else "none"
        notes.append(("costs_override", {"costs": options.costs, "card_costs": card_costs}))
    return card.model_copy(update={"split": card.split.model_copy(update={"kind": kind}), "time": time,
                                   "group": group, "anomaly": anomaly, "costs": costs})


def _named(reading: dict, part: str) -> dict:
    """How rows of files or sheets read one below the other are named; a report turned sideways has none."""
    if reading.get("turned"):
        return {"en": ", each a table turned on its own", "ko": ". 각 표를 따로 돌려 읽었습니다."}
    return {"file": {"en": "; rows are named file!row", "ko": ". 행은 파일!행 으로 가리킵니다."},
            "sheet": {"en": "; rows are named sheet!row", "ko": ". 행은 시트!행 으로 가리킵니다."}}[part]


DAY_FROM = {"title": {"en": "; each day is the one in the title above its table", "ko": ". 날짜는 표 위 제목의 날짜입니다"},
            "name": {"en": "; each day is the one in its sheet's or file's name", "ko": ". 날짜는 시트나 파일 이름의 날짜입니다"}}


def _turned_notes(turned: dict, notes: list) -> None:
    """A daily report laid sideways, turned (sideways.py): how, where each day came from, what was left aside."""
    day = DAY_FROM[turned["dated_by"][0]] if len(turned["dated_by"]) == 1 else (
        {"en": "; each day is the one in its title or its sheet's or file's name",
         "ko": ". 날짜는 표 위 제목이나 시트, 파일 이름의 날짜입니다"} if turned["dated_by"] else "")
    notes.append(("turned", {**{k: turned[k] for k in ("item", "first", "last", "times", "blocks", "rows", "items",
                                                        "card_items")}, "day": day}))
    if turned["undated"]:
        names = turned["undated"]
        notes.append(("turned_undated", {"count": len(names), "time": turned["time"],
                                         "names": ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")}))
    if turned["aside"]:
        notes.append(("turned_aside", {"columns": ", ".join(turned["aside"])}))
    if turned["repeated"]:
        notes.append(("turned_repeats", {"count": turned["repeated"]}))


# --- rows that are not data ----------------------------------------------------------------------------

def reading_notes(reading: dict, notes: list) -> None:
    """What reading the file decided (reading.py's ``attrs["reading"]``), as notes: a header over two rows,
    a folder's files, a labels file, decimal commas, cells merged down, uncalculated formulas, a long file
    widened, repeated column names, a file that is not what its name says; a workbook's other sheets (those
    read with --sheet all and those left out, or those with the same header left unread)."""
    if reading.get("joined_header"):
        joined = reading["joined_header"]
        names = joined["names"]
        notes.append(("header_joined", {"rows": " & ".join(map(str, joined["rows"])), "count": len(names),
                                        "names": ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")}))
    if reading.get("spaces"):
        notes.append(("space_separated", {}))
    if reading.get("by_position"):
        names = reading["by_position"]["names"]
        notes.append(("by_position", {"count": len(names), "names": ", ".join(names[:5]) + ", ..., " + names[-1]
                                      if len(names) > 6 else ", ".join(names)}))
    if reading.get("header_below"):
        notes.append(("header_below", dict(reading["header_below"])))
    if reading.get("files"):
        files = reading["files"]
        skipped = reading["skipped_files"] + [f"{n} (unreadable)" for n in reading.get("unreadable_files", [])]
        notes.append(("files_combined", {"count": len(files), "skipped": ", ".join(skipped[:8]) or "-", "named": _named(reading, "file"),
                                         "files": ", ".join(files[:3]) + (f", ... {files[-1]}" if len(files) > 3 else "")}))
    if reading.get("key_from_names"):
        notes.append(("labels_key_from_names", dict(reading["key_from_names"])))
    if reading.get("labels"):
        found = reading["labels"]
        notes.append(("labels_joined", {"columns": ", ".join(found["columns"]), "file": found["file"], "key": found["key"],
                                        "matched": found["matched"], "rows": found["rows"], "results": found["results"]}))
    if reading.get("decimal") == ",":
        notes.append(("decimal_comma", {"thousands": reading.get("thousands") or "-"}))
    for key, code in (("merged_down", "merged_down"), ("uncalculated", "uncalculated_formulas")):
        if reading.get(key):  # cells per column
            found = reading[key]
            notes.append((code, {"count": sum(found.values()),
                                 "columns": ", ".join(f"{c} ({n})" for c, n in list(found.items())[:6])}))
    if reading.get("turned"):
        _turned_notes(reading["turned"], notes)
    if reading.get("per_unit"):
        spread = reading["per_unit"]
        units = spread["units"]
        notes.append(("per_unit", {"group": spread["group"], "rows": spread["rows"], "lines": spread["lines"],
                                   "units": ", ".join(units[:6]) + (f", ... ({len(units)})" if len(units) > 6 else ""),
                                   "signals": {"en": f"; each with {', '.join(spread['signals'])}",
                                               "ko": f"; 열마다 {', '.join(spread['signals'])}"}}))
    if reading.get("widened"):
        w = reading["widened"]
        notes.append(("widened" if w["filled"] is not None else "widened_by_key",
                      {**{k: w[k] for k in ("tag", "value", "rows", "lines", "tags", "card_tags", "filled")},
                       "keys": " + ".join(w["keys"])}))
        if w.get("described"):
            notes.append(("widened_tag_columns", {"columns": ", ".join(w["described"]), "tag": w["tag"]}))
        if w["repeated"]:
            notes.append(("widened_repeats", {"count": w["repeated"], "tag": w["tag"], "keys": " + ".join(w["keys"])}))
    for repeated in reading.get("duplicate_columns") or []:
        notes.append(("duplicate_same", {"name": repeated["name"], "times": repeated["times"]}) if repeated["distinct"] == 1
                     else ("duplicate_numbered", {"name": repeated["name"], "times": repeated["times"],
                                                  "names": ", ".join(repeated["names"]), "second": repeated["names"][1]}))
    if reading.get("content"):
        notes.append(("content_not_name", {"what": workbooks.DESCRIBED[reading["content"]["kind"]],
                                           "suffix": reading["content"]["suffix"]}))
    if reading.get("read_sheets"):
        notes.append(("sheets_combined", {"count": len(reading["read_sheets"]), "sheets": ", ".join(reading["read_sheets"]),
                                          "named": _named(reading, "sheet"),
                                          "skipped": ", ".join(reading["skipped_sheets"]) or "-"}))
    if reading.get("chosen_by"):
        notes.append(("sheet_chosen", {"sheet": reading["sheet"], "first": reading["chosen_by"]["first"],
                                       "count": reading["chosen_by"]["found"]}))
    if reading.get("alike_sheets") and not reading.get("read_sheets"):
        notes.append(("alike_sheets_unread", {"sheet": reading["sheet"], "count": len(reading["alike_sheets"]),
                                              "sheets": ", ".join(reading["alike_sheets"][:8])}))


def _drop_repeated_headers(frame: pd.DataFrame, notes: list, rownum) -> pd.DataFrame:
    """Two exports pasted together repeat the header in the middle: a row whose cells are the column
    names is not data."""
    if frame.empty or len(frame.columns) < 2:
        return frame
    names = pd.Series([str(c).strip() for c in frame.columns], index=frame.columns)
    # only text can repeat a header (a typed time stamp as text: 45 ms of a 100,000-row chunk)
    text = frame.select_dtypes(exclude=["number", "datetime", "datetimetz", "timedelta", "bool"])
    if text.empty:
        return frame
    same = pd.DataFrame({c: text[c].astype("str").str.strip() == names[c] for c in text.columns})
    header = same.sum(axis=1) >= max(2, len(frame.columns) // 2)
    if not header.any():
        return frame
    notes.append(("header_repeated", {"count": int(header.sum()), "row": rownum(frame.index[header])[0]}))
    # a table per machine or lot, one below the other: each repeated header under a title line of its own
    at = np.flatnonzero(header.to_numpy())
    above = at[at > 0] - 1
    filled = frame.iloc[above].notna().sum(axis=1).to_numpy() if len(above) else np.array([])
    titles = above[(filled == 1) & ~header.to_numpy()[above]] if len(above) else above
    if len(titles):
        first = frame.iloc[titles[0]].dropna().iloc[0]
        notes.append(("block_titles", {"count": len(titles), "row": rownum(frame.index[titles])[0], "title": str(first)}))
        header.iloc[titles] = True
    return frame[~header]


TAG_CODE = re.compile(r"^[A-Za-z]{1,6}[-_ ]?\d{1,5}([.\-_][A-Za-z0-9]+)*$")  # a DCS tag: TI-101, PT_2003.PV


def _drop_units_row(frame: pd.DataFrame, card: Card, notes: list, rownum) -> pd.DataFrame:
    """Many exports write each column's unit in the row under the header (℃, bar, mm), or its tag code
    (TI-101): the file's first row is then short text above columns of numbers. It is left out, and a unit
    that is not the card's (℉ over a ℃ column) is pointed out."""
    if len(frame) < 3 or frame.index[0] != 0:  # only a file's first row (a later predict chunk starts with data)
        return frame
    numeric = [c.name for c in card.columns if c.kind == "numeric" and c.name in frame.columns]
    if card.task not in ("binary", "multiclass", "anomaly") and card.target.column in frame.columns:
        numeric.append(card.target.column)
    units: dict[str, str] = {}
    for name in numeric:
        cell, body = frame[name].iloc[0], frame[name].iloc[1:201]
        if not isinstance(cell, str) or not cell.strip() or len(cell.strip()) > 16:
            continue
        head_bad, body_bad = parse_numbers(pd.Series([cell]))[1].iloc[0], parse_numbers(body)[1].mean()
        if head_bad and body_bad < 0.1:
            units[name] = cell.strip()
    if len(units) < 2 or len(units) < 0.6 * sum(isinstance(frame[n].iloc[0], str) for n in numeric):
        return frame
    listing = ", ".join(dict.fromkeys(units.values()))
    row = rownum(frame.index[:1])[0]
    codes = [u for u in units.values() if TAG_CODE.match(u)]
    if len(codes) >= 0.8 * len(units) and len(set(units.values())) == len(units):  # TI-101, PI-102: one per column
        notes.append(("tag_row", {"row": row, "codes": ", ".join(list(units.values())[:6]) + (", ..." if len(units) > 6 else "")}))
        return frame.iloc[1:]
    spec = {c.name: c.unit for c in card.columns} | {card.target.column: card.target.unit}
    other = [f"{n} {u} (the card: {spec[n]})" for n, u in units.items() if spec.get(n) and unit_key(u) != unit_key(spec[n])]
    notes.append(("units_row_other", {"row": row, "units": listing, "other": "; ".join(other[:4])}) if other
                 else ("units_row", {"row": row, "units": listing}))
    return frame.iloc[1:]


def _joined_date_and_time(frame: pd.DataFrame, card: Card, mapping, notes: list, places: list | None = None):
    """Plant exports often write a time stamp in pieces (일자 | 시각, 날짜 | 시간 1-24, 년 | 월 | 일 | 시), or
    its date in the names of a logger's files (20240305.csv, with the time of day inside). Where the card's
    time column is absent and the unused columns hold exactly one such set, the pieces make the time
    column, with a note: the split by time and the rows' order then hold (time_parts.py)."""
    time = card.time.column if card.time and not card.time.within else None
    if not time or time in frame.columns or frame.empty:
        return frame, mapping
    extras = [c for c in mapping.extras if c in frame.columns]
    found = time_parts.pieces(frame, extras)
    if found is None:
        named = time_parts.from_names(frame, places, extras, year=card.column(time).kind == "numeric")
        if named is None:
            return frame, mapping
        made, how = named
        notes.append(("time_from_names", {**how, "time": time, "clock": (
            {"en": f" and the time of day in {how['clock']}", "ko": f"과 {how['clock']} 열의 시각"} if how["clock"] else "")
            if how["what"] == "date" else "", "what": {"date": {"en": "date", "ko": "날짜"},
                                                      "year": {"en": "year", "ko": "연도"}}[how["what"]]}))
        drop = [how["clock"]] if how.get("clock") else []
        return (frame.drop(columns=drop).assign(**{time: made}),
                replace(mapping, extras=[c for c in mapping.extras if c not in drop]))
    parts, how = found
    if how == "clock":
        notes.append(("time_joined", {"time": time, "date": parts[0], "clock": parts[1]}))
    else:
        hour = time_parts.hour_column(parts, how)
        notes.append(("time_assembled_1_24" if hour and time_parts.hours_ending(frame, hour) else "time_assembled",
                      {"time": time, "parts": " + ".join(parts), "hour": hour}))
    made = time_parts.stamps(frame, parts, how)
    unread = made.isna() & frame[parts[0]].notna()  # a footer's '합계' stays text, for the footer and date checks
    if unread.any():
        made = made.astype(object).where(~unread, frame[parts[0]].astype(str))
    frame = frame.drop(columns=parts).assign(**{time: made})
    return frame, replace(mapping, extras=[c for c in mapping.extras if c not in parts])


def _unreadable_cells(frame: pd.DataFrame, typed: pd.DataFrame, bad: dict[str, pd.Series], options: Options,
                      notes: list, problems: list, rownum) -> pd.DataFrame:
    """Cells that do not parse. When they all sit in the last rows they are a footer (totals, notes)
    and those rows are left out; else a column that is mostly text is refused, and a few unreadable
    cells become missing with a note (``--strict``: refused)."""
    bad = {c: m for c, m in bad.items() if m.any()}
    if not bad:
        return typed
    rows = sorted(set().union(*(m.index[m] for m in bad.values())))
    tail = list(frame.index[-len(rows):]) if len(rows) <= 5 else []
    if tail and rows == sorted(tail) and len(frame) > len(rows):
        last = rows[0]
        value = frame.loc[last].dropna().astype(str).iloc[0] if frame.loc[last].notna().any() else ""
        fields = {"count": len(rows), "value": value, "row": rownum([last])[0]}
        if options.strict:
            problems.append(Problem("footer_rows", None, rownum(rows), fields))
        else:
            notes.append(("footer_dropped", fields))
        return typed.drop(index=rows)
    for col, mask in bad.items():
        dates = pd.api.types.is_datetime64_any_dtype(typed[col])
        filled = int((frame[col].notna() & (frame[col].astype("str").str.strip() != "")).sum())
        fields = {"count": int(mask.sum()), "value": frame.loc[mask, col].iloc[0],
                  "rows": _rows_text(rownum(mask.index[mask])), "share": f"{mask.sum() / max(filled, 1):.0%}"}
        if options.strict or mask.sum() > MOSTLY * filled:
            problems.append(Problem("bad_dates" if dates else "not_numbers", col, rownum(mask.index[mask]), fields))
        else:
            notes.append(("bad_dates_missing" if dates else "not_numbers_missing", {"column": col, **fields}))
    return typed


# --- dates -----------------------------------------------------------------------------------------------

ORDER_FLAG = {DAY_FIRST: "--dayfirst", MONTH_FIRST: "--monthfirst"}


def _dates(series: pd.Series, name: str, order: str | None, notes: list, problems: list, rownum, facts: dict,
           strict: bool = False):
    """Timestamps of one column, with each decision parsing took said: the day/month order and why,
    numbers read as dates, time zones, and dates outside the plausible window set missing (``strict``:
    refused). The order the column was read in goes to ``facts["date_orders"]``: the model keeps it, so
    a single served row or a file's last few rows read as the training file did."""
    found = parse_dates(series, order)
    if found.order and found.ambiguous is None and found.order_reason != "conflict":
        facts.setdefault("date_orders", {})[name] = found.order
    present = found.values.dropna()
    if found.ambiguous is not None:
        problems.append(Problem("ambiguous_dates", name, fields={"value": found.ambiguous}))
    elif found.order and found.order_reason in ("field", "steps"):
        example = series[found.values.notna()].iloc[0] if len(present) else ""
        notes.append(("date_order", {"column": name, "order": found.order, "why": found.order_reason,
                                     "value": str(example), "reading": str(present.iloc[0].date()) if len(present) else "",
                                     "flag": ORDER_FLAG[MONTH_FIRST if found.order == DAY_FIRST else DAY_FIRST]}))
    if found.numeric:
        notes.append(("date_numbers", {"column": name, "kind": found.numeric, "value": series.dropna().iloc[0],
                                       "reading": str(present.iloc[0]) if len(present) else ""}))
    if found.timezone:
        notes.append(("date_zones_" + found.timezone, {"column": name}))
    if found.midnight:
        notes.append(("date_end_of_day", {"column": name, "count": found.midnight}))
    outside = found.outside if found.outside is not None else pd.Series(False, index=series.index)
    if outside.any():
        fields = {"count": int(outside.sum()), "value": str(series[outside].iloc[0]),
                  "rows": _rows_text(rownum(outside.index[outside])), "first": WINDOW[0].year, "last": WINDOW[1].year}
        if strict:
            problems.append(Problem("dates_outside", name, rownum(outside.index[outside]), fields))
        else:
            notes.append(("dates_outside", {"column": name, **fields}))
    return found.values, found.bad


# --- values ----------------------------------------------------------------------------------------------

def _sensor_codes(typed: pd.DataFrame, card: Card, options: Options, notes: list) -> pd.DataFrame:
    """Codes a sensor writes for 'no reading' (the card's ``missing_values`` and ``--na``) become missing."""
    for col in card.columns:
        codes = [*col.missing_values, *options.missing_values.get(col.name, [])]
        if not codes or col.name not in typed.columns:
            continue
        values = typed[col.name]
        if col.kind == "numeric":
            wanted = [float(c) for c in codes if _is_number(c)]
            hit = values.isin(wanted)
        else:
            hit = values.astype("str").isin([str(c) for c in codes])
        if hit.any():
            typed[col.name] = values.mask(hit)
            notes.append(("sentinel_missing", {"column": col.name, "count": int(hit.sum()),
                                               "codes": ", ".join(_number(c) if _is_number(c) else repr(c) for c in codes)}))
    return typed


def schema(card: Card, columns) -> pa.DataFrameSchema:
    """The card's physical ranges as a pandera schema over typed columns (missing cells allowed)."""
    spec = {}
    for col in card.columns:
        if col.name not in columns or col.kind != "numeric" or (col.min is None and col.max is None):
            continue
        check = (pa.Check.in_range(col.min, col.max) if col.min is not None and col.max is not None
                 else pa.Check.ge(col.min) if col.min is not None else pa.Check.le(col.max))
        spec[col.name] = pa.Column(float, checks=[check], nullable=True, required=False)
    return pa.DataFrameSchema(spec, strict=False)


def _ranges(typed: pd.DataFrame, card: Card, options: Options, notes: list, problems: list, facts: dict,
            rownum) -> pd.DataFrame:
    """Readings outside a column's physical range, collected by pandera (lazily, every column at once),
    then the card's policy: missing (default), drop-row or error; ``--strict`` and a column that is
    mostly out of range (a wrong unit, not faulty readings) are errors."""
    facts["out_of_range"] = {}
    try:
        schema(card, typed.columns).validate(typed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return typed
    set_missing, drop = {}, pd.Index([])
    for col, group in cases.groupby("column", sort=False):
        spec = card.column(col)
        index = pd.Index(group["index"].dropna().astype(typed.index.dtype))
        fields = {"count": len(index), "value": _number(group["failure_case"].iloc[0]), "unit": spec.unit or "",
                  "range": _range_text(spec), "rows": _rows_text(rownum(index))}
        policy = "error" if options.strict else card.out_of_range_policy(col)
        if policy == "error" or len(index) > MOSTLY * typed[col].notna().sum():
            problems.append(Problem("out_of_range", col, rownum(index), fields))
        elif policy == "drop-row":
            drop = drop.union(index)
            notes.append(("out_of_range_dropped", {"column": col, **fields}))
        else:
            typed.loc[index, col] = np.nan
            set_missing[col] = fields
        facts["out_of_range"][col] = len(index)
    if set_missing:
        def listing(lang: str) -> str:
            shape = RANGE_ITEM[lang]
            return "; ".join(shape.format(column=c, **{**f, "row": f["rows"].split(",")[0]}).replace("  ", " ")
                             for c, f in set_missing.items())
        notes.append(("out_of_range_missing", {"count": sum(f["count"] for f in set_missing.values()),
                                               "columns": len(set_missing), "listing": listing}))
    return typed.drop(index=drop) if len(drop) else typed


RANGE_ITEM = {"en": "{column} {count} (range {range} {unit}, e.g. {value} in row {row})",
              "ko": "{column} {count}개 (범위 {range} {unit}, 예: {row}행의 {value})"}


def _empty_columns(typed: pd.DataFrame, card: Card, required: list[str], notes: list, problems: list,
                   target: str) -> pd.DataFrame:
    """A column with no value left in any row: refused when required, else the model does without it."""
    for col in [c for c in typed.columns if c != target and typed[c].isna().all()]:
        if col in required:
            problems.append(Problem("all_missing", col))
        else:
            notes.append(("empty_column", {"column": col}))
            typed = typed.drop(columns=col)
    return typed


SENTINEL_CODES = {-99999.0, -9999.0, -999.0, 999.0, 9999.0, 99999.0, 65535.0, 32767.0, -32768.0}


def _likely_sentinels(typed: pd.DataFrame, card: Card, notes: list) -> None:
    """A value repeated in many rows (but not most) beyond the end of a continuous reading's range,
    apart from the other readings (far from them, or repeated far more often than any of them: a sensor
    that writes 0 or 1449 when it has nothing), is said, not changed: the plant knows whether it is real.
    Flags, set points and counters (few distinct values) are never suspected."""
    for col in card.columns:
        if col.kind != "numeric" or col.name not in typed.columns or col.missing_values:
            continue
        present = typed[col.name].dropna()
        if len(present) < 50:
            continue
        for value in {float(present.max()), float(present.min())}:
            count = int((present == value).sum())
            rest = present[present != value]
            if not max(5, 0.01 * len(present)) <= count <= 0.5 * len(present) or rest.nunique() < 20:
                continue
            low, high = float(rest.quantile(0.01)), float(rest.quantile(0.99))
            spread = max(high - low, 1e-9)
            gap = value - float(rest.max()) if value > high else float(rest.min()) - value
            repeated = count >= 2 * int(rest.value_counts().iloc[0])  # far more often than any real reading
            if _property_of_its_units(typed, card, col.name, value):
                continue
            if gap > 0.1 * spread and (value in SENTINEL_CODES or gap > 3 * spread or repeated):
                notes.append(("likely_sentinel", {"column": col.name, "value": _number(value), "count": count,
                                                  "share": f"{count / len(present):.1%}", "low": _number(low),
                                                  "high": _number(high)}))


def _property_of_its_units(typed: pd.DataFrame, card: Card, column: str, value: float) -> bool:
    """The value is what the column reads throughout each unit that has it (a steel grade's silicon,
    repeated in every trial of that grade): a property of the unit, not a sensor's code."""
    group = card.group.column if card.group else None
    if not group or group not in typed.columns:
        return False
    units = typed.loc[typed[column] == value, group].dropna().unique()
    rows = typed[typed[group].isin(units)]
    return len(units) > 0 and bool((rows.groupby(group)[column].nunique(dropna=True) <= 1).all())


# --- target and split ------------------------------------------------------------------------------

ABSURD = 1e6  # a target this many interquartile ranges from its median measures something else
SQUARE_OVERFLOW = 1e150  # beyond this a squared error (what regression minimises) is no longer a float


def _target_values(y: pd.Series, card: Card, rownum) -> list[Problem]:
    """A number to learn must be one the plant measured: refuse infinity, values outside the card's target
    range where the card gives one, and else values absurdly far from the rest: more than ABSURD times the
    interquartile range from the median (the 1st-99th percentile range when most values are equal), or too
    large to square. No measured quantity spreads like that; a unit error, a code or an overflow does."""
    if card.task in ("binary", "multiclass", "anomaly") or y.empty:
        return []
    values = y.to_numpy(dtype=float)
    name = card.target.column

    def problem(code: str, wrong: np.ndarray, **fields) -> list[Problem]:
        return [Problem(code, name, rows=rownum(y.index[wrong]),
                        fields={"count": int(wrong.sum()), "value": _number(values[wrong][0]), **fields})]

    if not np.isfinite(values).all():
        return problem("target_not_finite", ~np.isfinite(values))
    low, high = getattr(card.target, "min", None), getattr(card.target, "max", None)  # a card's target range
    if low is not None or high is not None:
        outside = (values < (-np.inf if low is None else low)) | (values > (np.inf if high is None else high))
        return problem("target_outside", outside, range=_range_text(card.target), unit=card.target.unit or "") \
            if outside.any() else []
    q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
    spread = q3 - q1 or np.subtract(*np.quantile(values, [0.99, 0.01])) or max(abs(median), 1.0)
    absurd = (np.abs(values - median) > ABSURD * spread) | (np.abs(values) > SQUARE_OVERFLOW)
    return problem("target_absurd", absurd, low=_number(q1), high=_number(q3), times=int(ABSURD)) if absurd.any() else []


# How plants write "defect" and "good" in a two-label target column (casefolded): a card says 1, a
# file says 고장 / 정상, NG / OK, 불량 / 양품. Not Y/N, yes/no, true/false or 1/0: whether those mean a
# defect depends on the column's question ("passed?" or "defective?"), which only the user knows.
DEFECT_WORDS = {"불량", "불", "고장", "이상", "부적합", "불합격", "ng", "n.g.", "nok", "fail", "failed", "failure", "fault",
                "faulty", "defect", "defective", "bad", "abnormal", "reject", "rejected", "scrap",
                "x", "×", "✕", "✗"}  # a Korean check sheet's X
GOOD_WORDS = {"정상", "양품", "양", "양호", "적합", "합격", "ok", "o.k.", "pass", "passed", "good", "normal", "accept",
              "accepted", "o", "○", "◯", "✓", "✔"}  # and its O


def _target_by_its_words(frame: pd.DataFrame, card: Card, mapping, notes: list):
    """A pass/fail card whose target the file names its own way (판정, 양불, 검사결과, OK/NG): where the target
    is absent and exactly one unused column holds a good word and a defect word and nothing else, that
    column is the target, with a note naming the --map that says otherwise. --strict never guesses."""
    target = card.target.column
    if card.task != "binary" or target in frame.columns or frame.empty:
        return frame, mapping
    found = []
    for name in [c for c in mapping.extras if c in frame.columns][:200]:
        values = frame[name].dropna()
        if pd.api.types.is_numeric_dtype(values) or values.empty:
            continue
        words = set(values.astype(str).str.strip().str.casefold().unique())
        if len(words) == 2 and len(words & DEFECT_WORDS) == 1 and len(words & GOOD_WORDS) == 1:
            found.append(name)
    if len(found) != 1:
        return frame, mapping
    notes.append(("target_by_words", {"target": target, "column": found[0], "ko": card.target.ko or target}))
    return (frame.rename(columns={found[0]: target}),
            replace(mapping, extras=[c for c in mapping.extras if c != found[0]]))


def _without_fault_labels(frame: pd.DataFrame, card: Card, notes: list) -> pd.DataFrame:
    """Most plants have no record of their faults: an anomaly card learns the normal behaviour from the
    signals alone. Where the fault column is absent, every row is taken as normal operation (with a note
    of what that means); the alarm threshold then comes from the scores (tuning.choose_threshold)."""
    target = card.target.column
    if card.task != "anomaly" or target in frame.columns or frame.empty or not _is_number(card.target.positive):
        return frame
    notes.append(("anomaly_without_labels", {"target": target, "ko": card.target.ko or target}))
    return frame.assign(**{target: 0 if card.target.positive != 0 else 1})


SECONDS = {"s": 1, "min": 60, "h": 3600, "hours": 3600, "d": 86400, "day": 86400, "days": 86400, "일": 86400}


def _rul_from_run_to_failure(frame: pd.DataFrame, card: Card, notes: list, problems: list,
                             failed: str | None = None) -> pd.DataFrame:
    """A life card's file of histories without the remaining life (C-MAPSS's train files, a plant's log of
    pumps run until they were replaced): each unit's rows are taken as a run to failure and the target is
    the age left to its last row, counted by a column in the target's unit (cycle, run_days) or else by the
    time column (the target in h, min or days), with a note. ``failed`` (--failed) names the units that
    did fail; the others stopped running first (a test rig stopped, a pump still in service), so their
    remaining life is known only to be above what they had left, which is the card's cap where that is
    at least the cap, and unknown (the row left out) elsewhere. --strict never assumes it."""
    target, group = card.target.column, card.group.column if card.group else None
    if card.task != "rul" or target in frame.columns or group not in frame.columns or frame.empty:
        return frame
    unit = unit_key(card.target.unit)
    ages = [c.name for c in card.columns if c.name in frame.columns and c.kind == "numeric" and unit_key(c.unit) == unit]
    if ages:
        age = parse_numbers(frame[ages[0]], card.column(ages[0]).unit)[0]
        by = ages[0]
    elif card.time and card.time.column in frame.columns and unit in SECONDS:
        stamps = parse_dates(frame[card.time.column]).values
        age = (stamps - stamps.min()).dt.total_seconds() / SECONDS[unit]
        by = card.time.column
    else:
        return frame
    units = frame[group].astype(str)
    last = age.groupby(units).transform("max")
    left = last - age
    if left.notna().mean() < 0.9:
        return frame
    named = [u.strip() for u in (failed or "").split(",") if u.strip()]
    if not named:
        notes.append(("rul_from_run_to_failure", {"target": target, "group": group, "by": by, "units": int(units.nunique())}))
        ends = last.groupby(units).first()
        if card.time and by == card.time.column and len(ends) >= 2 and ends.nunique() == 1:
            # every unit ends at one moment: where the log ends (a rig stopped), not where each one failed
            notes.append(("rul_same_end", {"group": group, "units": len(ends), "end": str(stamps.max())}))
        return frame.assign(**{target: left})
    written = set(units)
    unknown = [u for u in named if u not in written]
    if unknown:
        problems.append(Problem("failed_units_unknown", group, fields={
            "group": group, "names": ", ".join(map(repr, unknown[:4])), "units": ", ".join(sorted(written)[:8])}))
        return frame
    ran_out = units.isin(named)
    cap = card.target.clip
    known = ran_out | (left >= cap - 1e-9) if cap is not None else ran_out  # 48 h left, read off a clock in float
    rul = left.where(ran_out, cap).where(known)
    notes.append(("rul_censored", {"target": target, "group": group, "by": by, "failed": len(named),
                                   "others": int(units[~ran_out].nunique()), "unknown": int((~known).sum()),
                                   "cap": {"en": f"the card's cap of {cap:g} {card.target.unit or ''}".strip(),
                                           "ko": f"카드의 상한 {cap:g} {card.target.unit or ''}".strip()}
                                   if cap is not None else {"en": "no cap on the card", "ko": "카드에 상한 없음"}}))
    return frame.assign(**{target: rul})


def _target_from_flags(frame: pd.DataFrame, card: Card, mapping, notes: list):
    """A class card whose target the file writes as a 0/1 flag column per class (스크래치, 찍힘, 기포; the UCI
    steel plates' Pastry_Fault, ...): where the target is absent and the unused columns of only 0 and 1
    (at least two) flag exactly one in every row, the flagged column's name is the row's class, with a
    note. --strict never guesses."""
    target = card.target.column
    if card.task != "multiclass" or target in frame.columns or frame.empty:
        return frame, mapping
    flags = [c for c in [c for c in mapping.extras if c in frame.columns][:200]
             if pd.api.types.is_numeric_dtype(frame[c]) and frame[c].notna().all() and frame[c].isin((0, 1)).all()]
    if len(flags) < 2 or not (frame[flags].sum(axis=1) == 1).all():
        return frame, mapping
    notes.append(("target_from_flags", {"target": target, "ko": card.target.ko or target, "count": len(flags),
                                        "columns": _names(flags)}))
    classes = pd.Series(np.asarray(flags, dtype=object)[frame[flags].to_numpy().argmax(axis=1)], index=frame.index)
    return (frame.drop(columns=flags).assign(**{target: classes.astype("str")}),
            replace(mapping, extras=[c for c in mapping.extras if c not in flags]))


def _defect_label(y: pd.Series, card: Card, options: Options, notes: list, facts: dict) -> tuple[pd.Series, list[Problem]]:
    """A two-label target in the card's words: the file's defect label (--positive, else the card's, else
    the one a plant's words name: 고장 against 정상, NG against OK) becomes the card's, so notebooks and
    the tuner read the file as they read the reference data; said in a note. --strict never guesses."""
    labels = y.dropna().unique().tolist() if card.task in ("binary", "anomaly") else []
    if len(labels) != 2:
        return y, []  # one label or many: _target_problems says why no model can learn from it
    positive = card.target.positive
    chosen = None
    if options.positive is not None:
        found = [v for v in labels if str(v) == options.positive or is_positive(pd.Series([v]), options.positive).all()]
        if not found:
            return y, [Problem("positive_option_missing", card.target.column,
                               fields={"positive": options.positive, "labels": ", ".join(map(repr, labels))})]
        chosen = found[0]
        notes.append(("positive_override", {"positive": chosen, "card_positive": positive}))
    elif not is_positive(y, positive).any() and not options.strict:
        words = [str(v).strip().casefold() for v in labels]
        defect = [v for v, w in zip(labels, words) if w in DEFECT_WORDS]
        good = [v for v, w in zip(labels, words) if w in GOOD_WORDS]
        if len(defect) == 1 and len(good) == 1 and defect != good:
            chosen = defect[0]
            notes.append(("positive_from_file", {"positive": chosen, "good": good[0], "card_positive": positive}))
    if chosen is None:
        return y, []
    facts["positive"] = str(chosen)
    [other] = [v for v in labels if str(v) != str(chosen)]
    plain = lambda v: v.item() if hasattr(v, "item") else v  # noqa: E731 - numpy scalars into JSON-ready facts
    facts["labels"] = [plain(other), plain(chosen)]  # the model answers in the file's words: [good, defect]
    is_defect = (y.astype(str) == str(chosen)).to_numpy()
    if isinstance(positive, (int, float)) and not isinstance(positive, bool):  # a 0/1 card column stays numbers
        good = 0 if positive != 0 else 1
    else:  # the other label as the file writes it, unless that is the card's word for a defect (an inverted Y/N)
        good = f"not {positive}" if str(other) == str(positive) else other
    return pd.Series(np.where(is_defect, positive, good), index=y.index), []


def _target_problems(typed: pd.DataFrame, card: Card, facts: dict) -> list[Problem]:
    target = card.target.column
    y = typed[target]
    if y.empty:
        return [Problem("no_target", target)]
    if card.task in ("binary", "multiclass", "anomaly"):
        counts = y.value_counts()
        facts["classes"] = {str(k): int(v) for k, v in counts.items()}
        if len(counts) < 2 and card.task == "anomaly" and not is_positive(y, card.target.positive).any():
            facts["no_faults"] = counts.index[0].item() if hasattr(counts.index[0], "item") else counts.index[0]
        elif len(counts) < 2:
            return [Problem("one_class", target, fields={"label": counts.index[0], "count": int(counts.iloc[0])})]
        if card.task in ("binary", "anomaly"):
            labels = ", ".join(map(repr, counts.index[:6].tolist()))
            if len(counts) > 2:
                return [Problem("too_many_classes", target, fields={"count": len(counts), "labels": labels})]
            if not is_positive(y, card.target.positive).any() and "no_faults" not in facts:
                return [Problem("positive_missing", target, fields={"positive": card.target.positive, "labels": labels})]
    minimum = max(MIN_ROWS, 2 * card.split.folds + 2)
    if len(y) < minimum:
        return [Problem("too_few_rows", target, fields={"count": len(y), "minimum": minimum, "folds": card.split.folds})]
    blocker = split_blocker(typed, card)
    facts["split"] = blocker[0] if blocker else "ok"
    return [Problem(blocker[0], None, fields=blocker[1])] if blocker else []


def _split_without_late_events(typed: pd.DataFrame, usable: Card, card: Card, options: Options,
                               found: list[Problem], notes: list, facts: dict) -> tuple[Card, list[Problem]]:
    """A time split whose latest half holds no defect cannot judge a model, but the file still teaches
    one: the card's fallback split is used instead, with a note, unless --split time or --strict asks
    for the time split (then the problem stands)."""
    blocked = [p for p in found if p.code == "split_no_positive_in_test"]
    if not blocked or options.strict or options.split == "time" or card.fallback_split == "time":
        return usable, found
    from .splits import MOST_TEST

    fallback = usable.model_copy(update={"split": usable.split.model_copy(update={"kind": card.fallback_split})})
    if split_blocker(typed, fallback) is not None:  # the fallback is not possible either: the time problem stands
        return usable, found
    fields = blocked[0].fields
    notes.append(("split_no_late_events", {"start": fields["start"], "share": f"{MOST_TEST:.0%}",
                                           "positive": fields["positive"], "fallback": card.fallback_split}))
    facts["split"] = "ok"
    return fallback, [p for p in found if p is not blocked[0]]


def split_blocker(typed: pd.DataFrame, card: Card) -> tuple[str, dict] | None:
    """Why the card's split cannot be made on these rows (a message code and its fields), or None."""
    y = typed[card.target.column]
    kind = card.split.kind
    if kind == "stratified":
        counts = y.value_counts()
        if counts.min() < 3:
            return "split_class_too_small", {"label": counts.idxmin(), "count": int(counts.min())}
    if kind == "group":
        groups = typed[card.group.column].nunique()
        if groups < 3:
            return "split_few_groups", {"count": groups, "group_column": card.group.column}
    no_faults = card.task == "anomaly" and not is_positive(y, card.target.positive).any()  # unlabelled: no test of alarms
    if kind == "time" and card.task in ("binary", "anomaly") and card.time and card.time.column in typed.columns \
            and not no_faults:
        from .splits import test_share_for_events

        order = typed.sort_values(card.time.column, kind="stable")
        positive = is_positive(order[card.target.column], card.target.positive).to_numpy()
        # the test period the run will use: the card's, reaching further back (up to half the rows) when
        # the latest rows hold too few events (tuning._enough_test_events); refused only when even that has none
        share = test_share_for_events(card, order.reset_index(drop=True), positive.astype(float))
        cut = int(round(len(order) * (1 - share)))
        start = order[card.time.column].iloc[cut]
        fields = {"share": f"{share:.0%}", "start": start, "positive": card.target.positive}
        if not positive[cut:].any():
            return "split_no_positive_in_test", fields
        if card.task == "binary" and not positive[:cut].any():
            return "split_no_positive_in_train", fields
    return None


def _time_problems(typed: pd.DataFrame, card: Card, rownum, notes: list, facts: dict,
                   lost_group: str | None = None) -> list[Problem]:
    """A forecast reads rows as a series: repeated or backward time stamps are errors there (when the
    card's group column, ``lost_group``, is not in the file, repeats mean several series mixed); other
    cards are sorted by time, with a note. Without the finer clock (``time.within``, the hour of a
    date) the rows of one date keep the file's order."""
    col = card.time.column
    keys = [typed[card.group.column]] if card.group and card.group.column in typed.columns else []
    typed[col] = _midnight_ends_the_day(typed[col], keys, notes, rownum, col)
    times = typed[col]
    facts["time"] = {"first": str(times.min()), "last": str(times.max())}
    clock = [c for c in (col, card.time.within) if c and c in typed.columns]
    dup = typed.duplicated(subset=[c for c in (card.group.column if keys else None, *clock) if c], keep=False) & times.notna()
    if card.time.within and card.time.within not in typed.columns:
        notes.append(("within_file_order", {"column": col, "within": card.time.within}))
        dup[:] = False
    # Rank (date, hour, ...) tuples so dates, order numbers and split clocks compare the same way.
    codes = (pd.factorize(typed[col], sort=True)[0] if len(clock) == 1  # one column: 10x faster than a MultiIndex
             else pd.MultiIndex.from_frame(typed[clock]).factorize(sort=True)[0])
    rank = pd.Series(codes, index=typed.index, dtype=float)
    rank[times.isna()] = np.nan
    backwards = (rank.groupby(keys[0]).diff() if keys else rank.diff()) < 0
    facts["time"].update(duplicates=int(dup.sum()), out_of_order=int(backwards.sum()))
    if card.task != "forecast":
        if backwards.any():
            notes.append(("sorted_by_time", {"count": int(backwards.sum()), "column": col}))
        if dup.any():
            notes.append(("same_time", {"count": int(dup.sum()), "column": col}))
        return []
    if dup.any() and lost_group:
        first = dup.idxmax()
        return [Problem("series_mixed", lost_group, rownum(dup.index[dup]), {
            "count": int(dup.sum()), "value": times[first], "time_column": col, "group_column": lost_group})]
    if dup.any():
        first = dup.idxmax()
        return [Problem("duplicate_times", col, rownum(dup.index[dup]), {"count": int(dup.sum()), "value": times[first]})]
    if backwards.any():
        at = backwards.idxmax()
        prev = typed.index[typed.index.get_loc(at) - 1]
        return [Problem("time_order", col, rownum([at]), {
            "row": rownum([at])[0], "value": times[at], "prev_row": rownum([prev])[0], "prev_value": times[prev],
            "time_column": col})]
    return []


def _midnight_ends_the_day(times: pd.Series, keys: list, notes: list, rownum, col: str) -> pd.Series:
    """Meters that stamp each interval with its end write the last one of a day as '01/01 00:00' after
    '01/01 23:45': when every step back in time is such a midnight, and the next day's midnight puts it
    in order, it is read so (with a note)."""
    if not pd.api.types.is_datetime64_any_dtype(times):
        return times
    previous = times.groupby(keys[0]).shift(1) if keys else times.shift(1)
    back = (times < previous).to_numpy()
    if not back.any():
        return times
    midnight = (times == times.dt.normalize()).to_numpy()
    if (back & ~midnight).any():
        return times
    moved = times.mask(back, times + pd.Timedelta(days=1))
    following = moved.groupby(keys[0]).shift(-1) if keys else moved.shift(-1)
    if ((moved <= previous) | (moved > following.fillna(moved)))[back].any():
        return times
    first = times.index[back][0]
    notes.append(("midnight_next_day", {"count": int(back.sum()), "column": col, "row": rownum([first])[0],
                                        "value": str(times[first]), "prev_value": str(previous[first])}))
    return moved


# --- wording helpers -------------------------------------------------------------------------------

def _missing_listing(card: Card, missing: list[str], mapping: Mapping):
    """The missing columns with their Korean names and the closest user columns, worded per language."""
    def listing(lang: str) -> str:
        parts = []
        for name in missing[:6]:
            ko = card.target.ko if name == card.target.column else card.column(name).ko
            close = mapping.suggestions.get(name) or []
            parts.append(name + (f" / {ko}" if ko else "")
                         + (f" ({messages.CLOSEST[lang]}: {', '.join(close)})" if close else ""))
        return "; ".join(parts) + ("; ..." if len(missing) > 6 else "")
    return listing


def _names(names: list[str], limit: int = 8) -> str:
    return ", ".join(names[:limit]) + (f" ... (+{len(names) - limit})" if len(names) > limit else "")


def _rows_text(rows: list[int]) -> str:
    return ", ".join(str(r) for r in rows)


def _number(value) -> str:
    value = float(value)
    return f"{value:g}"


def _is_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _range_text(spec) -> str:
    return f"[{_number(spec.min) if spec.min is not None else ''}, {_number(spec.max) if spec.max is not None else ''}]"
