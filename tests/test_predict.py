"""`workbench predict` on real files with a real registered model: equal to `pyfunc.load_model(...).predict`
whatever the chunk size, CSV (any encoding, delimiter, Korean headers) and Parquet by row groups, history
carried across chunks for models with rolling features, rows kept in the input's order, clear errors
and no half-written output."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import pipelines as wb
from pipelines import data
from pipelines import features as F
from pipelines.cli import app as cli
from pipelines.errors import DataError, WorkbenchError
from pipelines.predict import predict_file
from serving_support import CARD, temporary_store, train

# one worker, module after module, each training once (with pytest 9.2 loadgroup ignores the mark:
# pytest-xdist#1386; until that is fixed each worker trains its own, which is slower, not wrong)
pytestmark = pytest.mark.xdist_group("serving")


def rolling_features(df: pd.DataFrame) -> pd.DataFrame:
    """History-dependent features, as the time-series notebooks have: sorted by time, rolling means."""
    df = df.sort_values("Batch_Time", kind="stable")
    return F.rolling(df, ["Carbon_pct", "Temper_Temp_C"], [10], stats=("mean",))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with temporary_store(tmp_path_factory.mktemp("predict"), rows=1200) as uri:
        card = wb.load_card(CARD)
        plain = train(CARD, seed=0)
        rolling = train(CARD, seed=0, features=rolling_features)
        yield {"uri": uri, "card": card, "plain": plain, "rolling": rolling,
               "frame": wb.load_data(card).frame[card.input_columns]}


def _expected(version: int, frame: pd.DataFrame) -> pd.DataFrame:
    return mlflow.pyfunc.load_model(f"models:/{CARD}/{version}").predict(frame)


def test_csv_in_small_chunks_equals_pyfunc_on_the_whole_file(store, tmp_path):
    frame = store["frame"]
    source = tmp_path / "batches.csv"
    frame.to_csv(source, index=False)
    written = predict_file(CARD, source, tmp_path / "scored.csv", version=store["plain"], chunk_rows=128)
    assert written.rows == len(frame) and written.version == store["plain"]
    out = pd.read_csv(tmp_path / "scored.csv", encoding="utf-8-sig")
    assert list(out["input_row"]) == list(range(1, len(frame) + 1))
    assert (out["model_id"] == CARD).all() and (out["model_version"] == store["plain"]).all()
    expected = _expected(store["plain"], data.validate(frame, store["card"], "x", with_target=False))
    np.testing.assert_allclose(out["prediction"], expected["prediction"], rtol=1e-12)
    np.testing.assert_allclose(out["Carbon_pct"], frame["Carbon_pct"])
    assert not list(tmp_path.glob(".*partial"))


def test_parquet_by_row_groups_to_parquet_equals_pyfunc(store, tmp_path):
    frame = store["frame"]
    source = tmp_path / "batches.parquet"
    frame.to_parquet(source, index=False, row_group_size=100)
    assert pq.ParquetFile(source).num_row_groups == 12
    predict_file(CARD, source, tmp_path / "scored.parquet", version=store["plain"], chunk_rows=100)
    out = pd.read_parquet(tmp_path / "scored.parquet")
    assert len(out) == len(frame) and pq.ParquetFile(tmp_path / "scored.parquet").num_row_groups == 12
    expected = _expected(store["plain"], data.validate(frame, store["card"], "x", with_target=False))
    np.testing.assert_array_equal(out["prediction"].to_numpy(), expected["prediction"].to_numpy())


def test_rolling_features_see_history_across_chunks_and_rows_keep_their_order(store, tmp_path):
    frame = store["frame"].sort_values("Batch_Time").reset_index(drop=True)
    source = tmp_path / "batches.csv"
    frame.to_csv(source, index=False)
    whole = predict_file(CARD, source, tmp_path / "whole.csv", version=store["rolling"], chunk_rows=10_000)
    chunked = predict_file(CARD, source, tmp_path / "chunked.csv", version=store["rolling"], chunk_rows=97)
    assert whole.rows == chunked.rows == len(frame)
    a, b = (pd.read_csv(tmp_path / n, encoding="utf-8-sig")["prediction"] for n in ("whole.csv", "chunked.csv"))
    np.testing.assert_allclose(a, b, rtol=1e-12)
    validated = data.validate(frame, store["card"], "x", with_target=False)
    np.testing.assert_allclose(a, _expected(store["rolling"], validated)["prediction"], rtol=1e-12)
    # the feature function sorts by time: predictions still come back in the caller's row order
    shuffled = validated.sample(frac=1.0, random_state=0)
    again = _expected(store["rolling"], shuffled.reset_index(drop=True))["prediction"].to_numpy()
    np.testing.assert_allclose(again, a.to_numpy()[shuffled.index.to_numpy()], rtol=1e-12)


def test_cli_reads_a_korean_excel_style_csv_and_reports_rows_per_second(store, tmp_path):
    card = store["card"]
    frame = store["frame"].head(300)
    korean = frame.rename(columns={c.name: c.ko for c in card.columns if c.ko})
    source = tmp_path / "열처리_배치.csv"
    korean.to_csv(source, index=False, sep=";", encoding="cp949")
    out = tmp_path / "out" / "scored.parquet"
    result = CliRunner().invoke(cli, ["predict", CARD, "--input", str(source), "--output", str(out), "--quiet",
                                      "--version", str(store["plain"]), "--chunk-rows", "64"])
    assert result.exit_code == 0, result.output
    assert "wrote 300 predictions" in result.output and "rows/s" in result.output
    scored = pd.read_parquet(out)
    expected = _expected(store["plain"], data.validate(frame, card, "x", with_target=False))
    np.testing.assert_allclose(scored["prediction"], expected["prediction"], rtol=1e-12)


def test_bad_rows_fail_clearly_and_leave_no_output(store, tmp_path):
    frame = store["frame"].head(500).copy()
    frame["Carbon_pct"] = frame["Carbon_pct"].astype(object)
    frame.loc[400:499, "Carbon_pct"] = "0.4 ppm"  # a chunk whose column is text: refused, not read as missing
    source = tmp_path / "batches.csv"
    frame.to_csv(source, index=False)
    with pytest.raises(DataError, match=r"rows 401-500.*Carbon_pct") as caught:
        predict_file(CARD, source, tmp_path / "scored.csv", version=store["plain"], chunk_rows=100)
    assert caught.value.column == "Carbon_pct"
    assert not (tmp_path / "scored.csv").exists() and not list(tmp_path.glob(".*partial"))
    missing = tmp_path / "missing.csv"
    frame.drop(columns=["Furnace_ID"]).to_csv(missing, index=False)
    result = CliRunner().invoke(cli, ["predict", CARD, "--input", str(missing), "--output", str(tmp_path / "o.csv")])
    assert result.exit_code != 0 and "trained with 1 column(s) the file lacks: Furnace_ID" in result.output
    good = tmp_path / "good.csv"
    store["frame"].head(50).to_csv(good, index=False)
    with pytest.raises(WorkbenchError, match="No version 42"):  # the file is checked first, then the registry
        predict_file(CARD, good, tmp_path / "o.csv", version=42)
    with pytest.raises(WorkbenchError, match=r"\.csv, \.xlsx or \.parquet"):  # .xlsx is written since issue 18
        predict_file(CARD, source, tmp_path / "o.json", lang="en")
    empty = tmp_path / "empty.csv"
    frame.head(0).to_csv(empty, index=False)
    with pytest.raises(DataError, match="no data rows"):
        predict_file(CARD, empty, tmp_path / "o.csv")


def test_input_row_names_the_file_row_of_a_shuffled_file(store, tmp_path):
    """The model sorts rows by time; each output row still points at its own row of the file."""
    frame = store["frame"].sample(frac=1.0, random_state=3).reset_index(drop=True)
    source = tmp_path / "shuffled.csv"
    frame.to_csv(source, index=False)
    predict_file(CARD, source, tmp_path / "scored.csv", version=store["plain"], chunk_rows=150)
    out = pd.read_csv(tmp_path / "scored.csv", encoding="utf-8-sig")
    assert sorted(out["input_row"]) == list(range(1, len(frame) + 1))
    assert not out["input_row"].is_monotonic_increasing  # the rows were sorted: the test asks something
    back = frame.iloc[out["input_row"].to_numpy() - 1]
    np.testing.assert_allclose(out["Carbon_pct"].to_numpy(), back["Carbon_pct"].to_numpy())
    np.testing.assert_array_equal(out["Furnace_ID"].astype(str).to_numpy(), back["Furnace_ID"].astype(str).to_numpy())


def test_text_that_a_spreadsheet_would_run_as_a_formula_is_defused_in_csv_only(store, tmp_path):
    frame = store["frame"].head(40).copy()
    formulas = ["=HYPERLINK(\"http://x\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1"]
    frame["Furnace_ID"] = frame["Furnace_ID"].astype(object)
    frame.loc[:4, "Furnace_ID"] = formulas
    source = tmp_path / "batches.parquet"
    frame.to_parquet(source, index=False)
    predict_file(CARD, source, tmp_path / "scored.csv", version=store["plain"], chunk_rows=16)
    predict_file(CARD, source, tmp_path / "scored.parquet", version=store["plain"], chunk_rows=16)
    as_text = pd.read_csv(tmp_path / "scored.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(as_text["Furnace_ID"][:5]) == ["'" + f.strip() for f in formulas]  # labels are read stripped
    assert not as_text["Furnace_ID"][5:].str.startswith("'").any()  # plain labels untouched
    assert as_text["Carbon_pct"].astype(float).lt(0).sum() == 0 and as_text["prediction"].astype(float).notna().all()
    assert list(pd.read_parquet(tmp_path / "scored.parquet")["Furnace_ID"][:5]) == [f.strip() for f in formulas]


def test_a_predict_killed_with_sigkill_leaves_no_half_written_output(store, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from pipelines import settings

    big = pd.concat([store["frame"]] * 150, ignore_index=True)  # 180,000 rows, scored 1,000 at a time
    source, out = tmp_path / "big.csv", tmp_path / "scored.csv"
    big.to_csv(source, index=False)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in [str(settings.REPO_ROOT),
                                                                    os.environ.get("PYTHONPATH", "")] if p)}
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "predict", CARD, "--input", str(source),
                             "--output", str(out), "--version", str(store["plain"]), "--chunk-rows", "1000",
                             "--quiet"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    partial = tmp_path / ".scored.csv.partial"
    try:
        deadline = time.time() + 240
        while not (partial.exists() and partial.stat().st_size > 100_000):
            assert proc.poll() is None and time.time() < deadline, "predict ended before it could be killed"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not out.exists()  # only the hidden partial file, never a half file under the name asked for
    written = predict_file(CARD, tmp_path / "big.csv", out, version=store["plain"], chunk_rows=50_000)
    assert written.rows == len(big) and len(pd.read_csv(out, encoding="utf-8-sig")) == len(big)
    assert not partial.exists()
