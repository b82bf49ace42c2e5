"""Drift through real parts: a model trained and registered in a real SQLite MLflow store logs the
profile of its training inputs; `workbench drift` (typer's runner, the real command) reads files as
`predict` does and flags a file whose one input moved by two standard deviations on that input alone,
and nothing on a random part of the training rows; a real server answers GET /models/<id>/drift for
the rows it scored. The statistics alone (no store) are checked on many random parts in
test_random_parts_of_the_training_rows_are_not_flagged."""

from __future__ import annotations

import json

import httpx
import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

import pipelines as wb
from pipelines import data, drift, serving
from pipelines.cli import app as cli
from serving_support import CARD, server_thread, temporary_store, train

# the module's trained store is made once: every test of it on one worker (--dist loadgroup)
pytestmark = pytest.mark.xdist_group("drift")


SHIFTED = "Austenitize_Temp_C"  # 820-900 °C in the reference data, card range 700-1000: +2 sd stays in range


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with temporary_store(tmp_path_factory.mktemp("drift"), rows=1500) as uri:
        card = wb.load_card(CARD)
        version = train(CARD, seed=0)
        yield {"uri": uri, "card": card, "version": version, "frame": wb.load_data(card).frame}


@pytest.fixture(scope="module")
def files(store, tmp_path_factory):
    """A random part of the training rows, and the same rows with SHIFTED moved up by 2 sd, as CSV."""
    folder = tmp_path_factory.mktemp("drift-files")
    frame = store["frame"]
    part = frame.drop(columns=store["card"].target.column).sample(400, random_state=5)
    shifted = part.copy()
    shifted[SHIFTED] = shifted[SHIFTED] + 2 * frame[SHIFTED].std()
    assert shifted[SHIFTED].max() < store["card"].column(SHIFTED).max  # still a valid reading, not set missing
    paths = {"part": folder / "part.csv", "shifted": folder / "shifted.csv",
             "no_column": folder / "no_column.csv"}
    part.to_csv(paths["part"], index=False)
    shifted.to_csv(paths["shifted"], index=False)
    part.drop(columns=["Carbon_pct"]).to_csv(paths["no_column"], index=False)
    return paths


def _drift(*args, lang="en"):
    return CliRunner().invoke(cli, ["drift", CARD, *map(str, args), "--lang", lang])


def test_profile_describes_the_rows_the_registered_model_was_fitted_on(store):
    mv = MlflowClient().get_model_version(CARD, str(store["version"]))
    found = drift.load_profile(mv.run_id)
    run = MlflowClient().get_run(mv.run_id)
    model = mlflow.pyfunc.load_model(f"models:/{CARD}/{store['version']}").unwrap_python_model().model
    assert found["rows"] == int(run.data.params["model.rows_fit"]) == model.rows_fit
    # the raw columns the model reads, less the time stamp (always new in new data)
    assert list(found["columns"]) == [c for c in model.input_columns if c != "Batch_Time"]
    furnace = found["columns"]["Furnace_ID"]
    assert furnace["kind"] == "category" and sum(furnace["counts"].values()) + furnace["missing"] == found["rows"]
    carbon = found["columns"]["Carbon_pct"]
    assert carbon["kind"] == "numeric" and sum(carbon["counts"]) + carbon["missing"] == found["rows"]
    assert len(carbon["sample"]) == drift.SAMPLE


