"""`workbench predict` writes .csv, .xlsx and .parquet by the output's suffix (issue 18): Korean headers for
the columns it adds with --lang ko, time stamps as the input wrote them (else ISO, never nanoseconds),
an Excel file that keeps the input's own columns with the added numbers formatted and no formula, more
rows than a sheet holds refused before scoring, and the closing summary in the asked language. A real
model in a real store, real files."""

from __future__ import annotations

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import pipelines as wb
from pipelines.cli import app
from pipelines.predict import EXCEL_ROWS, predict_file
from serving_support import CARD, temporary_store, train

pytestmark = pytest.mark.xdist_group("serving")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    with temporary_store(tmp_path_factory.mktemp("outputs"), rows=600) as uri:
        card = wb.load_card(CARD)
        version = train(CARD, seed=0)
        yield {"uri": uri, "card": card, "version": version, "frame": wb.load_data(card).frame[card.input_columns]}


def _korean_input(model, rows: int = 40) -> pd.DataFrame:
    """The plant's own sheet: Korean headers with units, a note column the card does not know, dates
    written the Korean way."""
    card = model["card"]
    frame = model["frame"].head(rows).copy()
    frame["Batch_Time"] = frame["Batch_Time"].dt.strftime("%Y년 %m월 %d일 %H:%M")
    named = frame.rename(columns={c.name: f"{c.ko} ({c.unit})" if c.unit else c.ko for c in card.columns if c.ko})
    named.insert(0, "비고", ["=HYPERLINK(\"http://x\")" if i == 0 else f"lot {i}" for i in range(rows)])
    return named


def test_excel_output_keeps_the_input_columns_with_korean_headers_and_formatted_numbers(model, tmp_path):
    source = tmp_path / "2월_열처리.csv"  # as Korean Windows saves it; a formula survives here (an .xlsx would run it)
    plant = _korean_input(model)
    plant.to_csv(source, index=False, encoding="cp949")
    out = tmp_path / "결과.xlsx"
    done = CliRunner().invoke(app, ["predict", CARD, "--input", str(source), "--output", str(out), "--lang", "ko",
                                    "--quiet"])
    assert done.exit_code == 0, done.output
    assert f"{CARD} v{model['version']} 모델의 예측 40건을 {out}에 썼습니다" in done.output
    sheet = openpyxl.load_workbook(out).active
    header = [c.value for c in sheet[1]]
    assert header[:len(plant.columns)] == list(plant.columns)  # the user's own columns, in their order
    assert header[len(plant.columns):] == ["모델", "버전", "예측", "하한", "상한", "입력 행"]
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.b
    first = [c for c in sheet[2]]
    assert first[0].value == "=HYPERLINK(\"http://x\")" and first[0].data_type == "s"  # text, not a formula
    assert first[header.index("배치 시각")].value == plant.iloc[0]["배치 시각"]  # as the input wrote it
    prediction = first[header.index("예측")]
    assert isinstance(prediction.value, float) and prediction.number_format == "#,##0.0##"
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 40 and [r[-1] for r in rows] == list(range(1, 41))
    expected = predict_file(CARD, source, tmp_path / "same.csv", lang="en")  # the same model, CSV, English
    again = pd.read_csv(tmp_path / "same.csv", encoding="utf-8-sig")
    assert expected.rows == 40
    np.testing.assert_allclose([r[header.index("예측")] for r in rows], again["prediction"], rtol=1e-12)


