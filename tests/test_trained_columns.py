"""A model trained on a file without some card columns is then asked for exactly the columns it was
trained with: `predict` and the server accept files and requests without the others, and refuse, naming
the column, what lacks one the model reads."""

from __future__ import annotations

import json

import mlflow
import pytest
from mlflow.tracking import MlflowClient

import pipelines as wb
from pipelines import serving
from pipelines.errors import DataError
from pipelines.predict import predict_file

from serving_support import CARD, temporary_store, train

pytestmark = pytest.mark.xdist_group("serving")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trained-columns")
    with temporary_store(folder, rows=800):
        card = wb.load_card(CARD)
        frame = wb.load_data(card).frame
        path = folder / "no_molybdenum.csv"
        frame.drop(columns=["Molybdenum_pct", "Hardness_HRC"]).to_csv(folder / "new.csv", index=False)
        frame.drop(columns=["Molybdenum_pct"]).to_csv(path, index=False)
        version = train(CARD, data=wb.load_data(card, path))
        yield {"card": card, "frame": frame, "version": version, "folder": folder}


def test_the_model_reads_the_columns_it_was_trained_with_and_logs_them(trained):
    model = mlflow.pyfunc.load_model(f"models:/{CARD}/{trained['version']}").unwrap_python_model().model
    assert "Molybdenum_pct" not in model.input_columns and "Carbon_pct" in model.input_columns
    client = MlflowClient()
    run_id = client.get_model_version(CARD, str(trained["version"])).run_id
    path = client.download_artifacts(run_id, "model_features.json", str(trained["folder"]))
    logged = json.loads(open(path, encoding="utf-8").read())
    assert logged["input_columns"] == model.input_columns and logged["feature_names"] == model.feature_names
    run = client.get_run(run_id)
    assert run.data.tags["data.absent_columns"] == "Molybdenum_pct"


def test_predict_needs_the_models_columns_not_the_cards(trained):
    folder = trained["folder"]
    written = predict_file(CARD, folder / "new.csv", folder / "scored.csv", version=trained["version"])
    assert written.rows == len(trained["frame"])
    lacking = folder / "lacking.csv"
    trained["frame"].drop(columns=["Carbon_pct", "Molybdenum_pct", "Hardness_HRC"]).to_csv(lacking, index=False)
    with pytest.raises(DataError, match=r"trained with 1 column\(s\) the file lacks: Carbon_pct") as caught:
        predict_file(CARD, lacking, folder / "never.csv", version=trained["version"])
    assert caught.value.column == "Carbon_pct" and not (folder / "never.csv").exists()


def test_the_server_requires_the_models_columns_not_the_cards(trained):
    served = serving.Served.load(trained["card"], trained["version"], run_id=None)
    required = {c.name: c.required for c in served.specs}
    assert required["Carbon_pct"] and not required["Molybdenum_pct"]
    record = json.loads(trained["frame"].drop(columns=["Molybdenum_pct", "Hardness_HRC"]).head(2)
                        .to_json(orient="records", date_format="iso", date_unit="s"))
    answer = served.predict(json.dumps({"dataframe_records": record}).encode())
    assert len(answer) == 2 and all(a["prediction"] > 0 for a in answer)
    without = [{k: v for k, v in r.items() if k != "Carbon_pct"} for r in record]
    with pytest.raises(serving.RequestError) as caught:
        served.predict(json.dumps({"dataframe_records": without}).encode())
    assert caught.value.status == 422 and "Carbon_pct" in str(caught.value)
