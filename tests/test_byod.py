"""Bring your own data: every file of the bad-input corpus is refused by check, run and predict with
its phrase and a non-zero exit, leaving the MLflow store and Optuna storage exactly as they were;
plant exports (CP949, UTF-8 with BOM, Excel, Korean headers, Korean dates) read to the same frame as
the original; templates pass check; ``new`` drafts a card that trains."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from pipelines import cards, data, settings
from pipelines.cli import app
from pipelines.errors import DataError
from pipelines.inspection import parse_dates, parse_numbers

from conftest import needs_public

BAD = Path(__file__).parent / "data" / "bad"
CASES = yaml.safe_load((BAD / "cases.yaml").read_text(encoding="utf-8"))
KAMP = "kamp_injection_molding"


def _case_id(case):
    return case["file"].replace(".", "_")


@pytest.fixture(scope="module")
def _filled_store_template(tmp_path_factory):
    """A store that already holds something (an experiment, a run, an Optuna study), so "unchanged" is
    tested against real databases, not against an empty folder. Made once, copied per test."""
    folder = tmp_path_factory.mktemp("mlruns")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    client = MlflowClient(uri)
    run = client.create_run(client.create_experiment("existing", artifact_location=(folder / "a").as_uri()))
    client.set_terminated(run.info.run_id)
    optuna.create_study(study_name="existing", storage=f"sqlite:///{folder / 'optuna.db'}")
    return folder


@pytest.fixture
def filled_store(_filled_store_template, tmp_path, monkeypatch):
    folder = tmp_path / "mlruns"
    shutil.copytree(_filled_store_template, folder)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{folder / 'mlflow.db'}")
    monkeypatch.delenv("WORKBENCH_OPTUNA_STORAGE", raising=False)
    assert settings.optuna_storage() == f"sqlite:///{folder / 'optuna.db'}"
    return folder


def _snapshot(folder: Path) -> dict[str, str]:
    # MLflow leaves an empty lock file beside a SQLite store it opens, even only to read it (predict asks the
    # registry how the model's training file read dates that a file alone cannot tell): not a change
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not (p.suffix == ".lock" and not p.stat().st_size)}


def _args(case, command: str, tmp_path: Path) -> list[str]:
    path = str(BAD / case["file"])
    extra = [a.replace("{dir}", str(BAD)) for a in case.get("args", [])]
    lang = ["--lang", case.get("lang", "en")]
    if command == "check":
        return ["check", case["card"], "--data", path, *lang, *extra]
    if command == "run":
        return ["run", case["card"], "--data", path, "--trials", "1", "--quiet", *lang, *extra]
    return ["predict", case["card"], "--input", path, "--output", str(tmp_path / "scored.csv"), *lang, *extra]


def test_the_corpus_is_large_and_complete():
    assert len(CASES) >= 40
    for case in CASES:
        assert case["card"] in cards.list_ids()
        assert set(case["commands"]) <= {"check", "run", "predict"} and "check" in case["commands"]
        assert (BAD / case["file"]).exists() or case["file"] == "does_not_exist.csv"
    assert "predict" in {c for case in CASES for c in case["commands"]}


@pytest.mark.parametrize(("case", "command"), [(case, command) for case in CASES for command in case["commands"]],
                         ids=[f"{_case_id(case)}-{command}" for case in CASES for command in case["commands"]])
def test_bad_input_is_refused_clearly_and_leaves_nothing(case, command, filled_store, tmp_path):
    before = _snapshot(filled_store)
    result = CliRunner().invoke(app, _args(case, command, tmp_path), env={**case.get("env", {}), "COLUMNS": "200"})
    assert result.exit_code not in (0, None), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert case["phrase"] in result.output, result.output[-1500:]
    assert case["file"] in result.output or "--map" in case.get("args", [])  # the file is named
    assert _snapshot(filled_store) == before  # no run, no model, no study, not even a touched database
    assert not (tmp_path / "scored.csv").exists()


@pytest.mark.parametrize("case", [c for c in CASES if "predict" not in c["commands"]], ids=_case_id)
def test_what_only_training_needs_does_not_stop_prediction(case):
    """The target's problems (one class, too few rows for the split, ...) are no reason to refuse scoring."""
    frame = data.load_new(cards.load_card(case["card"]), BAD / case["file"])
    assert len(frame) > 0 and cards.load_card(case["card"]).target.column not in frame.columns


