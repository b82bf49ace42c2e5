"""Daily reports laid sideways (운전 일보: a row per item, a column per hour of the day), as plants keep them in
Excel, turned to the row per time stamp a card reads (pipelines/sideways.py): a day per sheet with the date in
the title, or a day per file with the date in its name, validates to the same frame as the wide file."""

from __future__ import annotations

import datetime as dt

import numpy as np
import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines import cards, data, sideways
from pipelines.cli import app

from plant_exports import invoke, trained_on

PUMP = cards.load_card("pump-anomaly")
KO = {c.name: c.ko for c in PUMP.columns} | {PUMP.target.column: PUMP.target.ko}
UNITS = {c.ko: c.unit or "-" for c in PUMP.columns} | {PUMP.target.ko: "-"}
DAYS = 5
HOURS = [f"{h:02d}:00" for h in range(1, 25)]  # a day's readings at 01:00 ... 24:00 (00:00 of the next day)


@pytest.fixture(scope="module")
def wide() -> pd.DataFrame:
    """Five days of hourly pump readings (reference rows, faults among them, re-stamped each hour from
    2024-04-01 01:00)."""
    frame = data.load(PUMP).frame.iloc[200:200 + 24 * DAYS].reset_index(drop=True)  # faults from row 280 on
    frame["TimeStamp"] = pd.date_range("2024-04-01 01:00", periods=len(frame), freq="h")
    return frame


def daily(wide: pd.DataFrame, day: int) -> list[list]:
    """One day's report: a header (항목, 단위, the hours, 평균) and a row per item."""
    rows = wide.iloc[24 * day:24 * (day + 1)].drop(columns="TimeStamp").rename(columns=KO)
    table = [["항목", "단위", *HOURS, "평균"]]
    for item in rows.columns:
        table.append([item, UNITS[item], *rows[item].tolist(), round(float(rows[item].mean()), 3)])
    return table


def the_day(day: int) -> dt.date:
    return dt.date(2024, 4, 1) + dt.timedelta(days=day)


def workbook(wide: pd.DataFrame, path, titled: bool = True) -> None:
    """A sheet a day named by the day of the month; the date in a title row above the table."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for day in range(DAYS):
        sheet = book.create_sheet(f"{the_day(day).day}일")
        if titled:
            sheet.append([f"{the_day(day):%Y년 %m월 %d일} 펌프 운전 일보"])
            sheet.append([])
        for row in daily(wide, day):
            sheet.append(row)
    book.save(path)


def _validated(path, **kwargs) -> data.Dataset:
    return data.load(PUMP, path, **kwargs)


def test_a_sheet_a_day_with_the_date_in_its_title_reads_as_the_wide_file(wide, tmp_path):
    wide.to_csv(tmp_path / "wide.csv", index=False)
    expected = _validated(tmp_path / "wide.csv")
    workbook(wide, tmp_path / "일보.xlsx")
    found = _validated(tmp_path / "일보.xlsx", sheet="all")
    # the same values; a 0/1 item shares its hour's column with decimals, so it reads as 0.0/1.0 there
    pd.testing.assert_frame_equal(found.frame.reset_index(drop=True), expected.frame.reset_index(drop=True),
                                  check_dtype=False)
    codes = dict(found.notes)
    assert codes["turned"]["rows"] == 24 * DAYS and codes["turned"]["blocks"] == DAYS and codes["turned"]["card_items"] == 10
    assert codes["turned"]["first"] == "01:00" and codes["turned"]["last"] == "24:00"
    assert codes["turned_aside"] == {"columns": "단위, 평균"}
    assert found.card.split.kind == "time"  # the time split holds: each day's hours are on its own day


def test_a_file_a_day_named_by_its_date_reads_as_the_wide_file(wide, tmp_path):
    """A logger's folder: a CSV a day without a title, its day in its name (pump_20240401.csv), hours as 1시."""
    wide.to_csv(tmp_path / "wide.csv", index=False)
    expected = _validated(tmp_path / "wide.csv")
    folder = tmp_path / "days"
    folder.mkdir()
    for day in range(DAYS):
        table = daily(wide, day)
        table[0] = [*table[0][:2], *[f"{h}시" for h in range(1, 25)], table[0][-1]]
        pd.DataFrame(table[1:], columns=table[0]).to_csv(folder / f"pump_{the_day(day):%Y%m%d}.csv", index=False,
                                                         encoding="cp949")
    found = _validated(folder)
    pd.testing.assert_frame_equal(found.frame.reset_index(drop=True), expected.frame.reset_index(drop=True),
                                  check_dtype=False)
    assert dict(found.notes)["turned"]["blocks"] == DAYS


