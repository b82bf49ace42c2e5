"""A corpus of real-world quirks of plant files, each a small file made here from rows that pass: what
`workbench check` reports about it, and that `workbench run` either trains with the right notes (and
logs the decisions to MLflow) or stops with the one-paragraph error naming the file, the column and the
fix, leaving no run behind. tests/data/bad holds the refusals; this is what a plant file usually is.
"""

from __future__ import annotations

import codecs
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from pipelines import cards, data, reading
from pipelines.cli import app
from pipelines.errors import DataError

from conftest import needs_public
from plant_exports import OLD_XLS, html_export, spreadsheet_xml

HEAT = "heat-treatment-hardness"
ROWS = 300


def _reference(card_id: str, rows: int = ROWS) -> pd.DataFrame:
    """The card's validated reference rows, thinned evenly (time order kept), dates as text."""
    frame = data.load(cards.load_card(card_id)).frame
    frame = frame.iloc[np.unique(np.linspace(0, len(frame) - 1, rows).round().astype(int))].reset_index(drop=True)
    for col in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            frame[col] = frame[col].dt.strftime("%Y-%m-%d %H:%M:%S")
    return frame


def csv(frame: pd.DataFrame, encoding: str = "utf-8") -> bytes:
    return frame.to_csv(index=False).encode(encoding)


def heat(change: Callable[[pd.DataFrame], pd.DataFrame | None], encoding: str = "utf-8") -> Callable[[], bytes]:
    def build() -> bytes:
        frame = _reference(HEAT).astype(object)
        changed = change(frame)
        return csv(frame if changed is None else changed, encoding)
    return build


def _stamps(fmt) -> Callable[[pd.DataFrame], None]:
    def change(frame):
        stamps = pd.to_datetime(frame["Batch_Time"])
        frame["Batch_Time"] = [fmt(i, s) for i, s in enumerate(stamps)]
    return change


def _set(column: str, rows, value) -> Callable[[pd.DataFrame], None]:
    def change(frame):
        frame.loc[rows, column] = value
    return change


CAST = "die-casting-quality"  # passorfail: 1 marks a defect


def _labelled(words: dict) -> Callable[[], bytes]:
    """The die-casting reference rows with the plant's own words for good (0) and defect (1) parts."""
    return lambda: csv(_reference(CAST).astype({"passorfail": object}).assign(
        passorfail=lambda f: f["passorfail"].map(lambda v: words[int(v)])))


def _monthly_workbook(alike_only: bool = False) -> Callable[[], bytes]:
    """A month per sheet, each under a title of its own height, one header spaced differently, a cell
    that is not a number in the second month (its 8th row: sheet row 8 + title + header), and a summary."""
    def build() -> bytes:
        frame = _reference(HEAT).astype(object)
        frame.loc[100 + 7, "Carbon_pct"] = "측정불가"
        out = io.BytesIO()
        with pd.ExcelWriter(out) as book:
            for month, start in ((1, 0), (2, 100), (3, 200)):
                part = frame.iloc[start:start + 100]
                if month == 3:
                    part = part.rename(columns={"Carbon_pct": "carbon_pct "})
                pd.DataFrame([[f"{month}월 열처리 기록"]] * month).to_excel(book, sheet_name=f"{month}월", header=False,
                                                                          index=False)
                part.to_excel(book, sheet_name=f"{month}월", startrow=month, index=False)
            if not alike_only:
                pd.DataFrame({"월": [1, 2, 3], "배치 수": [100, 100, 100]}).to_excel(book, sheet_name="요약", index=False)
        return out.getvalue()
    return build


def _units_row(frame: pd.DataFrame, **other) -> pd.DataFrame:
    """The row under the header that many exports fill with each column's unit (the card's, or ``other``)."""
    card = cards.load_card(HEAT)
    units = {c.name: c.unit or "" for c in card.columns} | {card.target.column: card.target.unit} | other
    return pd.concat([pd.DataFrame([[units.get(c, "") for c in frame.columns]], columns=frame.columns), frame])


def _date_and_clock(frame: pd.DataFrame) -> pd.DataFrame:
    """Batch_Time as a date column and a Korean AM/PM time-of-day column."""
    stamps = pd.to_datetime(frame.pop("Batch_Time"))
    clock = [f"{'오전' if t.hour < 12 else '오후'} {(t.hour % 12) or 12}:{t.minute:02d}" for t in stamps]
    return frame.assign(일자=stamps.dt.strftime("%Y.%m.%d").to_numpy(), 시각=clock)


def _time_in_fields(frame: pd.DataFrame) -> pd.DataFrame:
    """Batch_Time as year, month, day, hour and minute columns (년 | 월 | 일 | 시 | 분)."""
    stamps = pd.to_datetime(frame.pop("Batch_Time"))
    return frame.assign(년=stamps.dt.year, 월=stamps.dt.month, 일=stamps.dt.day, 시=stamps.dt.hour, 분=stamps.dt.minute)


def _date_and_hour_1_24(frame: pd.DataFrame) -> pd.DataFrame:
    """Batch_Time as a date and the hour numbered 1-24 (hour 1 is 00:00-01:00), as KEPCO exports write it."""
    stamps = pd.to_datetime(frame.pop("Batch_Time"))
    return frame.assign(날짜=stamps.dt.strftime("%Y-%m-%d").to_numpy(), 시간=stamps.dt.hour + 1)


def _summary_first() -> bytes:
    """A workbook whose first sheet is a summary and whose second holds the batches."""
    out = io.BytesIO()
    with pd.ExcelWriter(out) as book:
        pd.DataFrame({"항목": ["배치 수", "평균 경도"], "값": [300, 45.2]}).to_excel(book, sheet_name="요약", index=False)
        _reference(HEAT).to_excel(book, sheet_name="배치", index=False)
    return out.getvalue()


ALLOY = ["탄소 함량", "망간 함량", "크롬 함량", "몰리브덴 함량"]  # the card's Korean names of the four alloy columns


def _header_over_two_rows(excel: bool) -> Callable[[], bytes]:
    """'성분 (wt%)' merged over the four alloy columns, each named in the row below (Korean headers, CP949 text)."""
    def build() -> bytes:
        frame = _korean(_reference(HEAT), HEAT)
        columns = list(frame.columns)
        top = [None if c in ALLOY else c for c in columns]
        top[columns.index(ALLOY[0])] = "성분 (wt%)"
        sub = [c if c in ALLOY else None for c in columns]
        if not excel:
            lines = pd.DataFrame([top, sub]).to_csv(index=False, header=False) + frame.to_csv(index=False, header=False)
            return lines.encode("cp949")
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.append(top)
        sheet.append(sub)
        at = columns.index(ALLOY[0]) + 1
        sheet.merge_cells(start_row=1, start_column=at, end_row=1, end_column=at + 3)
        for row in frame.astype(object).itertuples(index=False):
            sheet.append([None if pd.isna(v) else v for v in row])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    return build


