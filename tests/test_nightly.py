"""workbench validate through real parts: papermill kernels in Dask worker processes, a SQLite MLflow
store holding a real champion, the JUnit XML parsed back, the HTML report opened in headless Chromium.

One champion and one two-card batch (real notebook runs, the slow part) are built once per session and
shared by the tests, across xdist workers too: pytest 9 ignores the node-id suffix pytest-xdist 3.8
uses for ``xdist_group``, so a module fixture alone would be built again on every worker."""

from __future__ import annotations

import fcntl
import json
import os
import pickle
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from pipelines import nightly, runner
from pipelines.cli import app

ROOT = Path(__file__).resolve().parent.parent
CARD, BROKEN = "heat-treatment-hardness", "heat-treatment-broken"
pytestmark = pytest.mark.slow

BUDGET = nightly.Budget("test", n_trials=2, timeout_s=None, wall_s=300)  # generous: CI shares two cores


def _shared_store_client() -> MlflowClient:
    """A client of the shared store for tracking AND registry: given only a tracking URI, MLflow still
    reads the registry from the global ``mlflow.set_registry_uri`` that an earlier test on this worker set."""
    uri = os.environ["MLFLOW_TRACKING_URI"]
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _edit_card(folder: Path, card_id: str, change) -> None:
    import yaml

    path = folder / f"{card_id}.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(raw)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _small(accept: float):
    def change(raw):
        raw["reference_data"]["simulator"]["rows"] = 1000
        raw["metric"]["accept"] = accept
    return change


