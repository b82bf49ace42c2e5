"""Values as plants write them: numbers, dates and labels read from the text of a factory export.

Numbers come with thousands separators, full-width digits, a Unicode minus and a unit after them
(``1,234 ℃``); dates come ISO, Korean (``2024년 1월 2일 오후 1:05``), dotted, slashed or dashed with the
day or the month first (mixed styles in one column), as Excel serial numbers or Unix seconds, with or
without a time-zone suffix. Each parser returns the typed values, a mask of cells that hold something
it could not read, and for dates what it decided (the day/month order and why), so the inspection can
report every decision. Nothing here knows about cards beyond a column's unit.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Cells that mean "no value" in exports (Excel errors, MES placeholders, Korean notes).
MISSING_TEXT = {"", "-", "--", "—", "n/a", "na", "nan", "null", "none", "#n/a", "#na", "#value!", "#div/0!",
                "#ref!", "#num!", "#null!", "?", "결측", "없음", "미측정"}

# --- numbers -----------------------------------------------------------------------------------------

# A unit written after a number reads as the card's unit when it is the same unit spelt another way.
_UNIT_WORDS = {"도": "c", "℃": "c", "초": "s", "sec": "s", "분": "min", "시간": "h", "hr": "h", "퍼센트": "%",
               "percent": "%", "개": "", "회": ""}
_NUMBER_THEN_TEXT = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(\D.*)?$")


def unit_key(unit: str | None) -> str:
    """A unit compared ignoring case, spaces, the degree sign and 'deg': '°C', '℃', 'degC', '도' are one."""
    if not unit:
        return ""
    key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(unit))).lower()
    key = _UNIT_WORDS.get(key, key)
    return re.sub(r"^(deg|°|º)", "", key)


def _clean_text(series: pd.Series) -> pd.Series:
    """NFKC (full-width digits and letters to plain ones), stripped, missing kept missing."""
    text = series.astype("str")
    if not (text.str.isascii() | text.isna()).all():  # (isascii is False for a missing cell)
        text = text.map(lambda v: unicodedata.normalize("NFKC", v), na_action="ignore").astype("str")
    return text.str.strip()


_NEGATIVE_MARKED = r"^(?:△\s*(\d+(?:\.\d+)?)|\(\s*(\d+(?:\.\d+)?)\s*\))$"


def parse_numbers(series: pd.Series, unit: str | None = None) -> tuple[pd.Series, pd.Series]:
    """Floats, and a mask of cells that hold something that is not a number. Thousands separators
    (1,234.5), full-width digits, a Unicode minus, negatives written △12.5 or (12.5) as accounts write
    them, and spaces are accepted; so is the column's own unit
    after the number (``12 bar`` where the unit is bar; ``85 °F`` in a °C column is not a number).
    The missing markers of MISSING_TEXT are missing."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.astype(float), pd.Series(False, index=series.index)
    text = _clean_text(series).str.replace("\u2212", "-", regex=False)
    text = text.str.replace(r"(?<=\d),(?=\d{3}(?:\D|$))", "", regex=True)
    text = text.mask(text.str.lower().isin(MISSING_TEXT))
    values = pd.to_numeric(text, errors="coerce").astype(float)
    todo = text.notna() & values.isna()
    if todo.any():  # Korean accounting's △12.5 and Excel's accounting format (12.5): negative numbers
        signed = text[todo].str.extract(_NEGATIVE_MARKED)
        found = signed[0].fillna(signed[1]).dropna()
        values[found.index] = -pd.to_numeric(found, errors="coerce")
        todo = text.notna() & values.isna()
    if todo.any() and unit_key(unit):  # '1,234 ℃': the number, when the text after it is the column's unit
        parts = text[todo].str.extract(_NUMBER_THEN_TEXT)
        same = parts[1].map(lambda u: isinstance(u, str) and unit_key(u) == unit_key(unit))
        values[parts.index[same]] = parts.loc[same, 0].astype(float)
    return values, text.notna() & values.isna()


# --- labels ------------------------------------------------------------------------------------------

