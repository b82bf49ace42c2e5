"""Validate a mapped frame against its card: the one place where ``check``, ``run`` and ``predict``
decide whether a file is usable.

Three steps: parse the text a factory export holds (thousands separators, Korean and ISO dates) into
typed columns, noting every cell that does not parse; check the typed frame against a pandera schema
built from the card (required columns present, ranges, no column empty throughout); then the checks
a schema cannot express (target classes, whether the card's split is possible, time order for a
forecast). Every finding is a ``Problem`` with a code from pipelines/messages.py, the column and a few
row numbers as the spreadsheet shows them; ``validate`` raises the first as one paragraph,
``inspect`` returns them all with the facts a report shows.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa

from . import messages
from .cards import Card
from .errors import DataError
from .mapping import Mapping, match
from .reading import header_line

log = logging.getLogger("pipelines.data")

MIN_ROWS = 20  # below this no split into train, test and CV folds says anything
MISSING_TEXT = {"", "-", "--", "n/a", "na", "nan", "null", "none", "#n/a", "결측", "없음"}


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
    """What validation found: the typed frame (None when there are problems), problems, notes, facts."""

    frame: pd.DataFrame | None
    problems: list[Problem]
    notes: list[tuple[str, dict]]
    facts: dict
    mapping: Mapping | None = None

    def raise_first(self, source, card: Card, lang: str | None = None) -> None:
        if not self.problems:
            return
        err = self.problems[0].error(source, lang)
        if len(self.problems) > 1:
            more = messages.MORE[messages.lang_or_default(lang)].format(count=len(self.problems) - 1, card=card.id,
                                                                         file=source)
            err.args = (err.args[0] + more,)
        raise err


def validate(frame: pd.DataFrame, card: Card, source, with_target: bool = True, lang: str | None = None) -> pd.DataFrame:
    """Keep the card's columns, typed and sorted; raise DataError naming the column and the fix otherwise.
    ``with_target=False`` validates new data for prediction (the target is not needed then)."""
    found = inspect(frame, card, source, with_target=with_target)
    found.raise_first(source, card, lang)
    for code, fields in found.notes:
        log.info(messages.note(code, lang, **fields))
    return found.frame


def inspect(frame: pd.DataFrame, card: Card, source, with_target: bool = True) -> Inspection:
    problems: list[Problem] = []
    notes: list[tuple[str, dict]] = []
    first_line = header_line(frame) + 1
    rownum = lambda idx: [int(i) + first_line for i in list(idx[:3])]  # noqa: E731 - spreadsheet row numbers
    mapping = frame.attrs.get("mapping") or match(frame.columns, card, None, source, with_target=with_target)
    target = card.target.column

    missing = [c.name for c in card.columns if c.required and c.name not in frame.columns]
    if with_target and target not in frame.columns:
        missing.append(target)
    if missing:
        problems.append(Problem("missing_columns", missing[0], fields={
            "count": len(missing), "listing": _missing_listing(card, missing, mapping)}))
    if mapping.extras:
        notes.append(("extra_columns", {"count": len(mapping.extras), "names": _names(mapping.extras)}))
    absent = [c.name for c in card.columns if not c.required and c.name not in frame.columns]
    if absent:
        notes.append(("optional_absent", {"names": _names(absent)}))

    # 1. parse text into types, remembering cells that do not parse
    specs = [c for c in card.columns if c.name in frame.columns]
    typed = pd.DataFrame(index=frame.index)
    bad: dict[str, pd.Series] = {}
    for col in specs:
        if col.kind == "numeric":
            typed[col.name], bad[col.name] = parse_numbers(frame[col.name])
        elif col.kind == "datetime":
            typed[col.name], bad[col.name], ambiguous = parse_dates(frame[col.name])
            if ambiguous:
                problems.append(Problem("ambiguous_dates", col.name, fields={"value": ambiguous}))
        else:
            typed[col.name] = _text(frame[col.name])
    has_target = with_target and target in frame.columns
    if has_target:
        if card.task in ("binary", "multiclass", "anomaly"):
            typed[target] = class_labels(frame[target])
        else:
            typed[target], bad[target] = parse_numbers(frame[target])
    problems += _parse_problems(frame, bad, rownum)

    # 2. the schema: ranges, and no required column empty throughout
    problems += _schema_problems(typed, card, rownum)

    # 3. what a schema cannot say
    facts = {"rows": len(frame), "missing": typed.isna().sum().to_dict()}
    parsed = lambda col: col not in bad or not bad[col].any()  # noqa: E731
    if has_target and parsed(target):
        unlabelled = int(typed[target].isna().sum())
        if unlabelled:
            notes.append(("unlabelled_rows", {"count": unlabelled}))
        typed = typed[typed[target].notna()]
        problems += _target_problems(typed, card, facts)
    if card.time and card.time.column in typed.columns and parsed(card.time.column) and not any(
            p.code == "ambiguous_dates" for p in problems):
        problems += _time_problems(typed, card, rownum, notes, facts)
    twice = typed.duplicated() if len(typed.columns) else pd.Series(False, index=typed.index)
    duplicated = int(twice.sum())
    if duplicated:
        notes.append(("duplicate_rows", {"count": duplicated, "rows": _rows_text(rownum(typed.index[twice]))}))
    facts["duplicates"] = duplicated
    if problems:
        return Inspection(None, problems, notes, facts, mapping)

    keep = [c.name for c in card.columns if c.name in typed.columns] + ([target] if has_target else [])
    typed = typed[keep]
    order = [c for c in (card.group.column if card.group else None, card.time.column if card.time else None)
             if c and c in typed.columns]
    if order:
        typed = typed.sort_values(order, kind="stable")
    facts["rows_used"] = len(typed)
    return Inspection(typed.reset_index(drop=True), problems, notes, facts, mapping)


# --- parsing ---------------------------------------------------------------------------------------

def parse_numbers(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Floats, and a mask of cells that hold something that is not a number. Thousands separators
    (1,234.5), full-width digits, a Unicode minus and spaces are accepted; '-' and blanks are missing."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.astype(float), pd.Series(False, index=series.index)
    text = series.map(lambda v: v if pd.isna(v) else unicodedata.normalize("NFKC", str(v)).strip())
    text = text.astype("str").str.replace("\u2212", "-", regex=False)
    text = text.str.replace(r"(?<=\d),(?=\d{3}(?:\D|$))", "", regex=True)
    text = text.mask(text.str.lower().isin(MISSING_TEXT))
    values = pd.to_numeric(text, errors="coerce").astype(float)
    return values, text.notna() & values.isna()


_KO_DATE = re.compile(r"(\d{4})\s*년\s*(\d{1,2})\s*월\s*(\d{1,2})\s*일")
_DOT_DATE = re.compile(r"^(\d{4})\s*[.\-/]\s*(\d{1,2})\s*[.\-/]\s*(\d{1,2})\.?(?=\s|$|T)")
_KO_TIME = re.compile(r"(\d{1,2})\s*시(?:\s*(\d{1,2})\s*분)?(?:\s*(\d{1,2})\s*초)?")
_AMPM = re.compile(r"(오전|오후|AM|PM|am|pm)\s*(\d{1,2}:\d{2}(?::\d{2})?)")
_WEEKDAY = re.compile(r"\s*\((?:월|화|수|목|금|토|일|Mon|Tue|Wed|Thu|Fri|Sat|Sun)\)")
_SLASH = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2,4})")
_PLAIN_ISO = r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"  # ASCII digits only
_FORMATS = ["ISO8601", "%Y-%m-%d %I:%M:%S %p", "%Y-%m-%d %I:%M %p", "%Y%m%d%H%M%S", "%Y%m%d"]
_MONTH_FIRST = ["%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%m/%d/%y %H:%M", "%m/%d/%y"]
_DAY_FIRST = [f.replace("%m/%d", "%d/%m") for f in _MONTH_FIRST]


def _iso_date(match: re.Match) -> str:
    return f"{match[1]}-{int(match[2]):02d}-{int(match[3]):02d}"


def _date_text(value: str) -> str:
    """Korean and dotted dates to ISO: '2024년 1월 2일 (화) 오후 6시 5분' -> '2024-01-02 6:05:00 PM'."""
    value = _WEEKDAY.sub("", unicodedata.normalize("NFKC", value).strip())
    value = _KO_DATE.sub(_iso_date, value)
    value = _DOT_DATE.sub(_iso_date, value)
    value = _KO_TIME.sub(lambda m: f"{m[1]}:{int(m[2] or 0):02d}:{int(m[3] or 0):02d}", value)
    value = _AMPM.sub(lambda m: f"{m[2]} {'AM' if m[1] in ('오전', 'AM', 'am') else 'PM'}", value)
    return re.sub(r"\s+", " ", value)


def parse_dates(series: pd.Series) -> tuple[pd.Series, pd.Series, str | None]:
    """Timestamps, a mask of cells that are not dates, and an example value when day/month order is
    undecidable (every date fits both). ISO, Korean (2024년 1월 2일 06:00, 2024.01.02, 오전/오후) and
    slashed dates are read; each distinct text is parsed once."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return series, pd.Series(False, index=series.index), None
    present = series.notna() & (series.astype("str").str.strip() != "")
    texts = series[present]
    if not pd.api.types.is_string_dtype(texts):  # datetime objects from Excel, numbers such as 20240501
        texts = texts.map(lambda v: v.isoformat(sep=" ") if hasattr(v, "isoformat") else str(v))
    codes, distinct = pd.factorize(texts)
    unique = pd.Series(distinct)
    if unique.empty:
        return pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]"), pd.Series(False, index=series.index), None
    clean = unique.astype("str")
    plain = clean.str.fullmatch(_PLAIN_ISO).fillna(False).to_numpy(dtype=bool)  # most machine exports
    if not plain.all():  # Korean, dotted, AM/PM: normalised value by value, only where needed
        clean[~plain] = clean[~plain].map(_date_text)
    slashed = clean[~plain].str.extract(_SLASH).dropna().astype(int)  # plain ISO has no slashes: skip it
    formats, ambiguous = list(_FORMATS), None
    if len(slashed):
        if (slashed[0] > 12).any():
            formats += _DAY_FIRST
        elif (slashed[1] > 12).any():
            formats += _MONTH_FIRST
        else:
            formats += _MONTH_FIRST
            ambiguous = unique[slashed.index[0]]
    parsed = pd.Series(pd.NaT, index=clean.index, dtype="datetime64[ns]")
    for fmt in formats:
        todo = parsed.isna()
        if not todo.any():
            break
        parsed[todo] = pd.to_datetime(clean[todo], format=fmt, errors="coerce").astype("datetime64[ns]")
    values = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
    values[present] = parsed.to_numpy()[codes]
    return values, present & values.isna(), ambiguous


