"""A registered model per card and data line (issue 18): the reference data registers under the card id, a
plant's own file under ``<card>.<site>``, each with its own champion; `workbench run --site` (or a label
from the file name), `models`, `predict --site`, `drift --site` and `serve --all` (each site's champion as
its own model id) on a real store, real runs and a real HTTP server."""

from __future__ import annotations

import re

import httpx
import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

import pipelines as wb
from pipelines import registry, serving, simulate
from pipelines.cli import app
from pipelines.errors import WorkbenchError
from serving_support import CARD, server_thread, temporary_store, train

# the module's trained store is made once: every test of it on one worker (--dist loadgroup)
pytestmark = pytest.mark.xdist_group("sites")



def test_site_names_fit_models_uris_and_stay_apart_from_aliases():
    assert registry.model_name(CARD) == CARD == registry.model_name(CARD, "reference")
    assert registry.model_name(CARD, "Plant A") == f"{CARD}.plant-a"
    assert registry.split_name(f"{CARD}.2공장-열처리") == (CARD, "2공장-열처리")
    assert registry.site_for("/data/2공장 열처리.csv", None) == ("2공장-열처리", True)
    assert registry.site_for(None, None) == ("reference", False)
    from mlflow.store.artifact.utils.models import _parse_model_uri

    parsed = _parse_model_uri(f"models:/{registry.model_name(CARD, 'plant-a')}@champion")
    assert (parsed.name, parsed.alias) == (f"{CARD}.plant-a", "champion")
    for bad in [(None, "plant-a"), ("x.csv", "reference"), ("x.csv", "../")]:
        with pytest.raises(WorkbenchError):
            registry.site_for(*bad)


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """The reference model trained in this process; a plant file trained by `workbench run` (the real
    notebook through papermill), with no --site: its label comes from the file name."""
    folder = tmp_path_factory.mktemp("sites")
    with temporary_store(folder, rows=600) as uri:
        reference = train(CARD, seed=0)
        frame, _ = simulate.simulate("heat_treatment", rows=600, seed=11)
        plant = folder / "2공장 열처리.csv"
        frame.to_csv(plant, index=False)
        ran = CliRunner().invoke(app, ["run", CARD, "--data", str(plant), "--trials", "1", "--seed", "0", "--quiet",
                                       "--lang", "en", "--output-dir", str(folder / "out")])
        assert ran.exit_code == 0, ran.output[-3000:]
        yield {"uri": uri, "reference": reference, "plant": plant, "frame": frame, "output": ran.output,
               "folder": folder}


def test_reference_and_plant_file_leave_two_champions_one_per_site(sites):
    name = f"{CARD}.2공장-열처리"
    assert f"site: 2공장-열처리 (from the file name; the model registers as {name}" in sites["output"]
    client = MlflowClient()
    reference = client.get_model_version_by_alias(CARD, "champion")
    plant = client.get_model_version_by_alias(name, "champion")
    assert int(reference.version) == sites["reference"] and int(plant.version) == 1
    assert reference.run_id != plant.run_id
    run = client.get_run(plant.run_id)
    assert run.data.tags["site"] == "2공장-열처리" and run.data.tags["site.from"] == "file name"
    assert client.get_experiment(run.info.experiment_id).name == CARD  # one experiment per card, sites by tag
    assert client.get_registered_model(name).tags == {"card.id": CARD, "site": "2공장-열처리"}
    # the plant's model was never compared with the reference champion
    assert "no champion yet" in (plant.tags.get("promotion") or "") or "first version" in plant.tags["promotion"]
    listed = CliRunner().invoke(app, ["models", CARD], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    lines = [line for line in listed.output.splitlines() if CARD in line]
    assert any(re.search(rf"{re.escape(name)}\s.*2공장-열처리\s.*1\s.*champion", line) for line in lines), listed.output
    assert any(re.search(rf"{re.escape(CARD)}\s+.*reference\s.*champion", line) for line in lines), listed.output


def test_a_second_run_of_the_reference_competes_only_with_the_reference_champion(sites):
    client = MlflowClient()
    before = client.get_model_version_by_alias(f"{CARD}.2공장-열처리", "champion").version
    again = train(CARD, seed=1)
    assert again == sites["reference"] + 1
    assert client.get_model_version_by_alias(f"{CARD}.2공장-열처리", "champion").version == before
    promotion = client.get_model_version(CARD, str(again)).tags["promotion"]
    assert f"champion v{sites['reference']}" in promotion or "cannot be trusted" in promotion


def test_predict_and_drift_with_site_use_that_sites_model(sites, tmp_path):
    source = tmp_path / "new.csv"
    sites["frame"].drop(columns="Hardness_HRC").head(50).to_csv(source, index=False)
    out = tmp_path / "scored.csv"
    done = CliRunner().invoke(app, ["predict", CARD, "--site", "2공장-열처리", "--input", str(source), "--output",
                                    str(out), "--quiet", "--lang", "en"])
    assert done.exit_code == 0, done.output
    scored = pd.read_csv(out, encoding="utf-8-sig")
    assert set(scored["model_id"]) == {f"{CARD}.2공장-열처리"} and set(scored["model_version"]) == {1}
    assert f"--site 2공장-열처리" in done.output  # the drift line's hint names the site
    drift = CliRunner().invoke(app, ["drift", f"{CARD}.2공장-열처리", "--input", str(source), "--json"])
    assert drift.exit_code == 0, drift.output
    assert '"model": "heat-treatment-hardness.2공장-열처리"' in drift.output
    missing = CliRunner().invoke(app, ["predict", CARD, "--site", "no-such-line", "--input", str(source),
                                       "--output", str(tmp_path / "x.csv"), "--quiet", "--lang", "en"])
    assert missing.exit_code != 0 and f"No registered model {CARD}.no-such-line@champion" in missing.output
    assert "--site no-such-line" in missing.output


def test_serve_all_lists_each_sites_champion_as_its_own_model(sites):
    champions = serving.Champions.load()
    app_ = serving.create_app(champions, hosts={"127.0.0.1"}, token="")
    row = sites["frame"].drop(columns="Hardness_HRC").head(1)
    record = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.iloc[0].to_dict().items()}
    with server_thread(app_) as url:
        listed = httpx.get(f"{url}/models", timeout=30).json()["models"]
        ids = {m["id"]: m for m in listed}
        assert {CARD, f"{CARD}.2공장-열처리"} <= set(ids)
        assert ids[f"{CARD}.2공장-열처리"]["site"] == "2공장-열처리" and ids[f"{CARD}.2공장-열처리"]["card"] == CARD
        answer = httpx.post(f"{url}/models/{CARD}.2공장-열처리/invocations", json={"dataframe_records": [record]},
                            timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.json()["model"] == {"id": f"{CARD}.2공장-열처리", "version": 1}
    mlflow.set_tracking_uri(sites["uri"])