def test_a_two_sd_shift_of_one_input_is_flagged_on_that_input_only(store, files):
    result = _drift("--input", files["shifted"], "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["verdict"] == "drift" and found["drifted"] == [SHIFTED]
    assert found["version"] == store["version"] and found["rows"] == 400
    column = next(c for c in found["columns"] if c["column"] == SHIFTED)
    assert column["psi"] >= drift.PSI_DRIFT and column["p_adjusted"] < drift.ALPHA and column["shift_sd"] > 1.5


def test_a_random_part_of_the_training_rows_flags_nothing(files):
    result = _drift("--input", files["part"], "--json", "--fail-on-drift")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["verdict"] == "stable" and found["drifted"] == [] and found["watched"] == []


def test_fail_on_drift_exits_1_only_when_an_input_drifted(files):
    assert _drift("--input", files["shifted"]).exit_code == 0  # the report alone never fails
    assert _drift("--input", files["shifted"], "--fail-on-drift").exit_code == 1


def test_the_table_speaks_english_and_korean(files):
    en = _drift("--input", files["shifted"], lang="en")
    ko = _drift("--input", files["shifted"], lang="ko")
    assert "no longer look like the training data" in en.stdout and SHIFTED in en.stdout
    assert "학습 데이터와 달라졌습니다" in ko.stdout and "판정" in ko.stdout and SHIFTED in ko.stdout
    assert "Traceback" not in en.output + ko.output


def test_an_input_the_file_lacks_is_drift(files):
    result = _drift("--input", files["no_column"], "--json")
    found = json.loads(result.stdout)
    assert found["drifted"] == ["Carbon_pct"]
    assert next(c for c in found["columns"] if c["column"] == "Carbon_pct")["verdict"] == "absent"


def test_bad_input_is_one_paragraph_without_a_traceback(files, tmp_path):
    missing = _drift("--input", tmp_path / "nowhere.csv")
    assert missing.exit_code == 2 and "file not found" in missing.output and "Traceback" not in missing.output
    unknown = _drift("--input", files["part"], "--version", 99)
    assert unknown.exit_code == 2 and "No version 99" in unknown.output and "Traceback" not in unknown.output


def test_the_server_compares_the_rows_it_scored(store, files):
    import pandas as pd

    champions = serving.Champions.load()
    with server_thread(serving.create_app(champions)) as url:
        before = httpx.get(f"{url}/models/{CARD}/drift", timeout=30).json()
        assert before["verdict"] == "too_few_rows" and before["rows"] == 0
        frame = data.validate(pd.read_csv(files["shifted"]), store["card"], "shifted", with_target=False)
        records = json.loads(frame.to_json(orient="records", date_format="iso", date_unit="s"))
        for record in records:
            record["Batch_Time"] = record["Batch_Time"].replace("T", " ")
        for start in range(0, len(records), 50):  # as clients send them: many requests
            answer = httpx.post(f"{url}/models/{CARD}/invocations", json={"dataframe_records": records[start:start + 50]},
                                timeout=30)
            assert answer.status_code == 200, answer.text
        after = httpx.get(f"{url}/models/{CARD}/drift", timeout=30)
    assert after.status_code == 200
    found = after.json()
    assert found["rows"] == len(records) and found["drifted"] == [SHIFTED] and found["version"] == store["version"]
    assert "학습 데이터" in found["summary"]["ko"]


def test_random_parts_of_the_training_rows_are_not_flagged(store):
    """The rule on many parts of every size (no store needed): 60 random parts, none flagged; the same
    parts with one input moved by 2 sd, that input flagged every time and no other."""
    card, frame = store["card"], store["frame"]
    columns = drift.profile_columns(card, card.input_columns)
    reference = drift.profile(frame, columns, ["Furnace_ID", "Quench_Medium"])
    rng = np.random.default_rng(0)
    numbers = [c for c in columns if reference["columns"].get(c, {}).get("kind") == "numeric"]
    for i in range(60):
        part = frame.sample(int(rng.choice([40, 150, 600, 1500])), random_state=i)
        assert drift.compare(reference, part).drifted == []
        moved = numbers[i % len(numbers)]
        part = part.copy()
        part[moved] = part[moved] + 2 * frame[moved].std()
        assert drift.compare(reference, part).drifted == [moved]


def test_predict_ends_with_a_one_line_drift_summary(files, tmp_path):
    shifted = CliRunner().invoke(cli, ["predict", CARD, "--input", str(files["shifted"]), "--output",
                                       str(tmp_path / "scored.csv"), "--quiet", "--lang", "en"])
    assert shifted.exit_code == 0, shifted.output
    last = shifted.stdout.strip().splitlines()[-1]
    assert "no longer look like the training data" in last and SHIFTED in last
    part = CliRunner().invoke(cli, ["predict", CARD, "--input", str(files["part"]), "--output",
                                    str(tmp_path / "scored2.csv"), "--quiet", "--lang", "ko"])
    assert part.exit_code == 0 and "변화 없음" in part.stdout.strip().splitlines()[-1]


def test_a_category_mix_that_changed_is_flagged_on_that_column_only(store):
    """Chi-square on the counts: the same rows with every quench in water instead of the usual mix."""
    card, frame = store["card"], store["frame"]
    reference = drift.profile(frame, drift.profile_columns(card, card.input_columns), ["Furnace_ID", "Quench_Medium"])
    part = frame.sample(300, random_state=2).copy()
    assert drift.compare(reference, part).drifted == []
    part["Quench_Medium"] = "water"
    found = drift.compare(reference, part)
    column = next(c for c in found.columns if c.column == "Quench_Medium")
    assert found.drifted == ["Quench_Medium"] and column.test == "chi2" and column.statistic > 0.3