def labels(series: pd.Series) -> tuple[pd.Series, dict[str, list[str]]]:
    """Category text as a model should see it: NFKC-normalised and stripped, blanks missing; and which
    spellings that merged into one value (``'finishing'`` and ``'finishing '``), for a note."""
    if (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)) and series.notna().any():
        return series, {}
    raw = series.astype("str")  # an empty column (read as numbers) is empty text: a later chunk may hold text
    clean = _clean_text(raw)
    clean = clean.mask(clean.str.lower().isin({"", "nan", "none", "null", "#n/a"}))
    merged: dict[str, list[str]] = {}
    changed = raw.notna() & clean.notna() & (raw != clean)
    if changed.any():
        pairs = pd.DataFrame({"raw": raw[raw.notna() & clean.notna()], "clean": clean[raw.notna() & clean.notna()]})
        spellings = pairs.drop_duplicates().groupby("clean")["raw"].agg(list)
        merged = {k: v for k, v in spellings.items() if len(v) > 1}
    return clean, merged


def class_labels(series: pd.Series) -> pd.Series:
    """Class labels as the file has them (numbers stay numbers), text stripped, blanks missing."""
    if pd.api.types.is_numeric_dtype(series):
        return series
    text, _ = labels(series)
    text = text.mask(text.str.lower().isin(MISSING_TEXT))
    numbers = pd.to_numeric(text, errors="coerce")
    return numbers if numbers.notna().sum() == text.notna().sum() else text


def is_positive(series: pd.Series, positive) -> pd.Series:
    """Same comparison as the tuner's: labels read as text or numbers against the card's value."""
    try:
        return pd.to_numeric(series, errors="raise") == float(positive)
    except (ValueError, TypeError):
        return series.astype(str) == str(positive)


# --- dates -------------------------------------------------------------------------------------------

DAY_FIRST, MONTH_FIRST = "day-first", "month-first"
SHORT_YEAR_FIRST = "year-first"  # '24.03.05': a two-digit year first, as Korean forms write dates


@dataclass
class Dates:
    """What ``parse_dates`` found: the timestamps, the cells it could not read, and its decisions."""

    values: pd.Series
    bad: pd.Series
    order: str | None = None  # DAY_FIRST / MONTH_FIRST (/ SHORT_YEAR_FIRST) where day and month were numbers
    order_reason: str | None = None  # "field" (a value above 12 settles it), "steps" (rows step forward), "given"
    ambiguous: str | None = None  # an example value when the order cannot be told: the user must say
    outside: pd.Series | None = None  # cells that are dates but outside WINDOW (set missing by the caller's policy)
    numeric: str | None = None  # "excel serial days" / "unix seconds" / "unix milliseconds"
    timezone: str | None = None  # "dropped" (one offset: wall clock kept) / "utc" (several offsets: made UTC)
    midnight: int = 0  # cells at 24:00, the end of their day, read as 00:00 of the next