def test_a_monthly_report_with_a_column_a_day_reads_as_the_wide_file(tmp_path):
    """A month's report (1일 ... 30일), the month in its title: a row a day."""
    frame = data.load(PUMP).frame.iloc[270:300].reset_index(drop=True)  # faults from row 280 on
    frame["TimeStamp"] = pd.date_range("2024-04-01", periods=30, freq="D")
    frame.to_csv(tmp_path / "wide.csv", index=False)
    expected = _validated(tmp_path / "wide.csv")
    items = frame.drop(columns="TimeStamp").rename(columns=KO)
    report = pd.DataFrame([[item, *items[item].tolist()] for item in items.columns],
                          columns=["항목", *[f"{d}일" for d in range(1, 31)]])
    with open(tmp_path / "월보.csv", "w", encoding="cp949", newline="") as handle:
        handle.write("2024년 4월 펌프 운전 월보\n\n")
        report.to_csv(handle, index=False)
    found = _validated(tmp_path / "월보.csv")
    pd.testing.assert_frame_equal(found.frame.reset_index(drop=True), expected.frame.reset_index(drop=True),
                                  check_dtype=False)
    assert dict(found.notes)["turned"]["first"] == "1일"


def test_a_report_without_its_day_says_so(wide, tmp_path):
    workbook(wide, tmp_path / "일보.xlsx", titled=False)  # sheets named 1일 ... 5일: no year, no month
    result = CliRunner().invoke(app, ["check", PUMP.id, "--data", str(tmp_path / "일보.xlsx"), "--sheet", "all",
                                      "--lang", "en"], env={"COLUMNS": "250"})
    assert "5 table(s) (1일, 2일, 3일, 4일, 5일) give no day" in result.output, result.output


def test_header_times():
    assert sideways.header_time("24:00") == ("clock", pd.Timedelta(hours=24))
    assert sideways.header_time("7시") == ("hour", pd.Timedelta(hours=7))
    assert sideways.header_time("13.0") == ("hour", pd.Timedelta(hours=13))
    assert sideways.header_time("2024-04-01 05:00") == ("stamp", pd.Timestamp("2024-04-01 05:00"))
    assert sideways.header_time("31일") == ("day", 31)
    assert [sideways.header_time(n) for n in ("25:00", "평균", "단위", "31", "12:60", "32일")] == [None] * 6


@pytest.mark.parametrize("card_id", cards.list_ids())
def test_no_cards_wide_rows_are_taken_for_a_sideways_file(card_id):
    from pipelines.templates import example_rows

    card = cards.load_card(card_id)
    assert sideways.found(example_rows(card, 40), card) is None


@pytest.mark.slow
def test_a_model_scores_a_sideways_report_as_the_wide_file(wide, store, tmp_path):
    train = trained_on(PUMP.id, wide, tmp_path)
    report = tmp_path / "일보.xlsx"
    workbook(wide, report)
    scored = {}
    for path, out in ((train, tmp_path / "wide_scored.csv"), (report, tmp_path / "report_scored.xlsx")):
        result = invoke("predict", PUMP.id, "--site", "shop", "--version", "1", "--input", str(path), "--output", str(out),
                        "--sheet", "all")
        assert result.exit_code == 0, result.output[-3000:]
        scored[path] = pd.read_csv(out, encoding="utf-8-sig") if out.suffix == ".csv" else pd.read_excel(out)
    assert len(scored[report]) == len(scored[train]) == 24 * DAYS
    np.testing.assert_allclose(scored[report]["score"], scored[train]["score"])
    # the Excel output holds the turned rows: a time stamp and a column per item
    assert pd.to_datetime(scored[report]["TimeStamp"]).tolist() == wide["TimeStamp"].tolist()
    np.testing.assert_allclose(scored[report][KO["flow_m3h"]], wide["flow_m3h"])


def test_new_drafts_a_card_from_a_daily_report(wide, catalog_copy, tmp_path):
    """`workbench new` on a daily report laid sideways: the target is an item, the turned times are the time
    column, and the same report then checks against the drafted card with the split by time possible."""
    path = tmp_path / "일보.xlsx"
    workbook(wide, path)
    made = invoke("new", "pump-report", "--data", str(path), "--sheet", "all", "--target", KO["flow_m3h"])
    assert made.exit_code == 0, made.output
    assert "turned to 120 rows, one per time" in made.output and "time 시각" in made.output
    card = cards.load_card("pump-report")
    assert card.target.column == KO["flow_m3h"] and card.task == "regression" and card.split.kind == "time"
    assert {c.name for c in card.columns} == {"시각", *(KO[c.name] for c in PUMP.columns[1:]), KO["fault"]} - {KO["flow_m3h"]}
    checked = invoke("check", "pump-report", "--data", str(path), "--sheet", "all")
    assert checked.exit_code == 0, checked.output
    assert "Time 시각: 2024-04-01 01:00:00 to 2024-04-06 00:00:00" in checked.output
    assert "Split (time, test 20%): possible" in checked.output
