"""Files of one reading per row (historian, SCADA and MES exports: 시간, 태그, 값) widened to the row per
time stamp a card reads (pipelines/long_format.py): the same batches as a historian stores them validate to
the same frame as the wide file, and a model scores them alike."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines import cards, data, long_format
from pipelines.cli import app

from plant_exports import invoke, trained_on
from pipelines.templates import example_rows

HEAT = cards.load_card("heat-treatment-hardness")
KO = {c.name: c.ko for c in HEAT.columns if c.ko} | {HEAT.target.column: HEAT.target.ko}


@pytest.fixture(scope="module")
def wide() -> pd.DataFrame:
    """300 heat-treatment batches with Korean headers, time stamps as text, as a wide export has them."""
    frame = data.load(HEAT).frame.iloc[:300].reset_index(drop=True)
    frame["Batch_Time"] = frame["Batch_Time"].dt.strftime("%Y-%m-%d %H:%M:%S")
    return frame.rename(columns=KO)


def historian(wide: pd.DataFrame, by_exception: bool = True) -> pd.DataFrame:
    """The batches as a historian exports them: time, tag, value, one reading per row; by exception, a
    reading equal to the tag's previous one is not stored (an empty reading is)."""
    time = KO["Batch_Time"]
    long = wide.melt(id_vars=[time], var_name="태그", value_name="값").sort_values([time, "태그"], kind="stable")
    if by_exception:
        previous = long.groupby("태그")["값"].shift()
        long = long[~(long["값"] == previous)]
    return long.reset_index(drop=True)


def _load(frame: pd.DataFrame, path) -> data.Dataset:
    frame.to_csv(path, index=False, encoding="cp949")
    return data.load(HEAT, path)


def test_a_historian_export_validates_to_the_same_rows_as_the_wide_file(wide, tmp_path):
    long = historian(wide)
    assert len(long) < 14 * 300 * 0.95  # unchanged readings left out (quench medium, furnace, soak time)
    expected = _load(wide, tmp_path / "wide.csv")
    found = _load(long, tmp_path / "long.csv")
    pd.testing.assert_frame_equal(found.frame.reset_index(drop=True), expected.frame.reset_index(drop=True))
    assert found.sha256 == expected.sha256
    [(code, fields)] = [n for n in found.notes if n[0].startswith("widened")]
    assert code == "widened" and fields["rows"] == 300 and fields["card_tags"] == 14
    assert fields["filled"] == 14 * 300 - len(long)  # every reading left out, and nothing else
    assert fields["tag"] == "태그" and fields["value"] == "값" and fields["keys"] == KO["Batch_Time"]
    assert found.facts["rows"] == 300 and found.card.split.kind == "time"  # the time split holds


def test_widened_rows_point_at_their_first_line_in_the_file(wide, tmp_path):
    long = historian(wide, by_exception=False)
    path = tmp_path / "long.csv"
    long.to_csv(path, index=False)
    frame = data.read_table(path)
    out = long_format.widened(frame, HEAT)
    assert out.index[:3].tolist() == [0, 14, 28]  # 14 readings a batch: rows 0, 14, 28 of the file's data
    assert len(out) == 300 and out.attrs["reading"]["widened"]["filled"] == 0


def test_a_lots_missing_test_stays_missing_and_repeats_keep_the_first(wide):
    """Keyed by lot, not by time: a lot without a reading of a test keeps it missing (no previous value)."""
    lots = wide.drop(columns=[KO["Batch_Time"]]).assign(LOT=[f"L{i:04d}" for i in range(len(wide))])
    long = lots.melt(id_vars=["LOT"], var_name="검사항목", value_name="측정값")
    long = long[~((long["LOT"] == "L0005") & (long["검사항목"] == KO["Carbon_pct"]))]
    long = pd.concat([long, long[(long["LOT"] == "L0007") & (long["검사항목"] == KO["Hardness_HRC"])].assign(측정값=99.0)])
    out = long_format.widened(long.reset_index(drop=True), HEAT)
    info = out.attrs["reading"]["widened"]
    assert info["keys"] == ["LOT"] and info["filled"] is None and info["repeated"] == 1
    row = out.set_index("LOT")
    assert pd.isna(row.loc["L0005", KO["Carbon_pct"]]) and row.loc["L0006", KO["Carbon_pct"]] == wide.loc[6, KO["Carbon_pct"]]
    assert row.loc["L0007", KO["Hardness_HRC"]] == wide.loc[7, KO["Hardness_HRC"]]  # the first reading, not the repeat


@pytest.mark.parametrize("card_id", cards.list_ids())
def test_no_cards_wide_rows_are_taken_for_a_long_file(card_id):
    card = cards.load_card(card_id)
    assert long_format.found(example_rows(card, 40), card) is None