_KO_DATE = re.compile(r"(?<!\d)(\d{4}|\d{2})\s*년\s*(\d{1,2})\s*월\s*(\d{1,2})\s*일")  # '24년' is 2024
_YEAR_FIRST = re.compile(r"^(\d{4})\s*[.\-/]\s*(\d{1,2})\s*[.\-/]\s*(\d{1,2})\.?(?=\s|$|T)")
# '2004.02.12.10.32.39', '2024_03_05_14_30': a stamp written with one separator throughout, as loggers name files
_ONE_SEPARATOR = re.compile(r"^(\d{4})([._-])(\d{1,2})\2(\d{1,2})(?:\2| |T)(\d{1,2})\2(\d{2})(?:\2(\d{2}))?$")
_YEAR_LAST = re.compile(r"^(\d{1,2})\s*[.\-/]\s*(\d{1,2})\s*[.\-/]\s*(\d{4}|\d{2})(?=\s|$|T)")
_KO_TIME = re.compile(r"(\d{1,2})\s*시(?:\s*(\d{1,2})\s*분)?(?:\s*(\d{1,2})\s*초)?")
_AMPM = re.compile(r"(오전|오후|AM|PM|am|pm)\s*(\d{1,2}:\d{2}(?::\d{2})?)")
_END_OF_DAY = r"(?<=[\sT])24:00(?::00(?:\.0+)?)?$"  # '2024-03-01 24:00': the day's end, as hourly energy data writes it
_WEEKDAY = re.compile(r"\s*\((?:월|화|수|목|금|토|일|Mon|Tue|Wed|Thu|Fri|Sat|Sun)\)")
_TZ = re.compile(r"^(.*\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s?(Z|[+-]\d{2}:?\d{2}|UTC|KST)$")  # after a time only
_PLAIN_ISO = r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"  # ASCII digits only
_FORMATS = ["ISO8601", "%Y-%m-%d %I:%M:%S %p", "%Y-%m-%d %I:%M %p", "%Y%m%d%H%M%S", "%Y%m%d"]
# Stamps outside these years are placeholders ('9999-12-31') or typing errors, never a plant's clock.
WINDOW = (pd.Timestamp("1900-01-01"), pd.Timestamp("2200-01-01"))
_RELATIVE_WORDS = {"now", "today", "tomorrow", "yesterday"}
# Numbers that are dates: Excel's serial days (1954..2119), Unix seconds and milliseconds (1973..2128).
_SERIAL = [("excel serial days", 20_000, 80_000), ("unix seconds", 1e8, 5e9), ("unix milliseconds", 1e11, 5e12)]


def _iso_date(match: re.Match) -> str:
    year = match[1] if len(match[1]) == 4 else f"20{match[1]}"
    return f"{year}-{int(match[2]):02d}-{int(match[3]):02d}"


def _date_text(value: str) -> str:
    """Korean and year-first dotted dates to ISO: '2024년 1월 2일 (화) 오후 6시 5분' -> '2024-01-02 6:05:00 PM'."""
    value = _WEEKDAY.sub("", unicodedata.normalize("NFKC", value).strip())
    value = _ONE_SEPARATOR.sub(lambda m: f"{m[1]}-{int(m[3]):02d}-{int(m[4]):02d} {m[5]}:{m[6]}:{m[7] or '00'}", value)
    value = _KO_DATE.sub(_iso_date, value)
    value = _YEAR_FIRST.sub(_iso_date, value)
    value = _KO_TIME.sub(lambda m: f"{m[1]}:{int(m[2] or 0):02d}:{int(m[3] or 0):02d}", value)
    value = _AMPM.sub(lambda m: f"{m[2]} {'AM' if m[1] in ('오전', 'AM', 'am') else 'PM'}", value)
    return re.sub(r"\s+", " ", value)


def _year(text: pd.Series) -> pd.Series:
    year = text.astype(int)
    return year.where(year >= 100, np.where(year <= 68, 2000 + year, 1900 + year))  # as strptime's %y


def _parse_texts(clean: pd.Series) -> pd.Series:
    """ISO-like texts (after normalisation) to timestamps; the few spellings left over by pandas' mixed
    parser. Time-zone suffixes have been taken off by the caller."""
    parsed = pd.Series(pd.NaT, index=clean.index, dtype="datetime64[ns]")
    outside = pd.Series(False, index=clean.index)
    # pandas reads 'now', 'today' and the like as the clock of the reading machine: never a reading's time
    relative = clean.str.strip().str.lower().isin(_RELATIVE_WORDS)
    for fmt in [*_FORMATS, "mixed"]:
        todo = parsed.isna() & clean.notna() & ~outside & ~relative
        if not todo.any():
            break
        stamps = _to_datetime(clean[todo], fmt)
        far = stamps.notna() & ~stamps.between(*WINDOW)
        outside[far.index[far]] = True
        parsed[todo] = stamps.mask(far).astype("datetime64[ns]")
    return parsed, outside