def _text(series: pd.Series) -> pd.Series:
    """Text, stripped, missing kept missing: str(v).strip() for every cell, vectorised (a million rows
    of labels in 0.2 s rather than 1 s)."""
    return series.astype("str").str.strip()


def class_labels(series: pd.Series) -> pd.Series:
    """Class labels as the file has them (numbers stay numbers), text stripped, blanks missing."""
    if pd.api.types.is_numeric_dtype(series):
        return series
    text = _text(series)
    text = text.mask(text.str.lower().isin(MISSING_TEXT))
    numbers = pd.to_numeric(text, errors="coerce")
    return numbers if numbers.notna().sum() == text.notna().sum() else text


def is_positive(series: pd.Series, positive) -> pd.Series:
    """Same comparison as the tuner's: labels read as text or numbers against the card's value."""
    try:
        return pd.to_numeric(series, errors="raise") == float(positive)
    except (ValueError, TypeError):
        return series.astype(str) == str(positive)


def _parse_problems(frame: pd.DataFrame, bad: dict[str, pd.Series], rownum) -> list[Problem]:
    """Cells that do not parse: a footer (totals, notes) when they all sit in the last rows, else per column."""
    bad = {c: m for c, m in bad.items() if m.any()}
    if not bad:
        return []
    rows = sorted(set().union(*(m.index[m] for m in bad.values())))
    tail = list(frame.index[-len(rows):]) if len(rows) <= 5 else []
    if tail and rows == sorted(tail) and len(frame) > len(rows):
        col, mask = next(iter(bad.items()))
        last = rows[0]
        value = frame.loc[last].dropna().astype(str).iloc[0] if frame.loc[last].notna().any() else ""
        return [Problem("footer_rows", None, rownum(rows), {"count": len(rows), "value": value,
                                                              "row": rownum([last])[0]})]
    out = []
    for col, mask in bad.items():
        code = "bad_dates" if pd.api.types.is_datetime64_any_dtype(frame[col]) or _looks_like_date_col(frame[col], mask) else "not_numbers"
        out.append(Problem(code, col, rownum(mask.index[mask]),
                           {"count": int(mask.sum()), "value": frame.loc[mask, col].iloc[0]}))
    return out