def test_check_says_the_file_was_widened(wide, tmp_path):
    path = tmp_path / "history.csv"
    historian(wide).to_csv(path, index=False, encoding="cp949")
    result = CliRunner().invoke(app, ["check", HEAT.id, "--data", str(path), "--lang", "en"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "the file holds one reading per row (태그 names it, 값 holds it)" in result.output
    assert "read as 300, one per 배치 시각" in result.output and "Split (time, test 20%): possible" in result.output


@pytest.mark.slow
def test_a_model_scores_a_historian_export_as_the_wide_file(wide, store, tmp_path):
    train = trained_on(HEAT.id, wide, tmp_path)
    long = tmp_path / "history.csv"
    historian(wide).to_csv(long, index=False)
    scored = {}
    for path in (train, long):
        out = tmp_path / f"scored_{path.name}"
        result = invoke("predict", HEAT.id, "--site", "shop", "--version", "1", "--input", str(path), "--output", str(out), "--chunk-rows", "500")
        assert result.exit_code == 0, result.output[-3000:]
        scored[path] = pd.read_csv(out, encoding="utf-8-sig")
    assert len(scored[long]) == len(scored[train]) == 300
    np.testing.assert_allclose(scored[long]["prediction"], scored[train]["prediction"])
    assert scored[long]["Batch_Time"].tolist() == scored[train]["Batch_Time"].tolist()
    # Excel output shows the file's own columns: for a long file, the row per time stamp that was scored
    book = tmp_path / "scored_history.xlsx"
    result = invoke("predict", HEAT.id, "--site", "shop", "--version", "1", "--input", str(long), "--output", str(book))
    assert result.exit_code == 0, result.output[-3000:]
    sheet = pd.read_excel(book)
    assert "태그" not in sheet.columns and "값" not in sheet.columns
    assert sheet[KO["Batch_Time"]].tolist() == wide[KO["Batch_Time"]].tolist()
    np.testing.assert_allclose(sheet[KO["Carbon_pct"]], wide[KO["Carbon_pct"]])
    np.testing.assert_allclose(sheet["prediction"], scored[train]["prediction"])


def test_a_column_describing_each_tag_is_not_a_key(wide):
    """A historian writes each tag's unit beside its reading (단위): one value per tag, not per row. Keyed by
    lot, it was taken for a second key (a row per lot and unit); it is now left out, with a note."""
    units = {c.ko: c.unit for c in HEAT.columns if c.ko} | {HEAT.target.ko: "HRC"}
    lots = wide.drop(columns=[KO["Batch_Time"]]).assign(LOT=[f"L{i:04d}" for i in range(len(wide))])
    long = lots.melt(id_vars=["LOT"], var_name="검사항목", value_name="측정값")
    long["단위"] = long["검사항목"].map(units).fillna("-")
    out = long_format.widened(long, HEAT)
    assert len(out) == len(wide) and "단위" not in out.columns
    assert out.attrs["reading"]["widened"]["keys"] == ["LOT"] and out.attrs["reading"]["widened"]["described"] == ["단위"]
    np.testing.assert_allclose(out[KO["Carbon_pct"]].to_numpy(dtype=float), wide[KO["Carbon_pct"]].to_numpy(dtype=float))
    notes = data.inspect(data.map_columns(out, HEAT, None, "lots.csv"), HEAT, "lots.csv").notes
    assert ("widened_tag_columns", {"columns": "단위", "tag": "검사항목"}) in notes


def test_new_drafts_a_card_from_a_historian_export(wide, catalog_copy, tmp_path):
    """`workbench new` on a file of one reading per row: the target is a tag, the card's columns are the
    other tags, and the same file then checks against the drafted card, widened to its 300 batches."""
    path = tmp_path / "history.csv"
    long = historian(wide)
    long["단위"] = long["태그"].map({c.ko: c.unit for c in HEAT.columns if c.ko}).fillna("-")
    long.to_csv(path, index=False, encoding="cp949")
    made = invoke("new", "historian-hardness", "--data", str(path), "--target", KO["Hardness_HRC"], "--time", KO["Batch_Time"])
    assert made.exit_code == 0, made.output
    assert f"its {len(long)} rows read as 300, one per 배치 시각" in made.output
    assert "단위: one value per 태그" in made.output
    card = cards.load_card("historian-hardness")
    assert card.target.column == KO["Hardness_HRC"] and card.task == "regression" and card.time.column == KO["Batch_Time"]
    assert {c.name for c in card.columns} == {KO[c.name] for c in HEAT.columns}
    checked = invoke("check", "historian-hardness", "--data", str(path))
    assert checked.exit_code == 0, checked.output
    assert "Columns: 15 of 15 card columns found." in checked.output and "Split (time, test 20%): possible" in checked.output