def test_csv_writes_time_stamps_as_the_input_did_or_iso_without_nanoseconds(model, tmp_path):
    frame = model["frame"].head(30)
    text = tmp_path / "text_dates.csv"
    korean = frame.assign(Batch_Time=frame["Batch_Time"].dt.strftime("%Y.%m.%d %H:%M"))
    korean.to_csv(text, index=False)
    predict_file(CARD, text, tmp_path / "a.csv", lang="ko")
    written = pd.read_csv(tmp_path / "a.csv", encoding="utf-8-sig", dtype=str)
    assert list(written["Batch_Time"]) == list(korean["Batch_Time"])
    assert {"예측", "하한", "상한", "모델", "버전", "입력 행"} <= set(written.columns)
    typed = tmp_path / "typed.parquet"
    frame.to_parquet(typed, index=False)
    predict_file(CARD, typed, tmp_path / "b.csv")
    stamps = pd.read_csv(tmp_path / "b.csv", encoding="utf-8-sig", dtype=str)["Batch_Time"]
    assert list(stamps) == list(frame["Batch_Time"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    assert not stamps.str.contains(r"\.0{6,}").any()
    predict_file(CARD, typed, tmp_path / "c.parquet")  # Parquet keeps the time type
    assert pq.read_table(tmp_path / "c.parquet").schema.field("Batch_Time").type == pa.timestamp("ns") or \
        pa.types.is_timestamp(pq.read_table(tmp_path / "c.parquet").schema.field("Batch_Time").type)


def test_more_rows_than_a_sheet_holds_are_refused_before_scoring(model, tmp_path):
    big = tmp_path / "big.parquet"
    row = model["frame"].head(1)
    pq.write_table(pa.Table.from_pandas(row.loc[row.index.repeat(EXCEL_ROWS)], preserve_index=False), big)
    result = CliRunner().invoke(app, ["predict", CARD, "--input", str(big), "--output", str(tmp_path / "x.xlsx"),
                                      "--lang", "en", "--quiet"])
    assert result.exit_code != 0
    assert f"{EXCEL_ROWS:,} rows to score, more than an Excel sheet holds" in result.output
    assert ".csv or .parquet" in result.output and not (tmp_path / "x.xlsx").exists()
    assert not list(tmp_path.glob(".*partial"))
    korean = CliRunner().invoke(app, ["predict", CARD, "--input", str(big), "--output", str(tmp_path / "x.txt"),
                                      "--lang", "ko", "--quiet"])
    assert korean.exit_code != 0 and ".csv, .xlsx, .parquet 파일로만" in korean.output


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_text_columns_empty_in_the_first_chunk_are_scored_and_written(model, tmp_path, kind):
    """A plant export whose text columns are blank for the first part of the file (filled in from some
    day on): each chunk gets the same column types, so every output format takes it, and every row is
    scored as it is when the file is one chunk."""
    frame = model["frame"].head(300).astype({"Furnace_ID": object, "Quench_Medium": object})
    frame.loc[:99, ["Furnace_ID", "Quench_Medium"]] = None
    source = tmp_path / f"late.{kind}"
    frame.to_csv(source, index=False) if kind == "csv" else frame.to_parquet(source, index=False, row_group_size=100)
    whole = predict_file(CARD, source, tmp_path / "whole.parquet", chunk_rows=1000)
    assert whole.rows == 300
    expected = pd.read_parquet(tmp_path / "whole.parquet")
    for out in ("csv", "parquet", "xlsx"):
        done = predict_file(CARD, source, tmp_path / f"chunked.{out}", chunk_rows=100)
        assert done.rows == 300
        read = {"csv": lambda p: pd.read_csv(p, encoding="utf-8-sig"), "parquet": pd.read_parquet,
                "xlsx": pd.read_excel}[out]
        written = read(tmp_path / f"chunked.{out}")
        np.testing.assert_allclose(written["prediction"], expected["prediction"], rtol=1e-9)
        assert written["Furnace_ID"].iloc[:100].isna().all()
        assert list(written["Furnace_ID"].iloc[100:]) == list(frame["Furnace_ID"].iloc[100:])


def test_codes_that_turn_from_numbers_to_text_go_to_csv_and_are_refused_by_name_for_parquet(model, tmp_path):
    """Furnace codes 1, 2, 3 in the first rows and F1, F2 further down: CSV holds both; a Parquet file
    keeps one type per column, so that output is refused naming the file, the column and the row, and
    nothing is left behind."""
    frame = model["frame"].head(300).astype({"Furnace_ID": object})
    frame.loc[:99, "Furnace_ID"] = [str(i % 3 + 1) for i in range(100)]
    source = tmp_path / "codes.csv"
    frame.to_csv(source, index=False)
    predict_file(CARD, source, tmp_path / "codes_out.csv", chunk_rows=100)
    written = pd.read_csv(tmp_path / "codes_out.csv", encoding="utf-8-sig", dtype=str)
    assert list(written["Furnace_ID"]) == [str(v) for v in frame["Furnace_ID"]]
    result = CliRunner().invoke(app, ["predict", CARD, "--input", str(source), "--output",
                                      str(tmp_path / "codes_out.parquet"), "--chunk-rows", "100", "--lang", "en",
                                      "--quiet"])
    assert result.exit_code != 0
    said = " ".join(result.output.split())
    assert "codes.csv: column Furnace_ID holds numbers in the first rows scored and text from row 101 on" in said
    assert "write the predictions to a .csv file" in said
    assert not (tmp_path / "codes_out.parquet").exists() and not list(tmp_path.glob(".*partial"))