def _to_datetime(texts: pd.Series, fmt: str) -> pd.Series:
    """pandas' parse of the texts in one format, NaT where it cannot. A text pandas reads with a time zone
    ('2000-01-01 2024-01-01': '-01' as an offset) is not a reading's time (the zones plants write were
    taken off before): it is NaT, and it leaves the texts parsed with it as they were."""
    try:
        stamps = pd.to_datetime(texts, format=fmt, errors="coerce")
        if getattr(stamps.dt, "tz", None) is None:
            return stamps
    except (ValueError, TypeError):  # pandas refuses a mix of zoned and unzoned texts in one call
        pass

    def one(text: str):
        try:
            stamp = pd.to_datetime(text, format=fmt, errors="coerce")
        except (ValueError, TypeError):
            return pd.NaT
        return pd.NaT if stamp is pd.NaT or stamp.tzinfo is not None else stamp
    return pd.Series([one(t) for t in texts], index=texts.index, dtype="datetime64[ns]")


def _with_order(clean: pd.Series, fields: pd.DataFrame, order: str) -> pd.Series:
    """Texts whose date is 'a/b/year' rewritten as ISO for the given day/month order."""
    day, month = (fields[0], fields[1]) if order == DAY_FIRST else (fields[1], fields[0])
    iso = _year(fields[2]).astype(str).str.zfill(4) + "-" + month.str.zfill(2) + "-" + day.str.zfill(2)
    out = clean.copy()
    out[fields.index] = iso + clean[fields.index].str.replace(_YEAR_LAST, "", regex=True)
    return out


def _forward_steps(values: np.ndarray) -> tuple[int, int]:
    """How a parse of the column reads in file order: (rows earlier than the row before, distinct
    forward step sizes). Plant logs step forward evenly; the wrong day/month order jumps about."""
    stamps = values[~np.isnat(values)].astype("datetime64[s]").astype(np.int64)
    steps = np.diff(stamps)
    return int((steps < 0).sum()), int(len(np.unique(steps[steps > 0])))


