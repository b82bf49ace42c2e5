"""The target from a file of its own (--labels, pipelines/labels.py): QC results per LOT joined to the
shots of an MES export, by the column both files share."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from pipelines import cards, data
from pipelines.cli import app

from conftest import needs_public

CAST = cards.load_card("die-casting-quality")


@pytest.fixture(scope="module")
def shots() -> pd.DataFrame:
    """600 die-casting shots, five to a LOT; a LOT fails when any of its shots did."""
    frame = data.load(CAST).frame.iloc[:600].reset_index(drop=True)
    frame.insert(0, "LOT", [f"L-{i // 5:04d}" for i in range(len(frame))])
    frame["passorfail"] = frame.groupby("LOT")["passorfail"].transform("max")
    return frame


def _files(shots: pd.DataFrame, folder, results: pd.DataFrame | None = None):
    data_path, labels_path = folder / "shots.csv", folder / "qc.xlsx"
    shots.drop(columns="passorfail").to_csv(data_path, index=False, encoding="cp949")
    if results is None:
        results = shots.groupby("LOT", sort=False)["passorfail"].max().map({0: "합격", 1: "불합격"}).rename("판정").reset_index()
        results = results.iloc[:-4]  # the last four LOTs not inspected yet
    results.to_excel(labels_path, index=False)
    return data_path, labels_path


def test_each_shot_takes_its_lots_result(shots, tmp_path):
    data_path, labels_path = _files(shots, tmp_path)
    found = data.load(CAST, data_path, options={"labels": str(labels_path)})
    assert len(found.frame) == 600 - 4 * 5  # the shots of the uninspected LOTs have no target: left out
    expected = shots.iloc[:580]["passorfail"].to_numpy()
    assert (found.frame["passorfail"].to_numpy() == expected).all()
    [(_, fields)] = [n for n in found.notes if n[0] == "labels_joined"]
    assert fields == {"columns": "판정", "file": str(labels_path), "key": "LOT", "matched": 580, "rows": 600, "results": 116}
    assert ("target_by_words", {"target": "passorfail", "column": "판정", "ko": "양불 판정"}) in found.notes


def test_results_keyed_by_time_match_stamps_written_another_way(shots, tmp_path):
    stamps = pd.to_datetime(shots["registration_time"])
    results = pd.DataFrame({"registration_time": stamps.dt.strftime("%Y.%m.%d %H:%M:%S"),
                            "passorfail": shots["passorfail"].to_numpy()})
    results = pd.concat([results, pd.DataFrame({"registration_time": ["재검 대기", "-"], "passorfail": [1, 0]})])
    data_path, labels_path = _files(shots.drop(columns="LOT"), tmp_path, results)
    found = data.load(CAST, data_path, options={"labels": str(labels_path)})
    assert len(found.frame) == 600 and (found.frame["passorfail"].to_numpy() == shots["passorfail"].to_numpy()).all()


@pytest.mark.parametrize("named", ["LOT_{lot}.csv", "{n:03d}_shots.csv"], ids=["text_key", "number_key"])
def test_a_file_per_lot_takes_its_lots_result_by_its_name(named, shots, tmp_path):
    """A folder of a file per LOT whose LOT is only in the name (LOT_L-0003.csv; or the LOT's number,
    003_shots.csv beside a results column of numbers): each file's rows take the result of the LOT it names."""
    folder = tmp_path / "lots"
    folder.mkdir()
    lots = list(dict.fromkeys(shots["LOT"]))[:40]
    for n, lot in enumerate(lots):
        rows = shots[shots["LOT"] == lot].drop(columns=["LOT", "passorfail"])
        rows.to_csv(folder / named.format(lot=lot, n=n), index=False)
    results = shots.groupby("LOT", sort=False)["passorfail"].max().loc[lots].reset_index()
    if "{n" in named:
        results["LOT"] = range(len(lots))
    results.to_excel(tmp_path / "qc.xlsx", index=False)
    found = data.load(CAST, folder, options={"labels": str(tmp_path / "qc.xlsx")})
    expected = shots[shots["LOT"].isin(lots)]["passorfail"].to_numpy()
    assert len(found.frame) == 200 and (found.frame["passorfail"].to_numpy() == expected).all()
    [(_, fields)] = [n for n in found.notes if n[0] == "labels_key_from_names"]
    assert fields == {"key": "LOT", "file": named.format(lot=lots[0], n=0), "value": lots[0] if "{lot" in named else "0"}


@pytest.mark.parametrize(("change", "args", "phrase"), [
    (lambda r: r.rename(columns={"LOT": "로트"}), [], "the labels file shares no column name with"),
    (lambda r: r.assign(mold_code=8722), [], "the labels file shares several columns with the data (LOT, mold_code)"),
    (lambda r: pd.concat([r, r.head(2).assign(판정="불합격")]), [], "different results for the same LOT (e.g. L-00"),
    (lambda r: r[["LOT"]], [], "no column the data lacks besides its key 'LOT'"),
    (lambda r: r, ["--on", "lot_no"], "--on 'lot_no': no column of that name here"),
])
def test_a_labels_file_that_cannot_be_matched_is_refused_clearly(change, args, phrase, shots, tmp_path):
    results = shots.groupby("LOT", sort=False)["passorfail"].max().map({0: "합격", 1: "불합격"}).rename("판정").reset_index()
    data_path, labels_path = _files(shots, tmp_path, change(results))
    result = CliRunner().invoke(app, ["check", CAST.id, "--data", str(data_path), "--labels", str(labels_path), *args,
                                      "--lang", "en"], env={"COLUMNS": "250"})
    assert result.exit_code == 2 and phrase in result.output and "Fix:" in result.output, result.output


def test_several_shared_columns_are_settled_by_on(shots, tmp_path):
    results = shots.groupby("LOT", sort=False).agg(passorfail=("passorfail", "max"), mold_code=("mold_code", "first"))
    results = results.reset_index()
    data_path, labels_path = _files(shots, tmp_path, results)
    result = CliRunner().invoke(app, ["check", CAST.id, "--data", str(data_path), "--labels", str(labels_path),
                                      "--on", "LOT", "--lang", "en"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "passorfail from" in result.output and f'--labels "{labels_path}" --on "LOT"' in result.output


@pytest.mark.slow
def test_a_run_trains_on_the_joined_results(shots, store, tmp_path):
    data_path, labels_path = _files(shots, tmp_path)
    result = CliRunner().invoke(app, ["run", CAST.id, "--data", str(data_path), "--labels", str(labels_path),
                                      "--trials", "1", "--quiet", "--lang", "en"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output[-3000:]
    [run] = MlflowClient().search_runs([e.experiment_id for e in MlflowClient().search_experiments()])
    assert run.info.status == "FINISHED" and run.data.params["data.rows"] == "580"  # the inspected LOTs' shots
    assert "판정 from" in run.data.tags["mlflow.note.content"]


@needs_public("cnc_mill_tool_wear")
def test_the_kaggle_cnc_folder_takes_each_experiments_results_by_its_file_name():
    """The CNC mill download: experiment_01.csv ... experiment_18.csv and train.csv with a row per experiment
    (No 1-18): each experiment's rows take its tool condition."""
    folder = Path(os.environ["WORKBENCH_DATA_DIR"]) / "cnc_mill_tool_wear"
    card = cards.load_card("cnc-tool-wear")
    found = data.load(card, folder, options={"labels": str(folder / "train.csv")})
    labels = pd.read_csv(folder / "train.csv").set_index("No")["tool_condition"]
    assert found.frame.groupby("No")["tool_condition"].agg(set).to_dict() == {n: {c} for n, c in labels.items()}