def _looks_like_date_col(series: pd.Series, bad: pd.Series) -> bool:
    return bool(series[~bad].dropna().astype(str).str.match(r"^\d{4}\D\d{1,2}\D\d{1,2}").any())


# --- the schema ------------------------------------------------------------------------------------

def schema(card: Card, columns) -> pa.DataFrameSchema:
    """The card as a pandera schema over typed columns: numbers within [min, max], and no required
    column empty in every row. Missing cells are allowed (the boosters handle them)."""
    not_empty = pa.Check(lambda s: bool(s.notna().any()), element_wise=False, ignore_na=False, name="all_missing")
    spec = {}
    for col in card.columns:
        if col.name not in columns:
            continue
        checks = [not_empty] if col.required else []
        if col.kind == "numeric":
            if col.min is not None and col.max is not None:
                checks.append(pa.Check.in_range(col.min, col.max))
            elif col.min is not None:
                checks.append(pa.Check.ge(col.min))
            elif col.max is not None:
                checks.append(pa.Check.le(col.max))
        spec[col.name] = pa.Column(float if col.kind == "numeric" else None, checks=checks, nullable=True,
                                   required=False)
    return pa.DataFrameSchema(spec, strict=False)


def _schema_problems(typed: pd.DataFrame, card: Card, rownum) -> list[Problem]:
    try:
        schema(card, typed.columns).validate(typed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return []
    out = []
    for (col, check), group in cases.groupby(["column", "check"], sort=False):
        if check == "all_missing":
            out.append(Problem("all_missing", col))
            continue
        spec = card.column(col)
        index = group["index"].dropna()
        out.append(Problem("out_of_range", col, rownum(index), {
            "count": len(group), "value": _number(group["failure_case"].iloc[0]), "unit": spec.unit or "",
            "range": f"[{_number(spec.min) if spec.min is not None else ''}, {_number(spec.max) if spec.max is not None else ''}]"}))
    return out


# --- target and split ------------------------------------------------------------------------------

def _target_problems(typed: pd.DataFrame, card: Card, facts: dict) -> list[Problem]:
    target = card.target.column
    y = typed[target]
    if y.empty:
        return [Problem("no_target", target)]
    if card.task in ("binary", "multiclass", "anomaly"):
        counts = y.value_counts()
        facts["classes"] = {str(k): int(v) for k, v in counts.items()}
        if len(counts) < 2:
            return [Problem("one_class", target, fields={"label": counts.index[0], "count": int(counts.iloc[0])})]
        if card.task in ("binary", "anomaly"):
            labels = ", ".join(map(repr, counts.index[:6].tolist()))
            if len(counts) > 2:
                return [Problem("too_many_classes", target, fields={"count": len(counts), "labels": labels})]
            if not is_positive(y, card.target.positive).any():
                return [Problem("positive_missing", target, fields={"positive": card.target.positive, "labels": labels})]
    minimum = max(MIN_ROWS, 2 * card.split.folds + 2)
    if len(y) < minimum:
        return [Problem("too_few_rows", target, fields={"count": len(y), "minimum": minimum, "folds": card.split.folds})]
    blocker = split_blocker(typed, card)
    facts["split"] = blocker[0] if blocker else "ok"
    return [Problem(blocker[0], None, fields=blocker[1])] if blocker else []


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
    if kind == "time" and card.task in ("binary", "anomaly") and card.time and card.time.column in typed.columns:
        order = typed.sort_values(card.time.column, kind="stable")
        positive = is_positive(order[card.target.column], card.target.positive).to_numpy()
        cut = int(round(len(order) * (1 - card.split.test_size)))
        start = order[card.time.column].iloc[cut]
        fields = {"share": f"{card.split.test_size:.0%}", "start": start, "positive": card.target.positive}
        if not positive[cut:].any():
            return "split_no_positive_in_test", fields
        if card.task == "binary" and not positive[:cut].any():
            return "split_no_positive_in_train", fields
    return None


def _time_problems(typed: pd.DataFrame, card: Card, rownum, notes: list, facts: dict) -> list[Problem]:
    """A forecast reads rows as a series: repeated or backward time stamps are errors there; other
    cards are sorted by time, with a note."""
    col = card.time.column
    times = typed[col]
    keys = [typed[card.group.column]] if card.group and card.group.column in typed.columns else []
    facts["time"] = {"first": str(times.min()), "last": str(times.max())}
    clock = [c for c in (col, card.time.within) if c and c in typed.columns]
    dup = typed.duplicated(subset=[c for c in (card.group.column if keys else None, *clock) if c], keep=False) & times.notna()
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