def parse_dates(series: pd.Series, order: str | None = None) -> Dates:
    """Timestamps from what a plant file holds; ``order`` (DAY_FIRST / MONTH_FIRST) when the user said.
    Each distinct text is parsed once (a million rows of stamps in well under a second)."""
    index = series.index
    if pd.api.types.is_datetime64_any_dtype(series):
        values, tz = series, None
        if getattr(series.dt, "tz", None) is not None:
            values, tz = series.dt.tz_localize(None), "dropped"
        far = values.notna() & ~values.between(*WINDOW)
        return Dates(values.mask(far).astype("datetime64[ns]"), pd.Series(False, index=index), timezone=tz, outside=far)
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        found = _numeric_dates(series)
        if found is not None:
            return found
    present = series.notna() & (series.astype("str").str.strip() != "")
    texts = series[present]
    if not pd.api.types.is_string_dtype(texts):  # datetime objects from Excel, numbers such as 20240501
        texts = texts.map(lambda v: v.isoformat(sep=" ") if hasattr(v, "isoformat")
                          else str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
    codes, distinct = pd.factorize(texts)
    if len(distinct) == 0:
        return Dates(pd.Series(pd.NaT, index=index, dtype="datetime64[ns]"), pd.Series(False, index=index),
                     outside=pd.Series(False, index=index))
    clean = pd.Series(distinct).astype("str")
    plain = clean.str.fullmatch(_PLAIN_ISO).fillna(False).to_numpy(dtype=bool)  # most machine exports
    if not plain.all():  # Korean, dotted, AM/PM: normalised value by value, only where needed
        clean[~plain] = clean[~plain].map(_date_text)
    timezone = None
    zoned = clean[~plain].str.fullmatch(_TZ).fillna(False).astype(bool)
    if zoned.any():
        clean, timezone = _drop_zones(clean, zoned[zoned].index)
    given = order
    if order == SHORT_YEAR_FIRST:  # said by the user or by the model's training file: '24.03.05' is 2024
        short, order = _as_year_first(clean[~plain]), None
    else:
        short = None if order is not None else _short_year_first(clean[~plain], codes)
    if short is not None:
        clean[short.index] = short
    fields = clean[~plain].str.extract(_YEAR_LAST).dropna()
    found = Dates(values=None, bad=None, order=order, order_reason="given" if order else None, timezone=timezone)
    if len(fields):
        if order is None:
            found.order, found.order_reason = _decide_order(clean, fields, codes)
        if found.order is None:
            found.ambiguous = distinct[fields.index[0]]
            found.order = MONTH_FIRST  # read so the rest can be checked; the caller asks the user
        clean = _with_order(clean, fields, found.order)
    midnight = clean.str.contains(_END_OF_DAY, regex=True).fillna(False).to_numpy(dtype=bool)
    if midnight.any():
        clean[midnight] = clean[midnight].str.replace(_END_OF_DAY, "00:00", regex=True)
    parsed, far = _parse_texts(clean)
    parsed[midnight] += pd.Timedelta(days=1)
    found.midnight = int(midnight[codes[codes >= 0]].sum())
    values = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    values[present] = parsed.to_numpy()[codes]
    outside = pd.Series(False, index=index)
    outside[present] = far.to_numpy()[codes]
    found.values, found.bad, found.outside = values, present & values.isna() & ~outside, outside
    if not len(fields):
        found.order = found.order_reason = None
    if short is not None and len(short):
        found.order, found.order_reason = SHORT_YEAR_FIRST, "given" if given == SHORT_YEAR_FIRST else "steps"
    return found


_SHORT_DOTTED = re.compile(r"^(\d{2})\.(\d{1,2})\.(\d{1,2})\.?(?=\s|$)")


def _as_year_first(texts: pd.Series) -> pd.Series:
    """The dotted two-digit dates among ``texts`` rewritten as ISO, the year first ('24.03.05 14:30' ->
    '2024-03-05 14:30'); the other texts are left out."""
    parts = texts.str.extract(_SHORT_DOTTED).dropna()
    rest = texts[parts.index].str.replace(_SHORT_DOTTED, "", regex=True)
    return "20" + parts[0] + "-" + parts[1].str.zfill(2) + "-" + parts[2].str.zfill(2) + rest


def _short_year_first(texts: pd.Series, codes: np.ndarray) -> pd.Series | None:
    """'24.03.05 14:30': Korean forms write a two-digit year first, European machines the day (05.03.24).
    The texts rewritten as ISO where every dotted two-digit date reads as a year first, and so read the
    rows step forward in time (at least 20 of them) no worse than day- or month-first; else None."""
    if len(codes) < 20 or texts.empty:
        return None
    iso = _as_year_first(texts)
    if len(iso) < len(texts):
        return None
    ours = _parse_texts(iso)[0]
    if ours.isna().any():
        return None
    rows = codes[codes >= 0]
    back, sizes = _forward_steps(ours.to_numpy()[rows])
    for order in (DAY_FIRST, MONTH_FIRST):
        theirs = _parse_texts(_with_order(texts, texts.str.extract(_YEAR_LAST), order))[0]
        if theirs.isna().any():  # a month above 12: that order cannot be
            continue
        their_back, their_sizes = _forward_steps(theirs.to_numpy()[rows])
        if not (back < their_back or back == their_back and sizes * 1.25 < their_sizes):
            return None
    return iso


_CLOCK = re.compile(r"^(?:(오전|오후|AM|PM)\s*)?(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?\s*(AM|PM)?$", re.IGNORECASE)


def parse_clock_times(series: pd.Series) -> pd.Series:
    """Times of day as time deltas ('06:48', '6:48:05', '14:36:21.808', '오후 3:05', '3:05 PM', Excel's time
    cells); NaT else."""
    def one(value):
        if hasattr(value, "hour") and not hasattr(value, "year"):  # datetime.time from an Excel cell
            return pd.Timedelta(hours=value.hour, minutes=value.minute, seconds=value.second)
        found = _CLOCK.match(str(value).strip()) if isinstance(value, str) else None
        if not found:
            return pd.NaT
        before, hour, minute, second, fraction, after = found.groups()
        hour, half = int(hour), (before or after or "").upper()
        if half and not 1 <= hour <= 12:
            return pd.NaT
        hour = hour % 12 + 12 if half in ("오후", "PM") else hour % 12 if half in ("오전", "AM") else hour
        if hour > 23 or int(minute) > 59 or int(second or 0) > 59:
            return pd.NaT
        return pd.Timedelta(hours=hour, minutes=int(minute), seconds=int(second or 0),
                            microseconds=int((fraction or "0").ljust(6, "0")))  # a logger's milliseconds
    codes, distinct = pd.factorize(series)
    times = pd.Series([one(v) for v in distinct], dtype="timedelta64[ns]")
    out = pd.Series(pd.NaT, index=series.index, dtype="timedelta64[ns]")
    out[codes >= 0] = times.to_numpy()[codes[codes >= 0]]
    return out


def _offset(suffix: str) -> str:
    suffix = suffix.strip().upper()
    if suffix in ("Z", "UTC"):
        return "+00:00"
    if suffix == "KST":
        return "+09:00"
    return f"{suffix[:3]}:{suffix[-2:]}"


def _drop_zones(clean: pd.Series, zoned: pd.Index) -> tuple[pd.Series, str]:
    """'2024-01-02T06:00:00+09:00' and '...Z': one offset in the file keeps the wall clock as written;
    several offsets are converted to UTC so the rows stay in true order."""
    parts = clean[zoned].str.extract(_TZ)
    bare, offsets = parts[0].str.strip(), parts[1].map(_offset)
    out = clean.copy()
    if offsets.nunique() <= 1:
        out[zoned] = bare
        return out, "dropped"
    utc = pd.to_datetime(bare + offsets, format="mixed", errors="coerce", utc=True)
    out[zoned] = utc.dt.tz_localize(None).dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    return out, "utc"


def _decide_order(clean: pd.Series, fields: pd.DataFrame, codes: np.ndarray) -> tuple[str | None, str | None]:
    """Day/month order from the data: a first field above 12 means day-first, a second one month-first;
    else the order in which the rows, as the file has them, step forward (fewer steps back, then
    fewer distinct step sizes). None when even that cannot tell them apart."""
    first, second = fields[0].astype(int), fields[1].astype(int)
    if (first > 12).any() and not (second > 12).any():
        return DAY_FIRST, "field"
    if (second > 12).any() and not (first > 12).any():
        return MONTH_FIRST, "field"
    if (first > 12).any():  # both: the column mixes orders; the cells that fail month-first are reported
        return MONTH_FIRST, "conflict"
    if len(codes) < 20:  # too few rows for their order to say anything
        return None, None
    readings = {}
    for order in (DAY_FIRST, MONTH_FIRST):
        parsed = _parse_texts(_with_order(clean, fields, order))[0].to_numpy()[codes]
        readings[order] = _forward_steps(parsed)
    (back_d, sizes_d), (back_m, sizes_m) = readings[DAY_FIRST], readings[MONTH_FIRST]
    few = max(1, 0.01 * len(codes))  # a log in time order steps back almost never (a clock change)
    if min(back_d, back_m) <= few < max(back_d, back_m):
        return (DAY_FIRST if back_d < back_m else MONTH_FIRST), "steps"
    if max(back_d, back_m) <= few and min(sizes_d, sizes_m) * 1.25 < max(sizes_d, sizes_m):
        return (DAY_FIRST if sizes_d < sizes_m else MONTH_FIRST), "steps"
    return None, None


def _numeric_dates(series: pd.Series) -> Dates | None:
    """A date column that holds numbers: Excel serial days or Unix (milli)seconds, told by magnitude;
    8- and 14-digit numbers (20240501, 20240501063000) are read as the digits of a date."""
    values = series.astype(float)
    present = values.dropna()
    if present.empty:
        return None
    for name, low, high in _SERIAL:
        if present.between(low, high).all():
            if name.startswith("excel"):
                stamps = pd.Timestamp("1899-12-30") + pd.to_timedelta(values, unit="D")
            else:
                stamps = pd.to_datetime(values, unit="s" if name == "unix seconds" else "ms", errors="coerce")
            stamps = pd.Series(stamps, index=series.index)
            far = stamps.notna() & ~stamps.between(*WINDOW)
            stamps = stamps.mask(far).astype("datetime64[ns]")
            return Dates(stamps, series.notna() & stamps.isna() & ~far, numeric=name, outside=far)
    return None