def _insert_after_load(notebook: Path, source: str) -> int:
    """Put a code cell right after the cell that loads the data; return its index."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    at = next(i for i, c in enumerate(nb["cells"]) if "load_data" in "".join(c["source"])) + 1
    nb["cells"].insert(at, {"cell_type": "code", "id": "inserted", "metadata": {}, "outputs": [],
                            "execution_count": None, "source": source})
    notebook.write_text(json.dumps(nb), encoding="utf-8")
    return at


def _copy_catalog(folder: Path, mp: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """catalog_copy for the shared fixture (catalog_copy itself is per test)."""
    cat, nbs = folder / "catalog", folder / "notebooks"
    shutil.copytree(ROOT / "catalog", cat)
    shutil.copytree(ROOT / "notebooks", nbs)
    mp.setenv("WORKBENCH_CATALOG_DIR", str(cat))
    mp.setenv("WORKBENCH_NOTEBOOKS_DIR", str(nbs))
    return cat, nbs


def _build(folder: Path) -> dict:
    """Champion v1 of CARD (1000 rows), trained as `workbench run` trains; then one batch of two cards:
    CARD with an impossible threshold, and a copy of it whose notebook raises."""
    with pytest.MonkeyPatch.context() as mp:
        cat, _ = _copy_catalog(folder / "champion", mp)
        _edit_card(cat, CARD, _small(accept=50.0))  # passes: becomes champion
        champion = runner.run_card(CARD, n_trials=BUDGET.n_trials, seed=42, output_dir=folder / "champion" / "out",
                                   progress=False)
        assert champion.decision["promoted"]
    with pytest.MonkeyPatch.context() as mp:
        cat, nbs = _copy_catalog(folder / "nightly", mp)
        _edit_card(cat, CARD, _small(accept=0.01))  # rmse <= 0.01 HRC: impossible
        raw = (cat / f"{CARD}.yaml").read_text(encoding="utf-8").replace(f"id: {CARD}", f"id: {BROKEN}")
        (cat / f"{BROKEN}.yaml").write_text(raw, encoding="utf-8")
        nb = (nbs / f"{CARD}.ipynb").read_text(encoding="utf-8").replace(f'load_card(\\"{CARD}\\")',
                                                                         f'load_card(\\"{BROKEN}\\")')
        (nbs / f"{BROKEN}.ipynb").write_text(nb, encoding="utf-8")
        cell = _insert_after_load(nbs / f"{BROKEN}.ipynb", "raise RuntimeError('quench log truncated')")
        batch = nightly.validate([BROKEN, CARD], BUDGET, workers=2)
        paths = nightly.write_reports(batch, folder / "report")
    return {"champion_run_id": champion.run_id, "batch": batch, "paths": paths, "cell": cell}


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """The store (its URI set for the module's tests) and what ``_build`` made, built by whichever
    worker comes first; the others wait on a file lock and read it."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the session's, across workers
    folder = root / "validate-shared"
    built = folder / "built.pickle"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{folder / 'mlflow.db'}")
        mp.delenv("WORKBENCH_OPTUNA_STORAGE", raising=False)
        with open(root / "validate-shared.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not built.exists():
                folder.mkdir(exist_ok=True)
                built.write_bytes(pickle.dumps(_build(folder)))
            state = pickle.loads(built.read_bytes())
        yield state


@pytest.fixture
def outcome(shared):
    return shared["batch"], shared["paths"], shared["cell"]


def test_impossible_threshold_fails_exactly_the_threshold_check(outcome, shared):
    batch, _, _ = outcome
    result = next(r for r in batch.results if r.card_id == CARD)
    assert result.failed_checks == ["threshold"], [(c.name, c.status, c.message) for c in result.checks]
    assert [c.name for c in result.checks] == list(nightly.CHECKS)
    assert all(c.status == "passed" for c in result.checks if c.name != "threshold"), result.checks
    assert "misses ≤ 0.01" in result.check("threshold").message
    assert result.champion_version == 1 and "champion v1" in result.check("probe").message
    # tagged as a validation run, with the verdict; the champion is untouched and nothing was registered
    client = _shared_store_client()
    run = client.get_run(result.run_id)
    assert run.data.tags["workbench.kind"] == "validation"
    assert run.data.tags["validation.status"] == "failed" and run.data.tags["validation.threshold"] == "failed"
    versions = client.search_model_versions(f"name = '{CARD}'")
    assert [int(v.version) for v in versions] == [1]
    assert client.get_model_version_by_alias(CARD, "champion").run_id == shared["champion_run_id"]
    assert result.history and result.history[-1] == pytest.approx(result.value)


def test_a_raising_notebook_is_reported_with_its_cell_and_does_not_stop_the_others(outcome):
    batch, paths, cell = outcome
    broken = next(r for r in batch.results if r.card_id == BROKEN)
    assert broken.failed_checks == ["notebook"]
    message = broken.check("notebook").message
    assert message.startswith(f"cell {cell}: RuntimeError") and "quench log truncated" in message
    assert {broken.check(n).status for n in ("threshold", "champion", "probe")} == {"skipped"}
    assert (paths["html"].parent / "notebooks" / f"{BROKEN}.ipynb").exists()  # the traceback is kept
    other = next(r for r in batch.results if r.card_id == CARD)
    assert other.check("notebook").status == "passed" and other.value is not None


def test_junit_xml_parses_and_its_counts_match(outcome):
    batch, paths, _ = outcome
    root = ET.parse(paths["junit"]).getroot()
    cases = root.findall(".//testcase")
    checks = [(r.card_id, c) for r in batch.results for c in r.checks]
    assert len(cases) == len(checks) == 2 * len(nightly.CHECKS)
    failed = {(r, c.name) for r, c in checks if c.status == "failed"}
    assert failed == {(CARD, "threshold"), (BROKEN, "notebook")}
    assert {(t.get("classname"), t.get("name")) for t in cases if t.find("failure") is not None} == failed
    skipped = sum(c.status == "skipped" for _, c in checks)
    assert sum(t.find("skipped") is not None for t in cases) == skipped == 3
    assert (int(root.get("tests")), int(root.get("failures")), int(root.get("skipped"))) == (12, 2, 3)
    assert {s.get("name") for s in root.findall("testsuite")} == {CARD, BROKEN}


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="Debian's chromium is not installed (apt-get install -y chromium; .ci/run installs it)")
def test_html_report_opens_in_headless_chromium_and_shows_every_card(outcome, tmp_path):
    batch, paths, _ = outcome
    url = paths["html"].resolve().as_uri()
    flags = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True).stdout
    for result in batch.results:
        assert f'id="{result.card_id}"' in dom
    assert dom.count(">FAIL<") == 2 and "<svg" in dom and "cell " in dom
    assert f'href="notebooks/{CARD}.html"' in dom  # the executed notebook rendered as a page (issue 18)
    shot = tmp_path / "report.png"
    subprocess.run([*flags, "--window-size=1400,900", f"--screenshot={shot}", url], capture_output=True,
                   timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000  # a rendered page


def test_degraded_model_is_flagged_against_the_champion(shared, catalog_copy):
    """Trained on shuffled targets (the test rows keep theirs), on an existing Dask cluster via --scheduler."""
    from dask.distributed import LocalCluster

    catalog_copy.edit(CARD, _small(accept=50.0))  # it still passes the loose threshold: the champion check flags it
    _insert_after_load(catalog_copy.notebooks / f"{CARD}.ipynb", (
        "head = int(len(data.frame) * 0.7)  # the time split tests on the last 20%: shuffle only earlier rows\n"
        "data.frame.loc[:head - 1, card.target.column] = np.random.default_rng(0).permutation(\n"
        "    data.frame[card.target.column].to_numpy()[:head])"))
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        batch = nightly.validate([CARD], BUDGET, scheduler=cluster.scheduler_address)
    [result] = batch.results
    assert "Dask scheduler" in batch.engine
    assert result.check("threshold").status == "passed"
    assert result.check("champion").status == "failed" and result.check("probe").status == "failed"
    assert result.value > 2 * result.champion_value  # rmse: the degraded model is far worse
    assert "worse than champion v1" in result.check("champion").message
    assert int(_shared_store_client().get_model_version_by_alias(CARD, "champion").version) == 1


def test_cli_validate_needs_cards_and_a_known_budget():
    runner_ = CliRunner()
    assert runner_.invoke(app, ["validate"]).exit_code == 2
    assert runner_.invoke(app, ["validate", "--all", "--budget", "weekly"]).exit_code == 2
    unknown = runner_.invoke(app, ["validate", "no-such-card"])
    assert unknown.exit_code == 2 and "no-such-card" in unknown.output
