"""A model whose features look back over a unit's earlier rows, served over real HTTP: the server keeps
the rows the run measured it needs per unit, so rows sent one at a time get the predictions a file of
them gets (`serve --remember`); by default each request is scored alone, as before."""

from __future__ import annotations

import json

import httpx
import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

import pipelines as wb
from pipelines import features as F
from pipelines import serving
from serving_support import promote, server_thread, temporary_store, train

pytestmark = pytest.mark.xdist_group("serving")

CARD = "bearing-rul"


def looking_back(df: pd.DataFrame) -> pd.DataFrame:
    """A 5-snapshot mean and the previous snapshot of each bearing: 4 earlier rows needed, so 8 kept."""
    df = F.sort_by(df, ["bearing_id", "Datetime"])
    return F.added(df, F.rolling_columns(df, ["vibration_g"], [5], stats=("mean",), by="bearing_id")
                   | F.lag_columns(df, ["vibration_g"], [1], by="bearing_id"))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with temporary_store(tmp_path_factory.mktemp("memory")) as uri:
        version = train(CARD, seed=0, features=looking_back)
        promote(version, CARD)
        yield {"uri": uri, "version": version}


@pytest.fixture(scope="module")
def one_bearing(store):
    """40 snapshots of one bearing in time order, as a frame and as JSON records."""
    frame = wb.load_data(wb.load_card(CARD)).frame
    unit = frame["bearing_id"].iloc[len(frame) // 2]
    rows = frame[frame["bearing_id"] == unit].head(60).tail(40)[["bearing_id", "vibration_g", "Datetime"]]
    rows = rows.reset_index(drop=True)
    records = json.loads(rows.to_json(orient="records", date_format="iso", date_unit="s"))
    for record in records:
        record["Datetime"] = record["Datetime"].replace("T", " ")
    return rows, records


def _one_at_a_time(url: str, records: list[dict]) -> np.ndarray:
    got = []
    for record in records:
        answer = httpx.post(f"{url}/models/{CARD}/invocations", json={"dataframe_records": [record]}, timeout=30)
        assert answer.status_code == 200, answer.text
        got.append(answer.json()["predictions"][0]["prediction"])
    return np.array(got)


def test_rows_sent_one_at_a_time_get_what_a_file_of_them_gets(store, one_bearing):
    rows, records = one_bearing
    [run] = MlflowClient().search_runs([MlflowClient().get_experiment_by_name(CARD).experiment_id])
    assert run.data.tags["model.history_rows"] == "8"
    pyfunc = mlflow.pyfunc.load_model(f"models:/{CARD}/{store['version']}")
    in_file = pyfunc.predict(rows)["prediction"].to_numpy()
    alone = np.array([pyfunc.predict(rows.iloc[[i]])["prediction"].iloc[0] for i in range(len(rows))])
    assert np.mean(~np.isclose(alone[8:], in_file[8:])) > 0.5  # the features matter: alone is another answer

    with server_thread(serving.create_app(serving.Champions.load(remember=True))) as url:
        schema = httpx.get(f"{url}/models/{CARD}/schema", timeout=30).json()["history"]
        assert schema["remembered_rows"] == 8 and "keeps the last 8 rows of each bearing_id" in schema["advice"]
        np.testing.assert_allclose(_one_at_a_time(url, records), in_file, rtol=1e-9)
        # rows sent again (a client that sends its own recent history) are counted once, not twice
        again = httpx.post(f"{url}/models/{CARD}/invocations", json={"dataframe_records": records[-3:]}, timeout=30)
        np.testing.assert_allclose([p["prediction"] for p in again.json()["predictions"]], in_file[-3:], rtol=1e-9)

    with server_thread(serving.create_app(serving.Champions.load())) as url:
        assert httpx.get(f"{url}/models/{CARD}/schema", timeout=30).json()["history"]["remembered_rows"] == 0
        np.testing.assert_allclose(_one_at_a_time(url, records), alone, rtol=1e-9)