def test_the_corpus_script_writes_these_cases(tmp_path, monkeypatch):
    sys.path.insert(0, str(BAD))
    try:
        import make_corpus
    finally:
        sys.path.remove(str(BAD))
    monkeypatch.setattr(make_corpus, "HERE", tmp_path)
    make_corpus.main()
    assert yaml.safe_load((tmp_path / "cases.yaml").read_text(encoding="utf-8")) == CASES
    written = {p.name for p in tmp_path.iterdir()} - {"cases.yaml"}
    assert written == {p.name for p in BAD.iterdir()} - {"cases.yaml", "make_corpus.py", "README.md", "__pycache__"}


def test_language_follows_the_locale_unless_set(monkeypatch):
    for name in ("WORKBENCH_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    assert settings.language() == "en"
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    assert settings.language() == "ko"
    monkeypatch.setenv("WORKBENCH_LANG", "en")
    assert settings.language() == "en"


def test_a_2_gb_export_is_refused_before_it_is_read(tmp_path):
    huge = tmp_path / "mes_export_2023.csv"
    with open(huge, "wb") as fh:  # sparse: 2 GB on paper, nothing on disk
        fh.write(b"a,b\n1,2\n")
        fh.truncate(2 * 1024**3)
    with pytest.raises(DataError, match=r"2,048 MB, over the limit of 1,024 MB"):
        data.read_table(huge)


# --- what a plant file looks like, and still reads -------------------------------------------------

def test_korean_and_iso_dates_and_thousands_separators_parse():
    text = pd.Series(["2024년 1월 2일 06:00", "2024.01.02", "2024. 1. 3.", "2024-01-02T06:30:00", "2024/01/04 07:00",
                      "2020-10-16 오후 1:05:00", "2024-01-05 (금) 08:00", None, ""])
    found = parse_dates(text)
    values = found.values
    assert not found.bad.any() and found.ambiguous is None
    assert list(values[:7].dt.strftime("%Y-%m-%d %H:%M")) == [
        "2024-01-02 06:00", "2024-01-02 00:00", "2024-01-03 00:00", "2024-01-02 06:30", "2024-01-04 07:00",
        "2020-10-16 13:05", "2024-01-05 08:00"]
    assert values[7:].isna().all()
    # one separator throughout, as the IMS bearing files and loggers' file names write stamps
    one = parse_dates(pd.Series(["2004.02.12.10.32.39", "2024_03_05_14_30", "2024-03-05-14-30-00", "24년 3월 5일 14:30"])).values
    assert list(one.dt.strftime("%Y-%m-%d %H:%M:%S")) == ["2004-02-12 10:32:39", "2024-03-05 14:30:00", "2024-03-05 14:30:00",
                                                          "2024-03-05 14:30:00"]
    numbers, bad = parse_numbers(pd.Series(["1,234.5", " 12 ", "−3", "１２", "△12.5", "(1,234.5)", "-", None]))
    assert not bad.any()  # △12.5 and (1,234.5): negatives as Korean accounts and Excel's accounting format write them
    assert numbers[:6].tolist() == [1234.5, 12.0, -3.0, 12.0, -12.5, -1234.5] and numbers[6:].isna().all()
    assert parse_numbers(pd.Series(["(x)", "△", "▲3"]))[1].all()


def test_slashed_dates_take_their_order_from_the_file_and_say_when_it_cannot_be_told():
    day_first = pd.Series(["2024-01-01 05:00", "25/01/2024 06:00", "03/02/2024", "25/01/2024 06:00"])
    found = parse_dates(day_first)
    assert not found.bad.any() and found.ambiguous is None and (found.order, found.order_reason) == ("day-first", "field")
    assert list(found.values.dt.strftime("%Y-%m-%d")) == ["2024-01-01", "2024-01-25", "2024-02-03", "2024-01-25"]
    found = parse_dates(pd.Series(["01/25/2024 06:00", "02/03/2024"]))
    assert found.ambiguous is None and list(found.values.dt.strftime("%m-%d")) == ["01-25", "02-03"]
    found = parse_dates(pd.Series(["2024-01-01", "03/04/2024", "05/06/2024"]))
    assert found.ambiguous == "03/04/2024" and not found.bad.any()
    assert list(parse_dates(pd.Series(["03/04/2024"]), order="day-first").values.dt.strftime("%m-%d")) == ["04-03"]


def test_a_title_line_semicolons_and_unit_suffixes_are_handled(tmp_path):
    card = cards.load_card("heat-treatment-hardness")
    frame, _ = data.simulate.simulate("heat_treatment", rows=120, seed=4)
    korean = {c.name: f"{c.ko}({c.unit})" if c.unit else c.ko for c in card.columns} | {card.target.column: "경도 [HRC]"}
    path = tmp_path / "열처리_1월.csv"
    body = frame.rename(columns=korean).to_csv(index=False, sep=";")
    path.write_bytes(("열처리 공정 데이터 (2024년 1월)\n\n" + body).encode("cp949"))
    loaded = data.load(card, path)
    assert len(loaded.frame) == 120 and list(loaded.frame.columns[:2]) == ["Batch_Time", "Furnace_ID"]
    reference = data.validate(frame, card, "simulator")
    pd.testing.assert_frame_equal(loaded.frame, reference, check_dtype=False)


def test_column_map_from_yaml_and_pairs(tmp_path):
    card = cards.load_card("heat-treatment-hardness")
    frame, _ = data.simulate.simulate("heat_treatment", rows=60, seed=5)
    path = tmp_path / "batches.csv"
    frame.rename(columns={"Carbon_pct": "C", "Temper_Temp_C": "뜨임"}).to_csv(path, index=False)
    mapping = tmp_path / "map.yaml"
    mapping.write_text("C: Carbon_pct\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["check", card.id, "--data", str(path), "--map", str(mapping), "--map",
                                      "뜨임=Temper_Temp_C", "--lang", "en"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Carbon_pct" in result.output and "map" in result.output and "Result: OK" in result.output


def test_unsorted_shots_are_sorted_with_a_note_not_refused(tmp_path):
    card = cards.load_card("injection-molding-quality")
    from pipelines.templates import example_rows

    rows = example_rows(card, 40).iloc[::-1]
    path = tmp_path / "shots_newest_first.csv"
    rows.to_csv(path, index=False)
    result = CliRunner().invoke(app, ["check", card.id, "--data", str(path), "--lang", "en"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "sorted by TimeStamp before splitting" in result.output
    assert data.load(card, path).frame["TimeStamp"].is_monotonic_increasing


def test_new_data_without_target_passes_for_predict_with_a_note(tmp_path, caplog):
    card = cards.load_card("injection-molding-quality")
    from pipelines.templates import example_rows

    rows = example_rows(card, 40).drop(columns=[card.target.column]).assign(operator="김철수")
    path = tmp_path / "new_shots.xlsx"
    rows.to_excel(path, index=False)
    with caplog.at_level("INFO", logger="pipelines.data"):
        frame = data.load_new(card, path)
    assert list(frame.columns) == [c.name for c in card.columns]
    assert "operator" in caplog.text and "ignored" in caplog.text
    with pytest.raises(DataError, match="PassOrFail"):
        data.load(card, path)  # training needs the target
    result = CliRunner().invoke(app, ["check", card.id, "--data", str(path), "--predict", "--lang", "ko"],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "문제 없음" in result.output, result.output


@pytest.mark.parametrize("card_id", cards.list_ids())
def test_template_output_passes_check(card_id, tmp_path):
    runner = CliRunner()
    for lang, fmt in (("ko", "csv"), ("en", "xlsx")):
        path = tmp_path / f"{card_id}_{lang}.{fmt}"
        made = runner.invoke(app, ["template", card_id, "--lang", lang, "--format", fmt, "--output", str(path)])
        assert made.exit_code == 0, made.output
        checked = runner.invoke(app, ["check", card_id, "--data", str(path), "--lang", "en"], env={"COLUMNS": "200"})
        assert checked.exit_code == 0, checked.output
        assert "Result: OK" in checked.output
    header = pd.read_csv(tmp_path / f"{card_id}_ko.csv", encoding="utf-8-sig", nrows=0).columns
    card = cards.load_card(card_id)
    assert all(c.ko in " ".join(header) for c in card.columns if c.ko)
    guide = pd.read_excel(tmp_path / f"{card_id}_en.xlsx", sheet_name=1)
    assert len(guide) == len(card.columns) + 1 and "unit" in guide.columns


# --- public data renamed to Korean: same frame, same metric -----------------------------------------

def _korean_exports(tmp_path: Path) -> dict[str, Path]:
    """KAMP's injection molding file as plants export it: Korean headers (the card's aliases, units
    appended), CP949 CSV, UTF-8 CSV with BOM, and Excel."""
    card = cards.load_card("injection-molding-quality")
    original = Path(os.environ["WORKBENCH_DATA_DIR"]) / KAMP / "labeled_data.csv"
    frame = pd.read_csv(original)
    names = {c.name: f"{c.ko}({c.unit})" if c.unit else c.ko for c in card.columns} | {card.target.column: card.target.ko}
    korean = frame.rename(columns=names)
    files = {"original": original, "cp949": tmp_path / "사출_cp949.csv", "bom": tmp_path / "사출_bom.csv",
             "excel": tmp_path / "사출.xlsx"}
    korean.to_csv(files["cp949"], index=False, encoding="cp949")
    korean.to_csv(files["bom"], index=False, encoding="utf-8-sig")
    korean.to_excel(files["excel"], index=False)
    return files


@needs_public(KAMP)
def test_korean_exports_read_to_the_same_frame_as_the_original(tmp_path):
    card = cards.load_card("injection-molding-quality")
    files = _korean_exports(tmp_path)
    digests = {name: data.load(card, path).sha256 for name, path in files.items()}
    assert data.read_table(files["cp949"]).attrs["reading"]["encoding"] == "cp949"
    assert data.read_table(files["bom"]).attrs["reading"]["encoding"] == "utf-8-sig"
    assert len(set(digests.values())) == 1, digests


@pytest.mark.slow
@needs_public(KAMP)
def test_korean_exports_train_to_the_same_metric_as_the_original(tmp_path, monkeypatch):
    files = _korean_exports(tmp_path)
    metrics, shas = {}, {}
    for name, path in files.items():
        store = tmp_path / f"store_{name}"  # separate stores: no study is resumed from another file's run
        store.mkdir()
        monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store / 'mlflow.db'}")
        result = CliRunner().invoke(app, ["run", "injection-molding-quality", "--data", str(path), "--trials", "2",
                                          "--seed", "0", "--quiet", "--output-dir", str(tmp_path / f"out_{name}")])
        assert result.exit_code == 0, result.output
        client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
        [run] = client.search_runs([client.get_experiment_by_name("injection-molding-quality").experiment_id])
        metrics[name] = run.data.metrics["test_average_precision"]
        shas[name] = run.data.tags["data.sha256"]
        assert run.data.tags["data.file"] == str(path.resolve())
    assert len(set(shas.values())) == 1
    assert len(set(metrics.values())) == 1, metrics


@pytest.mark.slow
def test_new_card_from_a_plant_file_trains(store, catalog_copy, tmp_path):
    frame, _ = data.simulate.simulate("heat_treatment", rows=400, seed=6)
    plant = frame.drop(columns=["Quench_Delay_s"]).rename(columns={"Carbon_pct": "탄소(%)", "Hardness_HRC": "경도"})
    plant.insert(0, "LOT_NO", [f"L{i:05d}" for i in range(len(plant))])
    path = tmp_path / "우리공장_열처리.csv"
    plant.to_csv(path, index=False, encoding="cp949")
    made = CliRunner().invoke(app, ["new", "our-heat-treatment", "--data", str(path), "--target", "경도",
                                    "--time", "Batch_Time", "--lang", "en"])
    assert made.exit_code == 0, made.output
    assert "task: regression (guessed from the target" in made.output and "LOT_NO (looks like an identifier" in made.output
    card = cards.load_card("our-heat-treatment")
    assert card.task == "regression" and card.split.kind == "time" and card.column("탄소(%)").min == 0
    assert (catalog_copy.notebooks / "our-heat-treatment.ipynb").exists()
    ran = CliRunner().invoke(app, ["run", "our-heat-treatment", "--trials", "2", "--quiet", "--seed", "0",
                                   "--output-dir", str(tmp_path / "out")])
    assert ran.exit_code == 0, ran.output
    version = MlflowClient().get_registered_model("our-heat-treatment").latest_versions
    assert version and np.isfinite(float(MlflowClient().get_run(version[0].run_id).data.metrics["test_r2"]))


@pytest.mark.parametrize("pieces", ["date_and_clock", "year_to_minute"])
def test_new_card_joins_a_date_and_a_time_of_day_into_its_time_column(pieces, catalog_copy, tmp_path):
    """An MES export writes its stamp as 작업일자 and 작업시간 (or as 년, 월, 일, 시, 분): the drafted card
    splits by the joined time, and the same file then checks with the split by time possible, the stamps
    in order."""
    frame, _ = data.simulate.simulate("heat_treatment", rows=300, seed=6)
    stamps = pd.to_datetime(frame.pop("Batch_Time"))
    if pieces == "date_and_clock":
        frame.insert(0, "작업일자", stamps.dt.strftime("%Y-%m-%d"))
        frame.insert(1, "작업시간", stamps.dt.strftime("%H:%M:%S"))
    else:
        for at, (name, values) in enumerate(zip(["년", "월", "일", "시", "분"], [stamps.dt.year, stamps.dt.month, stamps.dt.day,
                                                                               stamps.dt.hour, stamps.dt.minute])):
            frame.insert(at, name, values)
    time = "작업일자 작업시간" if pieces == "date_and_clock" else "년 월 일 시 분"
    path = tmp_path / "mes.csv"
    frame.sample(frac=1.0, random_state=0).to_csv(path, index=False, encoding="cp949")  # rows out of order
    made = CliRunner().invoke(app, ["new", "mes-heat", "--data", str(path), "--target", "Hardness_HRC", "--lang", "en"])
    assert made.exit_code == 0, made.output
    assert f"{time.split()[0]} (joined with the other into the time column '{time}')" in made.output
    card = cards.load_card("mes-heat")
    assert card.time.column == time and card.split.kind == "time"
    checked = CliRunner().invoke(app, ["check", "mes-heat", "--data", str(path), "--lang", "en"])
    assert checked.exit_code == 0, checked.output
    first, last = stamps.min().strftime("%Y-%m-%d %H:%M"), stamps.max().strftime("%Y-%m-%d %H:%M")
    assert f"Time {time}: {first}" in checked.output and f"to {last}" in checked.output
    assert "Split (time, test 20%): possible" in checked.output