def _formulas_never_calculated() -> bytes:
    """What a program writing .xlsx with formulas leaves: Temper_Time_h as '=...' cells without results."""
    from openpyxl import Workbook

    frame = _reference(HEAT)
    book = Workbook()
    sheet = book.active
    sheet.append(list(frame.columns))
    at = list(frame.columns).index("Temper_Time_h")
    for row, values in enumerate(frame.astype(object).itertuples(index=False), start=2):
        values = [None if pd.isna(v) else v for v in values]
        values[at] = f"=ROUND({values[at]}*60,0)/60"
        sheet.append(values)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_bytes(frame: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.to_excel(out, index=False)
    return out.getvalue()


@dataclass
class Quirk:
    id: str
    build: Callable[[], bytes]
    says: list[str]  # phrases both `check` and `run` print (the notes, or the refusal)
    refused: bool = False
    card: str = HEAT
    args: list[str] = field(default_factory=list)
    tags: dict = field(default_factory=dict)  # MLflow tags the trained run carries
    metrics: dict = field(default_factory=dict)  # and metrics
    never: list[str] = field(default_factory=list)  # phrases `check` must not print
    report: list[str] = field(default_factory=list)  # phrases only `check`'s report prints
    suffix: str = ".csv"


def _tag_codes_over_the_names(excel: bool = False, under: bool = False) -> bytes:
    """A DCS export: the tag codes (TI-101, ...) in the first header row, the Korean names under them (or,
    ``under``, the names first and the codes under them)."""
    frame = _korean(_reference(HEAT), HEAT)
    codes, names = [f"TI-{101 + i}" for i in range(len(frame.columns))], list(frame.columns)
    rows = [*([names, codes] if under else [codes, names]), *frame.astype(object).values.tolist()]
    table = pd.DataFrame(rows)
    if excel:
        return _xlsx_bytes(table.rename(columns=dict(enumerate(rows[0]))).iloc[1:])
    return table.to_csv(index=False, header=False).encode("cp949")


def _table_per_furnace() -> bytes:
    """A report sheet with a table per furnace, one below the other, each under its own title line."""
    import openpyxl

    frame = _reference(HEAT, rows=200)
    book = openpyxl.Workbook()
    for furnace, rows in frame.groupby("Furnace_ID"):
        book.active.append([f"{furnace} 열처리로 실적"])
        book.active.append(list(rows.drop(columns="Furnace_ID").columns))
        for row in rows.drop(columns="Furnace_ID").itertuples(index=False):
            book.active.append([v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in row])
        book.active.append([])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _demand_sheet() -> bytes:
    """A sales planner's sheet: a row a week, a column a part."""
    frame = _reference("demand-forecast", rows=6240)
    sheet = frame.pivot(index="Week", columns="Part Number", values="Demand").reset_index()
    sheet.columns.name = None
    return csv(sheet)


def _spaced(frame: pd.DataFrame) -> bytes:
    """An old machine's log: one space between fields, time stamps without a space in them (C-MAPSS style)."""
    frame = frame.assign(Batch_Time=pd.to_datetime(frame["Batch_Time"]).dt.strftime("%Y-%m-%dT%H:%M:%S"))
    return frame.to_csv(index=False, sep=" ", na_rep="NaN").encode()


def _moved_first(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    return frame[[column, *[c for c in frame.columns if c != column]]]


def _korean(frame: pd.DataFrame, card_id: str) -> pd.DataFrame:
    card = cards.load_card(card_id)
    names = {c.name: c.ko for c in card.columns if c.ko} | {card.target.column: card.target.ko}
    return frame.rename(columns=names)


def _two_exports_pasted(frame: pd.DataFrame) -> bytes:
    half = len(frame) // 2
    return csv(frame.iloc[:half]) + csv(frame.iloc[half:])


def _one_part(frame: pd.DataFrame) -> pd.DataFrame:
    first = frame["Part Number"].iloc[0]
    return frame[frame["Part Number"] == first].drop(columns=["Part Number"])


def _shuffled_ambiguous(frame: pd.DataFrame) -> pd.DataFrame:
    stamps = pd.Timestamp("2024-01-01 06:00") + pd.to_timedelta(np.arange(len(frame)) % 12 * 31, unit="D")
    frame["Batch_Time"] = stamps.strftime("%d/%m/%Y %H:%M")
    return frame.sample(frac=1, random_state=3)


QUIRKS = [
    Quirk("optional_feature_absent", heat(lambda f: f.drop(columns=["Molybdenum_pct"])),
          ["trained without 1 card column(s) not in the file: Molybdenum_pct"],
          tags={"data.absent_columns": "Molybdenum_pct", "split.kind": "time"}),
    Quirk("no_time_column", heat(lambda f: f.drop(columns=["Batch_Time"])),
          ["no Batch_Time in the file, so no split by time: split random"], report=["Split (random instead of the card's time"],
          tags={"split.kind": "random", "split.fallback": "random", "split.card_kind": "time"}),
    Quirk("split_chosen_by_flag", heat(lambda f: None), ["split random as asked with --split"], args=["--split", "random"],
          tags={"split.kind": "random"}),
    Quirk("dropouts_written_as_zero", heat(_set("Austenitize_Temp_C", range(0, 300, 30), 0)),
          ["10 value(s) in 1 column(s) outside the physical range read as missing: Austenitize_Temp_C 10 (range [700, 1000] degC"],
          metrics={"data.out_of_range.Austenitize_Temp_C": 10}),
    Quirk("outliers", heat(_set("Section_Thickness_mm", [5, 50, 150], 9999)),
          ["Section_Thickness_mm 3 (range [1, 200] mm, e.g. 9999 in row 7)"],
          metrics={"data.out_of_range.Section_Thickness_mm": 3}),
    Quirk("sentinel_declared", heat(_set("Quenchant_Temp_C", range(0, 300, 10), 99)),
          ["Quenchant_Temp_C: 30 reading(s) of the 'no value' code 99 read as missing"],
          args=["--na", "Quenchant_Temp_C=99"]),
    Quirk("sentinel_suspected", heat(_set("Quenchant_Temp_C", range(0, 300, 10), 99)),
          ["Quenchant_Temp_C: 99 appears in 30 rows (10.0%)", "--na \"Quenchant_Temp_C=99\""]),
    Quirk("month_first_mixed_styles", heat(_stamps(lambda i, s: s.strftime("%m-%d-%Y %H:%M") if i % 2
                                                   else f"{s.month}/{s.day}/{s.year} {s:%H:%M}")),
          ["Batch_Time: dates read month-first (a first or second number above 12 settles it)"]),
    Quirk("korean_short_year_first", heat(_stamps(lambda i, s: s.strftime("%y.%m.%d %H:%M"))),
          ["Batch_Time: dates read year-first (yy.mm.dd) (read so, the rows step forward in time most evenly), "
           "e.g. '23.01.02 06:48' is 2023-01-02"]),
    Quirk("day_first", heat(_stamps(lambda i, s: s.strftime("%d/%m/%Y %H:%M"))),
          ["Batch_Time: dates read day-first (a first or second number above 12 settles it)", "pass --monthfirst"]),
    Quirk("day_month_undecidable", heat(_shuffled_ambiguous), ["say which with --dayfirst or --monthfirst"], refused=True),
    Quirk("day_month_answered", heat(_shuffled_ambiguous), [], report=["Result:"], args=["--dayfirst"]),
    Quirk("excel_serial_dates", heat(_stamps(lambda i, s: (s - pd.Timestamp("1899-12-30")) / pd.Timedelta(days=1))),
          ["Batch_Time: numbers read as dates (Excel serial days)"]),
    Quirk("unix_seconds", heat(_stamps(lambda i, s: int(s.timestamp()))), ["numbers read as dates (Unix seconds)"]),
    Quirk("time_zone_suffix", heat(_stamps(lambda i, s: s.strftime("%Y-%m-%dT%H:%M:%S+09:00"))),
          ["Batch_Time: the time-zone suffix is dropped"]),
    Quirk("placeholder_dates", heat(_set("Batch_Time", [10, 20], "9999-12-31")),
          ["Batch_Time: 2 date(s) outside 1900-2200 read as missing (e.g. '9999-12-31' in row(s) 12, 22"]),
    Quirk("words_for_times", heat(_set("Batch_Time", [10, 20], "now")),
          ["Batch_Time: 2 cell(s) that are not dates read as missing (e.g. 'now' in row(s) 12, 22"]),
    Quirk("two_dates_in_one_cell", heat(_set("Batch_Time", [10, 20], "2000-01-01 2024-01-01")),  # pandas took '-01' for a time zone
          ["Batch_Time: 2 cell(s) that are not dates read as missing (e.g. '2000-01-01 2024-01-01' in row(s) 12, 22"]),
    Quirk("trailing_spaces_in_categories", heat(lambda f: f.assign(Furnace_ID=[v + " " if i % 3 else v
                                                                           for i, v in enumerate(f["Furnace_ID"])])),
          ["Furnace_ID: ", "read as one value 'F1'"]),
    Quirk("full_width_digits", heat(lambda f: f.assign(Carbon_pct=[str(v).translate(str.maketrans("0123456789.", "０１２３４５６７８９．"))
                                                               for v in f["Carbon_pct"]])),
          [], report=["Result: OK"], never=["Carbon_pct 1", "not numbers"]),
    Quirk("korean_units_and_thousands", heat(lambda f: f.assign(Austenitize_Temp_C=[f"{float(v):,.0f} ℃" for v in f["Austenitize_Temp_C"]],
                                                              Soak_Time_min=[f"{float(v):g}분" if v == v else "" for v in f["Soak_Time_min"]])),
          [], report=["Result: OK"], never=["Austenitize_Temp_C 1", "not numbers"]),
    Quirk("totals_row_at_the_end", heat(lambda f: pd.concat([f, pd.DataFrame([{"Batch_Time": "합계", "Carbon_pct": 123.4}])]),
                                        encoding="cp949"),
          ["the last 1 row(s) are not data (e.g. '합계' in row 302"]),
    Quirk("blank_rows", lambda: csv(_reference(HEAT)).replace(b"\n", b"\n,,,,,,,,,,,,,,\n", 40), [],
          report=["Read: csv", "300 rows"]),
    Quirk("header_repeated_mid_file", lambda: _two_exports_pasted(_reference(HEAT)),
          ["1 row(s) repeat the header (e.g. row 152"]),
    Quirk("missing_markers", heat(lambda f: f.assign(Carbon_pct=["#N/A" if i % 50 == 0 else "-" if i % 50 == 1 else
                                                               "NULL" if i % 50 == 2 else v for i, v in enumerate(f["Carbon_pct"])])),
          [], report=["Missing values: Carbon_pct 18 (6.0%)"]),
    Quirk("a_few_text_cells", heat(_set("Temper_Time_h", [4, 40], "측정불가")),
          ["Temper_Time_h: 2 cell(s) that are not numbers read as missing (e.g. '측정불가' in row(s) 6, 42)"]),
    Quirk("empty_column", heat(_set("Quench_Delay_s", slice(None), None)), ["Quench_Delay_s is empty in every row: trained without it"]),
    Quirk("korean_cp949_headers", lambda: csv(_korean(_reference(HEAT), HEAT), "cp949"), [], report=["Result: OK"]),
    Quirk("tag_codes_over_the_names", _tag_codes_over_the_names,
          ["line 2 holds the card's column names under a row of other names (TI-101, TI-102, TI-103, TI-104, ...: tag codes"],
          report=["Columns: 15 of 15 card columns found."]),
    Quirk("tag_codes_under_the_names", lambda: _tag_codes_over_the_names(under=True),
          ["row 2 holds a code per column (TI-103, TI-104, TI-105, TI-106, TI-107, TI-108, ...: tag codes), not data"],
          report=["Columns: 15 of 15 card columns found."], never=["Not the card's units"]),
    Quirk("fixed_width_report", lambda: _reference(HEAT).to_string(index=False).encode(), suffix=".txt",
          says=["the values are separated by spaces, not commas: read as columns."], report=["Columns: 15 of 15"]),
    Quirk("space_separated_log", lambda: _spaced(_reference(HEAT)), suffix=".txt",
          says=["the values are separated by spaces, not commas: read as columns."], report=["Columns: 15 of 15"]),
    Quirk("no_header_row", lambda: _spaced(_moved_first(_reference(HEAT), "Hardness_HRC")).split(b"\n", 1)[1],
          suffix=".txt", refused=True,  # not in the card's order: a furnace's name where the card reads carbon
          says=["the first line holds values (36.0, 2023-01-02T06:48:00, F4", "not column names: the file has no header row"]),
    Quirk("no_header_row_in_the_cards_order", lambda: _spaced(_reference(HEAT)).split(b"\n", 1)[1], suffix=".txt",
          says=["the file has no header row: its 15 columns are the card's in the card's order, by number and kind, and "
                "are read so (Batch_Time, Furnace_ID, Carbon_pct, Manganese_pct, Chromium_pct, ..., Hardness_HRC)"],
          report=["Columns: 15 of 15"]),
    Quirk("a_table_per_furnace_one_below_the_other", _table_per_furnace, suffix=".xlsx",
          says=["3 title line(s) above a repeated header (e.g. row 56: 'F2 열처리로 실적') start a table of their own"],
          never=["cell(s) that are not dates", "without a target value"]),
    Quirk("anomaly_without_fault_labels", lambda: csv(_reference("pump-anomaly", rows=1500).drop(columns=["fault"])),
          ["fault (이상 여부) is not in the file: every row is taken as normal operation"], card="pump-anomaly",
          report=["Result: usable"], tags={"split.kind": "time"}, metrics={"test_positives": 0}),
    Quirk("anomaly_fault_never_marked", lambda: csv(_reference("pump-anomaly", rows=1500).assign(fault=0)),
          ["fault marks no fault in these rows (only 0): the detector learns normal operation from them"],
          card="pump-anomaly", report=["Result: usable"]),
    Quirk("anomaly_without_fault_labels_refused_by_strict",
          lambda: csv(_reference("pump-anomaly", rows=1500).drop(columns=["fault"])), ["required column(s) missing: fault"],
          card="pump-anomaly", refused=True, args=["--strict"]),
    Quirk("life_histories_without_the_remaining_life",
          lambda: csv(_reference("vacuum-pump-rul", rows=2000).drop(columns=["RUL"])), card="vacuum-pump-rul",
          says=["RUL is not in the file: each pump_id's rows", "are taken as a run to failure"],
          report=["Result: usable"], tags={"split.kind": "group"}),
    Quirk("a_column_per_part_in_a_demand_sheet", lambda: _demand_sheet(), card="demand-forecast",
          says=["the file has a column per Part Number (Part 1, Part 10, Part 11"], report=["Result: usable"]),
    Quirk("one_series_without_its_part_number", lambda: csv(_one_part(_reference("demand-forecast", rows=4000))),
          ["trained without 1 card column(s) not in the file: Part Number"], card="demand-forecast"),
    Quirk("hours_without_their_column", lambda: csv(_reference("factory-peak-demand", rows=600).drop(columns=["시간"])),
          ["no 시간 in the file: the rows of one 날짜 are taken in the file's order"], card="factory-peak-demand"),
    Quirk("defect_words_instead_of_the_cards_labels", _labelled({0: "양품", 1: "불량"}),
          ["'불량' read as the defect (the card's 1)", "say which label is the defect with --positive LABEL"],
          card=CAST, report=["defect label 1 (the file's '불량')"]),
    Quirk("the_judgement_column_named_its_own_way",
          lambda: csv(_reference(CAST).assign(passorfail=lambda f: f["passorfail"].map(lambda v: "NG" if int(v) else "OK"))
                      .rename(columns={"passorfail": "검사 결과"})),
          ["passorfail (양불 판정) is the file's column '검사 결과', the only one holding pass and fail words",
           "'NG' read as the defect (the card's 1)"], card=CAST),
    Quirk("own_labels_named_with_positive", _labelled({0: "A", 1: "B"}),
          ["'B' read as the defect label (the card's 1) as asked with --positive"], card=CAST,
          args=["--positive", "B"], report=['--positive "B"']),
    Quirk("a_month_per_sheet_read_as_one", _monthly_workbook(), suffix=".xlsx", args=["--sheet", "all"],
          says=["read 3 sheet(s) with the same header one below the other (1월, 2월, 3월)",
                "sheets with another header left out: 요약", "'측정불가' in row(s) 2월!11"],
          report=["300 rows", '--sheet "all"']),
    Quirk("a_month_per_sheet_read_one_by_default", _monthly_workbook(), suffix=".xlsx",
          says=["only sheet '1월' was read, but 2 other sheet(s) have the same header (2월, 3월): --sheet all"]),
    Quirk("a_summary_sheet_before_the_data", _summary_first, suffix=".xlsx",
          says=["read sheet '배치', whose header names 15 of the card's columns, not the first sheet '요약'"],
          report=["300 rows"]),
    Quirk("units_in_the_row_under_the_header", heat(_units_row),
          ["row 2 holds the columns' units (wt%, mm, degC, min, s, h, HRC), not data: left out."],
          never=["not numbers read as missing", "without a target value"]),
    Quirk("a_fahrenheit_unit_in_the_units_row", heat(lambda f: _units_row(f, Austenitize_Temp_C="℉"), "cp949"),
          ["Not the card's units: Austenitize_Temp_C ℉ (the card: degC)"], report=["encoding cp949"]),
    Quirk("date_and_time_of_day_in_two_columns", heat(_date_and_clock, "cp949"),
          ["Batch_Time made from the date in 일자 and the time of day in 시각"], report=["Split (time, test 20%)"],
          never=["no Batch_Time in the file"]),
    Quirk("an_mes_html_table_saved_as_xls", lambda: html_export(_korean(_reference(HEAT), HEAT)), suffix=".xls",
          says=["the file is an HTML table (as many MES 'Excel download' buttons save it), though its name ends in .xls"],
          report=["Read: html, sheet 'table 2'", "300 rows"]),
    Quirk("an_excel_97_2003_workbook_a_month_per_sheet", OLD_XLS.read_bytes, suffix=".xls", args=["--sheet", "all"],
          says=["read 2 sheet(s) with the same header one below the other (1월, 2월)"],
          report=["Read: xls, sheet 'all', header line 3", "300 rows"], never=["the file is"]),
    Quirk("an_excel_2003_xml_workbook_saved_as_xls", lambda: spreadsheet_xml(_reference(HEAT)), suffix=".xls",
          says=["the file is an Excel 2003 XML workbook, though its name ends in .xls"], report=["300 rows"]),
    Quirk("an_xlsx_renamed_csv", lambda: _xlsx_bytes(_reference(HEAT)),
          says=["the file is an Excel .xlsx workbook, though its name ends in .csv"], report=["Read: xlsx", "300 rows"]),
    Quirk("a_header_merged_over_two_rows", _header_over_two_rows(excel=True), suffix=".xlsx",
          says=["the header spans rows 1 & 2 (a name merged over sub-headers): 4 column(s) named from the two rows "
                "(탄소 함량, 망간 함량, 크롬 함량, 몰리브덴 함량)"],
          report=["15 of 15 card columns found", "300 rows"], never=["trained without", "not numbers"]),
    Quirk("a_header_over_two_rows_exported_as_csv", _header_over_two_rows(excel=False),
          says=["the header spans rows 1 & 2 (a name merged over sub-headers): 4 column(s) named from the two rows"],
          report=["15 of 15 card columns found", "300 rows", "encoding cp949"], never=["trained without", "not numbers"]),
    Quirk("a_column_exported_twice", heat(lambda f: f.insert(3, "Carbon_pct ", f["Carbon_pct"])),
          ["column 'Carbon_pct' appears 2 times with the same values: read once."], report=["15 of 15 card columns found"]),
    Quirk("two_remarks_columns", heat(lambda f: f.assign(**{"비고": "", "비고 ": ["재작업" if i % 7 == 0 else "" for i in range(len(f))]})),
          ["column '비고' appears 2 times with different values: read as 비고, 비고 (2)"]),
    Quirk("a_card_column_twice_the_second_named_with_map",
          heat(lambda f: f.insert(3, "Carbon_pct ", f["Carbon_pct"].astype(float) + 0.01)),
          ["column 'Carbon_pct' appears 2 times with different values: read as Carbon_pct, Carbon_pct (2)"],
          args=["--map", "Carbon_pct (2)=Carbon_pct"], report=["Carbon_pct (2)", "ignored: Carbon_pct."]),
    Quirk("a_mapped_column_beside_one_with_the_cards_name", heat(lambda f: f.assign(C_wt=f["Carbon_pct"])),
          [], args=["--map", "C_wt=Carbon_pct"], report=["ignored: Carbon_pct.", "15 of 15 card columns found"]),
    Quirk("formulas_never_calculated", _formulas_never_calculated, suffix=".xlsx",
          says=["300 cell(s) hold formulas that were never calculated, so they read as empty: Temper_Time_h (300)",
                "Temper_Time_h is empty in every row: trained without it"]),
    Quirk("date_and_clock_above_a_totals_row", heat(lambda f: pd.concat([_date_and_clock(f), pd.DataFrame([{"일자": "합계", "시각": "300 건"}])])),
          ["the last 1 row(s) are not data (e.g. '합계' in row 302", "Batch_Time made from the date in 일자"],
          never=["Missing values: Carbon_pct 1 "]),
    Quirk("a_separator_ending_every_data_row", lambda: b"\n".join(
              line + (b"," if i and line else b"") for i, line in enumerate(csv(_reference(HEAT)).split(b"\n"))),
          [], report=["300 rows, 15 columns", "15 of 15 card columns found"], never=["fields but the header has"]),
    Quirk("semicolons_and_decimal_commas", lambda: _reference(HEAT).to_csv(index=False, sep=";", decimal=",").encode("cp949"),
          ["numbers are written with a decimal comma (12,5 is 12.5; thousands separator: -): read so."],
          report=["delimiter ';'", "15 of 15 card columns found"], never=["not numbers"]),
    Quirk("hours_ending_at_24_00", heat(_stamps(lambda i, s: f"{s - pd.Timedelta(hours=1):%Y-%m-%d} 24:00" if s.hour == 0
                                                   else s.floor("h").strftime("%Y-%m-%d %H:%M"))),
          ["time(s) at 24:00, the end of a day, read as 00:00 of the next day."], never=["not dates"]),
    Quirk("year_month_day_hour_minute_columns", heat(_time_in_fields),
          ["Batch_Time made from the columns 년 + 월 + 일 + 시 + 분."], report=["Split (time, test 20%)"],
          never=["no Batch_Time in the file"]),
    Quirk("date_and_hour_numbered_1_to_24", heat(_date_and_hour_1_24, "cp949"),
          ["Batch_Time made from the columns 날짜 + 시간; 시간 numbers the hours 1-24, so hour 1 is stamped 00:00"],
          report=["Split (time, test 20%)"], never=["no Batch_Time in the file"]),
    # --- what no model can learn from, or a file that is not what it says ------------------------------------
    Quirk("own_labels_without_positive", _labelled({0: "A", 1: "B"}),
          ["the card's defect label 1 never appears in the target (labels found: ", "with --positive LABEL"],
          refused=True, card=CAST),
    Quirk("strict_does_not_take_a_judgement_column_for_the_target",
          lambda: csv(_reference(CAST).assign(passorfail=lambda f: f["passorfail"].map(lambda v: "NG" if int(v) else "OK"))
                      .rename(columns={"passorfail": "검사 결과"})),
          ["required column(s) missing: passorfail"], refused=True, card=CAST, args=["--strict"]),
    Quirk("strict_does_not_guess_the_defect_label", _labelled({0: "양품", 1: "불량"}),
          ["the card's defect label 1 never appears in the target"], refused=True, card=CAST, args=["--strict"]),
    Quirk("positive_not_in_the_file", _labelled({0: "양품", 1: "불량"}),
          ["--positive 'NG' never appears in the target (labels found: "], refused=True, card=CAST,
          args=["--positive", "NG"]),
    Quirk("several_series_without_their_part_number",
          lambda: csv(_reference("demand-forecast", rows=4000).drop(columns=["Part Number"])),
          ["the file holds several series, which the card tells apart by Part Number"], refused=True,
          card="demand-forecast"),
    Quirk("numeric_column_of_text", heat(lambda f: f.assign(Carbon_pct=[f"{v} ppm" for v in f["Carbon_pct"]])),
          ["column 'Carbon_pct': 300 value(s) (100% of the filled cells) are not numbers"], refused=True),
    Quirk("no_target", heat(lambda f: f.drop(columns=["Hardness_HRC"])),
          ["1 required column(s) missing: Hardness_HRC"], refused=True),
    Quirk("one_class_only", lambda: csv(_reference("injection-molding-quality").assign(PassOrFail="Y")),
          ["one class only"], refused=True, card="injection-molding-quality"),
    Quirk("bom_with_cp949_text", lambda: codecs.BOM_UTF8 + csv(_korean(_reference(HEAT), HEAT), "cp949"),
          ["wrong encoding declared"], refused=True),
    Quirk("wrong_unit_column", heat(lambda f: f.assign(Austenitize_Temp_C=[float(v) * 1.8 + 32 for v in f["Austenitize_Temp_C"]])),
          ["outside the allowed range [700, 1000] degC", "check the unit of the column"], refused=True),
    Quirk("strict_refuses_an_absent_column", heat(lambda f: f.drop(columns=["Molybdenum_pct"])),
          ["required column(s) missing: Molybdenum_pct"], refused=True, args=["--strict"]),
    Quirk("only_the_target", heat(lambda f: f[["Hardness_HRC"]]), ["nothing to learn from"], refused=True),
    # --- hostile files (issue 19): a message naming file, column and fix, never a traceback or a run ------------
    Quirk("cell_over_the_csv_limit", heat(_set("Quench_Medium", [5], "x" * 140_000)),
          ["column 'Quench_Medium': line 7, field 10 holds a cell of 140,000 characters", "opened and never closed"],
          refused=True),
    Quirk("target_infinite", heat(_set("Hardness_HRC", [4, 7], "inf")),
          ["column 'Hardness_HRC': 2 target value(s) are not finite numbers (e.g. inf in row(s) 6, 9)"], refused=True),
    Quirk("target_minus_infinite", heat(_set("Hardness_HRC", [4], "-inf")),
          ["1 target value(s) are not finite numbers (e.g. -inf in row(s) 6)"], refused=True),
    Quirk("target_absurd_magnitude", heat(_set("Hardness_HRC", [4, 7], "1e308")),
          ["2 target value(s) are absurdly far from the rest (e.g. 1e+308 in row(s) 6, 9", "more than 1,000,000 times"],
          refused=True),
    Quirk("dates_far_outside_the_window", heat(_set("Batch_Time", [10, 20], ["1500-01-01", "9999-12-31"])),
          ["Batch_Time: 2 date(s) outside 1900-2200 read as missing (e.g. '1500-01-01' in row(s) 12, 22"]),
    Quirk("dates_far_outside_refused_by_strict", heat(_set("Batch_Time", [10, 20], ["1500-01-01", "9999-12-31"])),
          ["column 'Batch_Time': 2 date(s) lie outside 1900-2200, e.g. '1500-01-01' in row(s) 12, 22"],
          refused=True, args=["--strict"]),
]


def _write(quirk: Quirk, folder: Path) -> Path:
    path = folder / f"{quirk.id}{quirk.suffix}"
    path.write_bytes(quirk.build())
    return path


def _invoke(*args: str):
    return CliRunner().invoke(app, [*args, "--lang", "en"], env={"COLUMNS": "250"})


def test_the_corpus_covers_the_quirks_of_plant_files():
    assert len(QUIRKS) >= 25 and len({q.id for q in QUIRKS}) == len(QUIRKS)
    assert sum(q.refused for q in QUIRKS) >= 6 and sum(not q.refused for q in QUIRKS) >= 20


@pytest.mark.parametrize("quirk", QUIRKS, ids=lambda q: q.id)
def test_check_reports_the_quirk(quirk, tmp_path):
    path = _write(quirk, tmp_path)
    result = _invoke("check", quirk.card, "--data", str(path), *quirk.args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert (result.exit_code == 2) == quirk.refused, result.output[-3000:]
    for phrase in [*quirk.says, *quirk.report]:
        assert phrase in result.output, f"{phrase!r} not in:\n{result.output[-3000:]}"
    for phrase in quirk.never:
        assert phrase not in result.output, f"{phrase!r} in:\n{result.output[-3000:]}"
    if quirk.refused:
        assert str(path) in result.output and "Fix:" in result.output


@pytest.mark.slow
@pytest.mark.parametrize("quirk", QUIRKS, ids=lambda q: q.id)
def test_run_trains_with_the_notes_or_stops_cleanly(quirk, store, tmp_path):
    path = _write(quirk, tmp_path)
    result = _invoke("run", quirk.card, "--data", str(path), "--trials", "1", "--quiet", *quirk.args)
    client = MlflowClient()
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    if quirk.refused:
        assert result.exit_code == 2 and not runs, result.output[-3000:]
        assert str(path) in result.output and "Traceback" not in result.output
        for phrase in quirk.says:
            assert phrase in result.output
        return
    assert result.exit_code == 0, result.output[-3000:]
    [run] = runs
    assert run.info.status == "FINISHED"
    notes = quirk.says
    for phrase in notes:
        assert phrase in result.output, f"{phrase!r} not printed by run:\n{result.output[-3000:]}"
    for key, value in quirk.tags.items():
        assert run.data.tags.get(key) == value, (key, run.data.tags.get(key))
    for key, value in quirk.metrics.items():
        assert run.data.metrics.get(key) == value, (key, run.data.metrics.get(key))
    if notes:
        logged = json.loads(Path(client.download_artifacts(run.info.run_id, "data/notes.json", str(tmp_path))).read_text())
        assert any(phrase in line for phrase in notes for line in logged["text"]["en"])
        assert notes[0].split(":")[0] in run.data.tags["mlflow.note.content"]


@pytest.mark.parametrize(("words", "positive"), [({0: "양품", 1: "불량"}, None), ({0: "OK", 1: "NG"}, None),
                                                 ({0: "O", 1: "X"}, None), ({0: "○", 1: "×"}, None),
                                                ({0: "A", 1: "B"}, "B"), ({0: 1, 1: 0}, "0")])
def test_a_files_own_defect_label_reads_as_the_cards(words, positive, tmp_path):
    """Each part keeps its verdict whatever words mark it, an inverted 0/1 column included (--positive 0)."""
    card = cards.load_card(CAST)
    path = tmp_path / "labelled.csv"
    path.write_bytes(_labelled(words)())
    original = tmp_path / "original.csv"
    original.write_bytes(csv(_reference(CAST)))
    read = data.load(card, path, options={"positive": positive}).frame["passorfail"]
    expected = data.load(card, original).frame["passorfail"]
    assert expected.sum() > 5 and read.tolist() == expected.astype(int).tolist()


def test_a_date_and_a_time_of_day_make_the_cards_time_stamps(tmp_path):
    card = cards.load_card(HEAT)
    original = _reference(HEAT)
    path = tmp_path / "split.csv"
    path.write_bytes(heat(_date_and_clock, "cp949")())
    read = data.load(card, path).frame["Batch_Time"]
    expected = pd.to_datetime(original["Batch_Time"]).dt.floor("min").sort_values()
    assert read.tolist() == expected.tolist()


@pytest.mark.parametrize(("text", "clock"), [("06:48", "06:48:00"), ("6:48:05", "06:48:05"), ("오후 3:05", "15:05:00"),
                                             ("오전 12:05", "00:05:00"), ("12:30 PM", "12:30:00"), ("25:00", None),
                                             ("오후 13:00", None), ("3.5", None)])
def test_times_of_day_as_plants_write_them(text, clock):
    from pipelines.parsing import parse_clock_times

    found = parse_clock_times(pd.Series([text])).iloc[0]
    assert (None if pd.isna(found) else str(found).split(" days ")[-1]) == clock


# --- the two files this work was measured against --------------------------------------------------------

def _die_casting_export(folder: Path) -> tuple[Path, list[str]]:
    """A die-casting export as a plant writes it: no time column and no molten_volume, sensor dropouts as
    0, a few biscuit outliers, a mold temperature that writes 1449 for 'no reading', a Korean note column,
    Korean headers (two of them the plant's own words), CP949."""
    card = cards.load_card("die-casting-quality")
    frame = _reference("die-casting-quality", rows=2000).drop(columns=["registration_time", "molten_volume"])
    frame = frame.astype({"molten_temp": float, "biscuit_thickness": float, "upper_mold_temp1": float})
    frame.loc[::20, "molten_temp"] = 0.0
    frame.loc[5::200, "biscuit_thickness"] = 420.0
    frame.loc[7::10, "upper_mold_temp1"] = 1449.0
    names = {c.name: c.ko for c in card.columns if c.ko} | {card.target.column: card.target.ko}
    names |= {"cast_pressure": "주조압력값", "physical_strength": "형체력(실측)"}
    frame = frame.rename(columns=names)
    frame["비고"] = ["금형 교체 후 첫 샷" if i % 97 == 0 else "" for i in range(len(frame))]
    path = folder / "다이캐스팅_11월.csv"
    path.write_bytes(frame.to_csv(index=False).encode("cp949"))
    return path, ["--map", "주조압력값=cast_pressure", "--map", "형체력(실측)=physical_strength"]


@pytest.mark.slow
def test_a_real_shaped_die_casting_export_checks_with_notes_and_trains(store, tmp_path):
    path, mapping = _die_casting_export(tmp_path)
    checked = _invoke("check", "die-casting-quality", "--data", str(path), *mapping)
    assert checked.exit_code == 0, checked.output[-3000:]
    for phrase in ("trained without 2 card column(s) not in the file: registration_time / 등록 시각; molten_volume",
                   "no registration_time in the file, so no split by time: split stratified",
                   "molten_temp 100 (range [", "biscuit_thickness 10 (range [", "upper_mold_temp1",
                   "주조압력값", "Split (stratified (classes in proportion) instead of the card's time",
                   "1 column(s) of the file are not used by the card and are ignored: 비고"):
        assert phrase in checked.output, f"{phrase!r} not in\n{checked.output[-3000:]}"
    result = _invoke("run", "die-casting-quality", "--data", str(path), "--trials", "1", "--quiet", *mapping)
    assert result.exit_code == 0, result.output[-3000:]
    [run] = MlflowClient().search_runs([MlflowClient().get_experiment_by_name("die-casting-quality").experiment_id])
    assert run.data.tags["split.fallback"] == "stratified" and run.data.tags["data.absent_columns"] == \
        "registration_time, molten_volume"
    assert run.data.metrics["data.out_of_range.molten_temp"] == 100
    assert "no registration_time in the file" in run.data.tags["mlflow.note.content"]
    assert "split: stratified" in result.output


@pytest.mark.slow
def test_new_card_from_a_month_first_mixed_date_file_trains_with_a_time_split(store, catalog_copy, tmp_path):
    rng = np.random.default_rng(5)
    days = pd.date_range("2015-01-01", periods=90, freq="D").repeat(5)
    workers = rng.integers(8, 60, len(days)).astype(float)
    overtime = rng.integers(0, 7000, len(days)).astype(float)
    frame = pd.DataFrame({
        "date": [d.strftime("%m-%d-%Y") if i % 3 else f"{d.month}/{d.day}/{d.year}" for i, d in enumerate(days)],
        "team": rng.integers(1, 6, len(days)), "smv": rng.uniform(3, 50, len(days)).round(2),
        "over_time": overtime, "no_of_workers": workers,
        "actual_productivity": (0.5 + 0.004 * workers - 0.00002 * overtime + rng.normal(0, 0.05, len(days))).round(4)})
    path = tmp_path / "productivity.csv"
    frame.to_csv(path, index=False)
    made = _invoke("new", "garment-productivity", "--data", str(path), "--target", "actual_productivity",
                   "--time", "date")
    assert made.exit_code == 0, made.output
    card = cards.load_card("garment-productivity")
    assert card.split.kind == "time" and card.column("date").date_order == "month-first"
    result = _invoke("run", "garment-productivity", "--trials", "1", "--quiet")
    assert result.exit_code == 0, result.output[-3000:]
    [run] = MlflowClient().search_runs([MlflowClient().get_experiment_by_name("garment-productivity").experiment_id])
    assert run.data.tags["split.kind"] == "time" and run.info.status == "FINISHED"


def test_clean_reference_data_raises_no_suspicion_of_sentinel_codes():
    """Flags, set points and the clipped ends of simulated readings are not sensor codes: a heuristic that
    cries wolf on every card would teach people to ignore it."""
    suspected = {c.id: [f for code, f in data.load(c).notes if code == "likely_sentinel"] for c in cards.list_cards()}
    assert not {k: v for k, v in suspected.items() if v}


@needs_public("steel_energy")
def test_new_reads_the_steel_energy_files_own_day_first_stamps(catalog_copy):
    path = Path(os.environ["WORKBENCH_DATA_DIR"]) / "steel_energy" / "Steel_industry_data.csv"
    made = _invoke("new", "steel-energy-own-file", "--data", str(path), "--target", "Usage_kWh", "--time", "date",
                   "--task", "forecast")
    assert made.exit_code == 0, made.output
    card = cards.load_card("steel-energy-own-file")
    assert card.column("date").date_order == "day-first" and card.split.kind == "time"
    loaded = data.load(card)  # the meter stamps each day's last interval '01/01/2018 00:00': the next midnight
    assert loaded.frame["date"].is_monotonic_increasing and loaded.frame["date"].max() == pd.Timestamp("2019-01-01 00:00")
    assert any("365 row(s) stamped 00:00 with the day that is ending" in n for n in loaded.notes_text("en"))


def test_rows_to_score_hear_nothing_of_the_training_split(tmp_path):
    """A file without the time column: training falls back to another split and says so; scoring does
    not split, so predict says nothing of it."""
    from pipelines.inspection import inspect

    card = cards.load_card(HEAT)
    frame = _reference(HEAT).drop(columns=["Batch_Time"])
    codes = {with_target: [code for code, _ in inspect(frame, card, "file.csv", with_target=with_target).notes]
             for with_target in (True, False)}
    assert "split_fallback" in codes[True] and "split_fallback" not in codes[False]


@pytest.mark.slow
def test_a_model_trained_on_the_plants_words_answers_in_them(store, tmp_path):
    """Trained on 양품 / 불량, the registered model's predictions say 양품 or 불량, not the card's 0 / 1."""
    path = tmp_path / "주조_판정.csv"
    path.write_bytes(_labelled({0: "양품", 1: "불량"})())
    ran = _invoke("run", CAST, "--data", str(path), "--trials", "1", "--quiet", "--site", "line1")
    assert ran.exit_code == 0, ran.output[-3000:]
    out = tmp_path / "scored.csv"
    scored = _invoke("predict", CAST, "--site", "line1", "--input", str(path), "--output", str(out))
    assert scored.exit_code == 0, scored.output[-3000:]
    predictions = pd.read_csv(out, encoding="utf-8-sig")["prediction"]
    assert set(predictions) <= {"양품", "불량"} and (predictions == "양품").any()


@pytest.mark.slow
def test_rows_scored_from_several_sheets_say_where_they_are(store, tmp_path):
    """predict --sheet all: each output row names its sheet and row as the messages do (2월!11 is the
    second month's row whose carbon reading was 측정불가)."""
    path = tmp_path / "months.xlsx"
    path.write_bytes(_monthly_workbook()())
    ran = _invoke("run", HEAT, "--data", str(path), "--sheet", "all", "--trials", "1", "--quiet", "--site", "shop")
    assert ran.exit_code == 0, ran.output[-3000:]
    out = tmp_path / "scored.csv"
    scored = _invoke("predict", HEAT, "--site", "shop", "--input", str(path), "--sheet", "all", "--output", str(out))
    assert scored.exit_code == 0, scored.output[-3000:]
    rows = pd.read_csv(out, encoding="utf-8-sig")
    assert len(rows) == 300 and rows["input_sheet_row"].str.match(r"^[123]월!\d+$").all()
    assert rows.loc[rows["Carbon_pct"].isna(), "input_sheet_row"].tolist() == ["2월!11"]


@pytest.mark.slow
def test_a_model_trained_on_an_mes_html_export_scores_an_old_xls_and_an_xml_workbook(store, tmp_path):
    """Trained on what an MES 'Excel download' wrote (an HTML page named .xls), the model scores the same
    rows saved as Excel 97-2003 (a month per sheet) and as Excel 2003 XML alike; each output row names
    its sheet and row."""
    rows = reading.read_table(OLD_XLS, sheet="all").reset_index(drop=True)
    train = tmp_path / "열처리_이력조회.xls"
    train.write_bytes(html_export(rows))
    ran = _invoke("run", HEAT, "--data", str(train), "--trials", "1", "--quiet", "--site", "shop")
    assert ran.exit_code == 0, ran.output[-3000:]
    assert "the file is an HTML table" in ran.output
    xml = tmp_path / "열처리.xls"
    xml.write_bytes(spreadsheet_xml(rows))
    scored = {}
    for name, path, args in (("xls", OLD_XLS, ["--sheet", "all"]), ("xml", xml, [])):
        out = tmp_path / f"{name}.csv"
        result = _invoke("predict", HEAT, "--site", "shop", "--input", str(path), "--output", str(out), *args)
        assert result.exit_code == 0, result.output[-3000:]
        scored[name] = pd.read_csv(out, encoding="utf-8-sig")
    assert len(scored["xls"]) == len(scored["xml"]) == 300
    assert scored["xls"]["input_sheet_row"].iloc[[0, 149, 150, 299]].tolist() == ["1월!4", "1월!153", "2월!4", "2월!153"]
    np.testing.assert_allclose(scored["xls"]["prediction"], scored["xml"]["prediction"])
    page = tmp_path / "page.html"  # the site's model report says how its file was read
    reported = _invoke("report", HEAT, "--site", "shop", "--version", "1", "--output", str(page))
    assert reported.exit_code == 0 and "heat-treatment-hardness.shop v1" in reported.output, reported.output
    assert "the file is an HTML table (as many MES &#39;Excel download&#39; buttons save it)" in page.read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_header_over_two_rows_scores_as_a_one_row_header_does(store, tmp_path):
    """Trained on a workbook whose header is merged over two rows; the same rows exported as CSV with that
    header are scored in streamed chunks exactly as a one-row header's file, each row numbered as in the file."""
    train = tmp_path / "열처리.xlsx"
    train.write_bytes(_header_over_two_rows(excel=True)())
    ran = _invoke("run", HEAT, "--data", str(train), "--trials", "1", "--quiet", "--site", "shop")
    assert ran.exit_code == 0, ran.output[-3000:]
    two_rows, one_row = tmp_path / "two_rows.csv", tmp_path / "one_row.csv"
    two_rows.write_bytes(_header_over_two_rows(excel=False)())
    one_row.write_bytes(csv(_korean(_reference(HEAT), HEAT), "cp949"))
    scored = {}
    for path in (two_rows, one_row):
        out = tmp_path / f"scored_{path.name}"
        result = _invoke("predict", HEAT, "--site", "shop", "--input", str(path), "--output", str(out), "--chunk-rows", "128")
        assert result.exit_code == 0, result.output[-3000:]
        scored[path] = pd.read_csv(out, encoding="utf-8-sig")
    assert len(scored[two_rows]) == len(scored[one_row]) == 300
    np.testing.assert_allclose(scored[two_rows]["prediction"], scored[one_row]["prediction"])
    # the file's second line holds the sub-headers: data row 1 of the one-row file is data row 2 here
    assert (scored[two_rows]["input_row"] == scored[one_row]["input_row"] + 1).all()


def test_time_stamps_from_their_pieces():
    from pipelines import time_parts

    frame = pd.DataFrame({"날짜": ["2024-03-01", "2024-03-01", "2024-03-02"], "시간": [1, 24, 13], "값": [1.0, 2.0, 3.0]})
    assert time_parts.pieces(frame, ["날짜", "시간", "값"]) == (["날짜", "시간"], "hour")
    assert time_parts.stamps(frame, ["날짜", "시간"], "hour").dt.strftime("%m-%d %H:%M").tolist() == [
        "03-01 00:00", "03-01 23:00", "03-02 12:00"]
    fields = pd.DataFrame({"연도": [2024, 2024], "월": [2, 12], "일": [29, 31], "시": [0, 23]})
    assert time_parts.pieces(fields, list(fields.columns)) == (["연도", "월", "일", "시"], "fields")
    assert time_parts.stamps(fields, ["연도", "월", "일", "시"], "fields").astype(str).tolist() == [
        "2024-02-29 00:00:00", "2024-12-31 23:00:00"]
    assert time_parts.pieces(fields.assign(월=[2, 13]), list(fields.columns)) is None  # 13 is not a month
    assert time_parts.pieces(fields.drop(columns="일"), ["연도", "월", "시"]) is None  # no day: not a time stamp


@pytest.mark.slow
def test_a_folder_of_daily_files_trains_and_scores_naming_each_rows_file(store, tmp_path):
    folder = tmp_path / "logger"
    folder.mkdir()
    frame = _reference(HEAT)
    for day in range(10):
        frame.iloc[day * 30:(day + 1) * 30].to_csv(folder / f"{day + 1:d}.csv", index=False)
    ran = _invoke("run", HEAT, "--data", str(folder), "--trials", "1", "--quiet")
    assert ran.exit_code == 0, ran.output[-3000:]
    assert "read 10 file(s) of the folder" in ran.output and "heat-treatment-hardness.logger" in ran.output
    out = tmp_path / "scored.csv"
    scored = _invoke("predict", HEAT, "--site", "logger", "--version", "1", "--input", str(folder), "--output", str(out))
    assert scored.exit_code == 0, scored.output[-3000:]
    rows = pd.read_csv(out, encoding="utf-8-sig")
    assert len(rows) == 300 and rows["input_sheet_row"].iloc[[0, 29, 30, 299]].tolist() == ["1.csv!2", "1.csv!31", "2.csv!2",
                                                                                         "10.csv!31"]


def test_24_00_is_the_end_of_its_day():
    from pipelines.parsing import parse_dates

    found = parse_dates(pd.Series(["2024-03-01 23:00", "2024-03-01 24:00", "2024.03.02 24:00:00", "2024-12-31T24:00"]))
    assert found.values.astype(str).tolist() == ["2024-03-01 23:00:00", "2024-03-02 00:00:00", "2024-03-03 00:00:00",
                                                 "2025-01-01 00:00:00"]
    assert found.midnight == 3 and not found.bad.any()


@pytest.mark.parametrize("excel", [False, True], ids=["csv", "xlsx"])
def test_tag_codes_over_the_names_read_as_the_names_alone(excel, tmp_path):
    """Tag codes over the names a card knows: the names are the header, and the rows are the same."""
    plain, coded = tmp_path / "plain.csv", tmp_path / ("coded.xlsx" if excel else "coded.csv")
    plain.write_bytes(csv(_korean(_reference(HEAT), HEAT), "cp949"))
    coded.write_bytes(_tag_codes_over_the_names(excel))
    expected, found = data.load(cards.load_card(HEAT), plain), data.load(cards.load_card(HEAT), coded)
    pd.testing.assert_frame_equal(found.frame, expected.frame, check_dtype=False)
    assert ("header_below", {"line": 2, "above": "TI-101, TI-102, TI-103, TI-104, ..."}) in found.notes


@pytest.mark.parametrize("build", [lambda f: f.to_string(index=False).encode(), _spaced], ids=["fixed_width", "one_space"])
def test_a_file_with_spaces_between_its_fields_reads_as_its_csv(build, tmp_path):
    """A fixed-width report (a time stamp holds a space) and a log with one space between fields."""
    frame = _reference(HEAT)
    (tmp_path / "plain.csv").write_bytes(csv(frame))
    (tmp_path / "spaced.txt").write_bytes(build(frame))
    card = cards.load_card(HEAT)
    expected, found = data.load(card, tmp_path / "plain.csv"), data.load(card, tmp_path / "spaced.txt")
    pd.testing.assert_frame_equal(found.frame, expected.frame, check_dtype=False)
    assert ("space_separated", {}) in found.notes


@pytest.mark.parametrize("sep", [",", " "], ids=["comma", "space"])
def test_a_file_without_a_header_row_in_the_cards_order_reads_as_its_csv_and_scores_in_chunks(sep, tmp_path):
    """A logger's file of values only, its columns the card's in the card's order (the target last, or not
    at all): read as the file with a header is, row numbers as in the file; predict's streamed reading
    gives the same rows chunk by chunk."""
    from pipelines.predict import read_chunks

    frame, card = _reference(HEAT), cards.load_card(HEAT)
    frame["Batch_Time"] = pd.to_datetime(frame["Batch_Time"]).dt.strftime("%Y-%m-%dT%H:%M:%S")  # no space inside
    (tmp_path / "plain.csv").write_bytes(csv(frame))
    for name, rows in (("all.txt", frame), ("inputs.txt", frame.drop(columns="Hardness_HRC"))):
        (tmp_path / name).write_bytes(rows.to_csv(index=False, header=False, sep=sep, na_rep="NaN").encode())
    expected = data.load(card, tmp_path / "plain.csv")
    found = data.load(card, tmp_path / "all.txt")
    pd.testing.assert_frame_equal(found.frame, expected.frame, check_dtype=False)
    assert any(code == "by_position" and fields["count"] == 15 for code, fields in found.notes)
    inputs = data.load_new(card, tmp_path / "inputs.txt")
    pd.testing.assert_frame_equal(inputs, expected.frame.drop(columns="Hardness_HRC"), check_dtype=False)
    chunks = [chunk for chunk, _ in read_chunks(tmp_path / "all.txt", 70, prefer=data.card_columns_in(card))]
    assert [len(c) for c in chunks] == [70, 70, 70, 70, 20]
    whole = pd.concat(chunks)
    assert list(whole.columns) == list(frame.columns) and whole.index.tolist() == list(range(len(frame)))
    assert whole["Furnace_ID"].tolist() == frame["Furnace_ID"].tolist()
    broken = tmp_path / "broken.txt"  # rows of 24.5 where the card reads a furnace's name: not the card's order
    broken.write_bytes(_moved_first(frame, "Hardness_HRC").to_csv(index=False, header=False, sep=sep, na_rep="NaN").encode())
    with pytest.raises(DataError, match="the file has no header row"):
        data.load(card, broken)


def test_a_loggers_file_a_day_named_by_its_date_makes_the_time_stamps(tmp_path):
    """A PLC data logger writes a file a day named by its date (LOG20240401.csv) whose rows hold only the
    time of day (to the millisecond): the folder validates to the frame of the same rows with whole stamps."""
    card = cards.load_card("pump-anomaly")
    frame = data.load(card).frame.iloc[:144 * 4]  # four days of 10-minute readings
    frame.to_csv(tmp_path / "plain.csv", index=False)
    folder = tmp_path / "logger"
    folder.mkdir()
    for day, rows in frame.groupby(frame["TimeStamp"].dt.date):
        rows.assign(TimeStamp=rows["TimeStamp"].dt.strftime("%H:%M:%S.%f").str[:-3]).rename(columns={"TimeStamp": "시각"}).to_csv(
            folder / f"LOG{day:%Y%m%d}.csv", index=False)
    expected, found = data.load(card, tmp_path / "plain.csv"), data.load(card, folder)
    pd.testing.assert_frame_equal(found.frame.reset_index(drop=True), expected.frame.reset_index(drop=True))
    [(_, fields)] = [n for n in found.notes if n[0] == "time_from_names"]
    assert fields["first"] == "LOG20240401.csv" and fields["what"]["en"] == "date" and fields["clock"]["en"].endswith("시각")


@needs_public("gas_turbine_emissions")
def test_the_uci_gas_turbine_folder_takes_each_files_year_from_its_name():
    """The UCI download is a file a year (gt_2011.csv ... gt_2015.csv) without a year column: the card's time
    column is each file's year, so the split by time holds on the raw folder."""
    card = cards.load_card("gas-turbine-emissions")
    found = data.load(card, Path(os.environ["WORKBENCH_DATA_DIR"]) / "gas_turbine_emissions")
    assert found.card.split.kind == "time" and sorted(found.frame["year"].unique()) == [2011, 2012, 2013, 2014, 2015]
    assert found.frame.groupby("year").size().to_dict() == {2011: 7411, 2012: 7628, 2013: 7152, 2014: 7158, 2015: 7384}


def test_a_class_written_as_a_flag_column_per_class_reads_as_the_target(tmp_path):
    """A QC export with a 0/1 column per defect type (스크래치, 찍힘, ...) instead of one type column: each
    row's class is the name of its flagged column; --strict refuses instead of guessing."""
    card = cards.load_card("steel-plate-fault-type")
    frame = data.load(card).frame.iloc[:400].reset_index(drop=True)
    kinds = sorted(frame["Fault"].unique())
    names = {kind: f"{kind} 불량" for kind in kinds}
    flagged = frame.drop(columns="Fault").assign(**{names[k]: (frame["Fault"] == k).astype(int) for k in kinds})
    flagged.to_csv(tmp_path / "flags.csv", index=False, encoding="cp949")
    found = data.load(card, tmp_path / "flags.csv")
    assert found.frame["Fault"].tolist() == frame["Fault"].map(names).tolist()
    [(_, fields)] = [n for n in found.notes if n[0] == "target_from_flags"]
    assert fields["count"] == len(kinds)
    with pytest.raises(DataError, match="Fault"):
        data.load(card, tmp_path / "flags.csv", options={"strict": True})


@needs_public("steel_plates_faults")
def test_the_uci_steel_plates_file_reads_its_fault_flags_as_the_class():
    card = cards.load_card("steel-plate-fault-type")
    raw = Path(os.environ["WORKBENCH_DATA_DIR"]) / "steel_plates_faults" / "steel_plates_faults.csv"
    found, reference = data.load(card, raw), data.load(card)
    assert found.frame["Fault"].str.replace(r"_Fault$", "", regex=True).value_counts().to_dict() == \
        reference.frame["Fault"].value_counts().to_dict()  # the loader names the classes without '_Fault'
    assert found.frame["Fault"].value_counts()["Other_Faults"] == 673


@pytest.mark.parametrize("card_id", ["vacuum-pump-rul", "bearing-rul", "turbofan-rul"])
def test_a_life_without_its_remaining_life_is_counted_from_each_units_last_row(card_id, tmp_path):
    """Histories of units run to failure without the RUL column (C-MAPSS's train files, a log of pumps run until
    replaced): the RUL is what each unit's age column (run_days, cycle) or clock (Datetime, in hours) has left to
    its last row, equal to the RUL the reference rows carry; --strict refuses instead."""
    card = cards.load_card(card_id)
    reference = data.load(card).frame
    ended = reference.groupby(card.group.column)["RUL"].transform("min") == 0  # C-MAPSS's test engines stop earlier
    reference = reference[ended].reset_index(drop=True)
    reference.drop(columns=["RUL"]).to_csv(tmp_path / "histories.csv", index=False)
    found = data.load(card, tmp_path / "histories.csv")
    assert len(found.frame) == len(reference)
    clip = card.target.clip  # training caps the RUL there; the IMS loader's reference rows are capped already
    np.testing.assert_allclose(np.minimum(found.frame["RUL"].sort_index().to_numpy(dtype=float), clip),
                               np.minimum(reference["RUL"].to_numpy(dtype=float), clip), atol=1e-3)  # hours to 3 decimals
    [(_, fields)] = [n for n in found.notes if n[0] == "rul_from_run_to_failure"]
    assert fields["units"] == reference[card.group.column].nunique()
    with pytest.raises(DataError, match="RUL"):
        data.load(card, tmp_path / "histories.csv", options={"strict": True})


@pytest.mark.slow
def test_dates_are_read_in_the_order_the_training_file_was_read_in(store, tmp_path):
    """A model trained on '23.01.02 06:48' (two-digit year first, told by 300 rows stepping forward)
    keeps that order: three such rows to score, too few to tell it, read as 2023 (not day-first 2002),
    in a file and in a served request. A file's later chunk whose days are all 12 or less, in no order,
    reads as its first chunk did instead of being refused as ambiguous."""
    from pipelines import registry, serving

    truth = pd.to_datetime(_reference(HEAT)["Batch_Time"])
    train = tmp_path / "열처리_yy.csv"
    train.write_bytes(heat(_stamps(lambda i, s: s.strftime("%y.%m.%d %H:%M")))())
    ran = _invoke("run", HEAT, "--data", str(train), "--trials", "1", "--quiet", "--site", "shop")
    assert ran.exit_code == 0, ran.output[-3000:]
    name = f"{HEAT}.shop"
    assert registry.load_model(name, version=1).date_orders == {"Batch_Time": "year-first"}

    rng = np.random.default_rng(0)
    stamps = pd.Series(pd.Timestamp("2024-01-01 06:00") + pd.to_timedelta(np.arange(ROWS) * 3, unit="h"))
    late = pd.to_datetime({"year": 2024, "month": rng.integers(2, 12, 150), "day": rng.integers(1, 13, 150),
                           "hour": rng.integers(0, 24, 150)})
    stamps.iloc[150:] = late.to_numpy()  # the second chunk: no day above 12, no time order
    month_first = _reference(HEAT).assign(Batch_Time=stamps.dt.strftime("%m/%d/%Y %H:%M"))
    chunked = tmp_path / "month_first.csv"
    month_first.to_csv(chunked, index=False)
    out = tmp_path / "chunked.parquet"
    scored = _invoke("predict", HEAT, "--site", "shop", "--input", str(chunked), "--output", str(out),
                     "--chunk-rows", "150")
    assert scored.exit_code == 0, scored.output[-3000:]
    written = pd.read_parquet(out)
    assert written["Batch_Time"].tolist() == stamps.iloc[written["input_row"] - 1].tolist()

    few = tmp_path / "few.csv"
    pd.read_csv(train, dtype=str).head(3).to_csv(few, index=False)
    out = tmp_path / "few.parquet"
    scored = _invoke("predict", HEAT, "--site", "shop", "--input", str(few), "--output", str(out))
    assert scored.exit_code == 0, scored.output[-3000:]
    assert "dates read year-first (yy.mm.dd), as version 1's training file was read" in scored.output
    assert pd.read_parquet(out)["Batch_Time"].tolist() == truth.head(3).tolist()

    served = serving.Served.load(cards.load_card(HEAT), 1, run_id=None, name=name)
    record = {k: v for k, v in pd.read_csv(few).iloc[0].items() if k != "Hardness_HRC"}
    frame = serving.frame_from(serving.parse(json.dumps({"dataframe_records": [record]}).encode(), served.positional),
                               served.card, served.specs)
    assert frame["Batch_Time"].tolist() == truth.head(1).tolist()


@pytest.mark.slow
def test_a_days_file_whose_dates_fit_both_orders_reads_as_the_training_file_did(store, tmp_path):
    """Trained on a day-first export (a day above 12 told it), the next day's file of the same export,
    whose every date is 03/04/2024, is read day-first (3 April) instead of being refused as ambiguous."""
    train = tmp_path / "day_first.csv"
    train.write_bytes(heat(_stamps(lambda i, s: s.strftime("%d/%m/%Y %H:%M")))())
    ran = _invoke("run", HEAT, "--data", str(train), "--trials", "1", "--quiet", "--site", "shop")
    assert ran.exit_code == 0, ran.output[-3000:]
    day = pd.Series(pd.Timestamp("2024-04-03") + pd.to_timedelta(np.arange(48) * 30, unit="min"))
    path = tmp_path / "03-04-2024.csv"
    _reference(HEAT).head(48).assign(Batch_Time=day.dt.strftime("%d/%m/%Y %H:%M")).to_csv(path, index=False)
    checked = _invoke("check", HEAT, "--data", str(path))  # the file alone cannot tell
    assert checked.exit_code == 2 and "--dayfirst or --monthfirst" in checked.output, checked.output[-2000:]
    out = tmp_path / "scored.parquet"
    scored = _invoke("predict", HEAT, "--site", "shop", "--input", str(path), "--output", str(out))
    assert scored.exit_code == 0, scored.output[-3000:]
    assert "Batch_Time: dates read day-first, as version 1's training file was read" in scored.output
    assert pd.read_parquet(out)["Batch_Time"].tolist() == day.tolist()


def test_a_card_drafted_from_a_file_of_two_digit_years_first_keeps_that_order(catalog_copy, tmp_path):
    """`workbench new` on '23.01.02 06:48' stamps writes date_order: year-first, so the card reads a
    file of three such rows (too few to tell by themselves) as 2023, not as 23 January 2002."""
    path = tmp_path / "열처리_yy.csv"
    path.write_bytes(heat(_stamps(lambda i, s: s.strftime("%y.%m.%d %H:%M")))())
    made = _invoke("new", "hardness-own-file", "--data", str(path), "--target", "Hardness_HRC", "--time", "Batch_Time")
    assert made.exit_code == 0, made.output
    card = cards.load_card("hardness-own-file")
    assert card.column("Batch_Time").date_order == "year-first"
    few = tmp_path / "few.csv"
    pd.read_csv(path, dtype=str).head(3).to_csv(few, index=False)
    read = data.load_new(card, few)
    assert read["Batch_Time"].tolist() == pd.to_datetime(_reference(HEAT)["Batch_Time"]).head(3).tolist()


@needs_public("cmapss")
def test_the_cmapss_files_as_nasa_ships_them_read_without_a_header_row():
    """train_FD001.txt: spaces between the fields, no header, no RUL; its 26 columns are the turbofan card's
    in the card's order, so it reads with the RUL counted from each engine's last cycle."""
    folder = Path(os.environ["WORKBENCH_DATA_DIR"]) / "cmapss"
    card = cards.load_card("turbofan-rul")
    found = data.load(card, folder / "train_FD001.txt")
    assert found.frame["unit"].nunique() == 100 and len(found.frame) == 20631
    assert found.frame.groupby("unit")["RUL"].min().eq(0).all()
    assert {"space_separated", "by_position", "rul_from_run_to_failure"} <= {code for code, _ in found.notes}
    scored = data.load_new(card, folder / "test_FD001.txt")
    assert scored["unit"].nunique() == 100 and list(scored.columns[:2]) == ["unit", "cycle"]
