"""Nightly validation: run the selected cards' notebooks on their reference data and check what matters.

One Dask task per card (``validate_card``) runs in a worker process, so cards run in parallel and a
card that breaks, or even kills its worker, takes no other card with it. The task checks the data
schema, executes the notebook through the runner as a *validation run* (tagged
``workbench.kind=validation``, compared with the champion but never registered), then checks the
result against the card's threshold, the champion's metric on the same test rows, the champion's
predictions on a fixed probe set, and the budget's wall time. The client (``validate``) gathers the
results; ``write_reports`` writes the executed notebooks, JUnit XML and the HTML report.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import settings
from .cluster import cores, dask_client, default_workers, worker_environment

KIND_TAG = "workbench.kind"  # "validation" on every validation run: the metric history is a tag query
CHECKS = ("schema", "notebook", "threshold", "champion", "probe", "wall_time")
PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


@dataclass(frozen=True)
class Budget:
    name: str
    n_trials: int
    timeout_s: float | None  # tuning time limit handed to the notebook
    wall_s: float  # the whole card (data, notebook, checks) must finish within this


BUDGETS = {
    # smoke: about 30 s a card at 2 workers on 2 cores, so the 50-card catalog fits in 15 minutes
    "smoke": Budget("smoke", n_trials=2, timeout_s=3, wall_s=90),  # the library defaults; the second only if quick
    "nightly": Budget("nightly", n_trials=20, timeout_s=120, wall_s=420),
    "full": Budget("full", n_trials=100, timeout_s=900, wall_s=1500),
}


@dataclass
class Check:
    name: str
    status: str  # passed | failed | skipped
    message: str

    @property
    def meaning(self) -> str:
        """What the check compares, in one line."""
        return CHECK_HELP[self.name][0] if self.name in CHECK_HELP else ""

    @property
    def fix(self) -> str:
        """What to do when it fails (and when a failure is expected)."""
        return CHECK_HELP[self.name][1] if self.name in CHECK_HELP else ""


# Each check: what it compares, and what to do when it fails. The report shows both beside the message.
CHECK_HELP = {
    "schema": ("the card's reference data (simulator or public dataset) still has the card's columns, types and "
               "ranges.",
               "the message names the column: fix the card (a renamed column, a changed range) or the simulator, "
               "or fetch the dataset again if its sha256 changed."),
    "notebook": ("the card's notebook runs to its end on the reference data at this budget.",
                 "open the executed notebook linked here at the failing cell; run it by hand with `workbench lab`."),
    "threshold": ("the new model's test metric meets the card's acceptance threshold (metric.accept).",
                  "at the smoke budget (2 trials) a card near its threshold may miss it: rerun at --budget nightly; "
                  "if it misses there too, the data or the features changed, see the notebook."),
    "champion": ("the new model is not worse than the registered champion re-scored on the same test rows, beyond "
                 "validation.champion_tolerance (default 5 %).",
                 "expected when the validation budget is far below the champion's (smoke: 2 trials against a "
                 "champion tuned longer); at the same budget it means the code or the data got worse."),
    "probe": ("the new model and the champion agree on the first validation.probe_rows rows of the reference data "
              "(correlation of their outputs, or share of equal labels for multiclass) by at least "
              "1 - validation.probe_tolerance: a change of behaviour that the test metric alone can hide.",
              "expected after a retrain that changed the model (other features, more trials, new code) while the "
              "threshold and champion checks pass: look at the notebook, and accept it by training the champion "
              "anew (`workbench run CARD`, which registers and promotes it when it is not worse), after which "
              "the probe compares with that one; or widen validation.probe_tolerance in the card when the outputs "
              "are known to vary that much. A failure with the champion check failing too is a real regression."),
    "wall_time": ("the card finished (data, notebook, checks) within the budget's wall time per card.",
                  "a slow machine or a busy night shows on every card; one card alone: its notebook or data grew, "
                  "lower its work or raise the budget."),
}


@dataclass
class CardResult:
    card_id: str
    title: str = ""
    metric: str = ""
    higher_is_better: bool = True
    accept: float | None = None
    value: float | None = None
    baseline: float | None = None  # the naive baseline's value of the metric on the same test rows
    data_source: str = ""  # "public:<dataset>" (real data), "simulator:..." or "file:..."
    champion_version: int | None = None
    champion_value: float | None = None
    seconds: float = 0.0
    run_id: str | None = None
    checks: list[Check] = field(default_factory=list)
    history: list[float] = field(default_factory=list)  # the metric over past validation runs, oldest first
    notebook: bytes | None = None  # the executed notebook, carried back: a remote worker needs no shared disk
    notebook_html: bytes | None = None  # its HTML rendering when the runner made one (else the report renders it)
    drift: dict | None = None  # the champion's training inputs against the reference data (see _check_drift)

    @property
    def passed(self) -> bool:
        return all(c.status != FAILED for c in self.checks)

    @property
    def data_kind(self) -> str:
        """``real <dataset>`` or ``simulated``: where this card's figures come from."""
        if self.data_source.startswith("public:"):
            from . import sources

            dataset = self.data_source.removeprefix("public:")
            kind = sources.catalog()[dataset].kind if dataset in sources.catalog() else "real"
            return f"{kind} {dataset}"
        return "simulated" if self.data_source.startswith("simulator") else self.data_source or "–"

    @property
    def failed_checks(self) -> list[str]:
        return [c.name for c in self.checks if c.status == FAILED]

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)


@dataclass
class Batch:
    """One ``workbench validate`` call, as the reports describe it."""
    id: str
    budget: Budget
    engine: str  # "LocalCluster, 2 workers" or the scheduler's address
    started: str
    load: str  # the machine's load average when it started: timings on a shared machine need it
    seconds: float = 0.0
    results: list[CardResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)


# --- one card, inside a Dask worker -----------------------------------------------------------------

def validate_card(card_id: str, budget: Budget, env: dict[str, str], batch: str, seed: int = 42) -> CardResult:
    """Validate one card in this process; every problem becomes a failed check, never an exception."""
    from . import cards
    from .errors import WorkbenchError

    start = time.perf_counter()
    out = CardResult(card_id)
    with tempfile.TemporaryDirectory(prefix=f"validate-{card_id}-") as tmp, settings.environment({
            **env, "WORKBENCH_OPTUNA_STORAGE": f"sqlite:///{tmp}/optuna.db"}):
        # A fresh Optuna study: the run tunes from scratch and adds no trials to the users' study.
        try:
            card = cards.load_card(card_id)
        except WorkbenchError as exc:
            out.checks = [Check("schema", FAILED, str(exc))] + [Check(n, SKIPPED, "the card does not load")
                                                               for n in CHECKS[1:]]
            return out
        out.title, out.metric, out.accept = card.name.en, card.metric.primary, card.metric.accept
        out.higher_is_better = card.higher_is_better
        dataset = _check_schema(card, out)
        out.drift = _check_drift(card, dataset)
        outcome = _run_notebook(card, budget, batch, seed, Path(tmp), out)
        if outcome is None:
            out.checks += [Check(n, SKIPPED, "the notebook did not finish") for n in ("threshold", "champion", "probe")]
        else:
            _check_result(card, outcome, dataset, out)
        out.seconds = time.perf_counter() - start
        ok = out.seconds <= budget.wall_s
        out.checks.append(Check("wall_time", PASSED if ok else FAILED,
                                f"{out.seconds:.0f} s {'within' if ok else 'over'} the {budget.name} budget's "
                                f"{budget.wall_s:.0f} s"))
        try:
            _record(card, out, budget, batch)
        except Exception as exc:  # noqa: BLE001 - the checks stand even when the store cannot take the verdict
            print(f"workbench validate: could not record {card_id}'s verdict in MLflow: {exc}", file=sys.stderr)
    return out


def _check_schema(card, out: CardResult):
    """The reference data has the card's columns, types and ranges (data.load validates them)."""
    from . import data
    from .errors import WorkbenchError

    try:
        dataset = data.load(card)
    except WorkbenchError as exc:
        out.checks.append(Check("schema", FAILED, str(exc)))
        return None
    out.data_source = dataset.source
    out.checks.append(Check("schema", PASSED, f"{dataset.rows} rows of {dataset.source} match the card's "
                                              f"{len(card.columns)} columns, types and ranges"))
    return dataset


def _check_drift(card, dataset) -> dict | None:
    """The registered champion's training inputs (its drift profile) against the card's reference data
    today: a simulator or dataset that changed under a champion shows here. Reported, never failing the
    card: a champion trained on a plant's own file may differ from the reference data by design."""
    from . import drift, registry, tracking

    if dataset is None:
        return None
    try:
        tracking.configure()
        mv = registry.version_by_alias(card.id, registry.CHAMPION)
        if mv is None:
            return {"verdict": None, "text": "no champion registered yet", "text_ko": "챔피언 모델이 아직 없습니다"}
        reference = drift.load_profile(mv.run_id)
        if reference is None:
            return {"version": int(mv.version), "verdict": None,
                    "text": f"champion v{mv.version} has no drift profile (trained before profiles were logged)",
                    "text_ko": f"챔피언 v{mv.version}에는 변화 기준 프로파일이 없습니다 (프로파일 기록 이전에 학습)"}
        found = drift.compare(reference, dataset.frame)
        return {"version": int(mv.version), "verdict": found.verdict, "drifted": found.drifted,
                "watched": found.watched, "rows": found.rows, "text": found.summary("en"),
                "text_ko": found.summary("ko")}
    except Exception as exc:  # noqa: BLE001 - a report line, never a reason to stop the card
        return {"verdict": None, "text": f"not checked: {type(exc).__name__}: {exc}", "text_ko": "확인하지 못했습니다"}


def _run_notebook(card, budget: Budget, batch: str, seed: int, tmp: Path, out: CardResult):
    from . import runner
    from .errors import NotebookError

    executed = tmp / "run" / f"{card.id}.executed.ipynb"
    outcome = None
    try:
        outcome = runner.run_card(card.id, n_trials=budget.n_trials, timeout_s=budget.timeout_s, seed=seed,
                                  output_dir=tmp / "run", progress=False, register=False,
                                  tags={KIND_TAG: "validation", "validation.budget": budget.name,
                                        "validation.batch": batch, "site": "reference"},
                                  cell_timeout_s=2 * budget.wall_s)  # a hung cell must not stall the night
        out.run_id = outcome.run_id
        check = Check("notebook", PASSED, f"executed in {outcome.seconds:.0f} s")
        if not outcome.summary:
            check = Check("notebook", FAILED, "the notebook finished without writing metrics.json: its last cell "
                                              "must call wb.register(result, report, model_uri, output_dir=output_dir)")
            outcome = None
    except NotebookError as exc:
        check = Check("notebook", FAILED, f"cell {exc.cell_index}: {exc.ename}: {exc.evalue.strip()}")
    except Exception as exc:  # noqa: BLE001 - whatever stops one card is that card's failure
        check = Check("notebook", FAILED, f"{type(exc).__name__}: {exc}")
    out.checks.append(check)
    if executed.exists():
        out.notebook = executed.read_bytes()
    if executed.with_suffix(".html").exists():  # the runner's rendering, also logged as notebook/<card>.executed.html
        out.notebook_html = executed.with_suffix(".html").read_bytes()
    return outcome


def _check_result(card, outcome, dataset, out: CardResult) -> None:
    from . import metrics

    primary = card.metric.primary
    decision = outcome.decision
    out.value = outcome.summary["metrics"][f"test_{primary}"]
    out.baseline = (outcome.summary.get("baseline") or {}).get(f"baseline_{primary}")
    sign = "≥" if card.higher_is_better else "≤"
    ok = bool(decision["passes_threshold"])
    verdict = "meets" if ok else "misses"
    out.checks.append(Check("threshold", PASSED if ok else FAILED,
                            f"test {primary} {out.value:.4g} {verdict} {sign} {card.metric.accept}"))

    out.champion_version, out.champion_value = decision["champion_before"], decision["champion_value"]
    if out.champion_version is None:
        out.checks += [Check(n, SKIPPED, "no champion registered yet") for n in ("champion", "probe")]
        return
    if out.champion_value is None:
        out.checks.append(Check("champion", SKIPPED, decision["reason"]))
    else:
        tolerance = card.validation.champion_tolerance
        ok = metrics.better(card.task, primary, out.value, out.champion_value, tolerance * abs(out.champion_value))
        verdict = "is not worse" if ok else "is worse"
        out.checks.append(Check("champion", PASSED if ok else FAILED,
                                f"{out.value:.4g} {verdict} than champion v{out.champion_version}'s "
                                f"{out.champion_value:.4g} on the same test rows beyond {tolerance:.0%}"))
    out.checks.append(_check_probe(card, outcome, dataset, out.champion_version, out.check("champion")))


def _check_probe(card, outcome, dataset, champion_version: int, champion_check: Check | None = None) -> Check:
    """The new model and the champion score the first rows of the reference data alike."""
    import mlflow

    from . import registry

    if dataset is None:
        return Check("probe", SKIPPED, "the reference data does not load")
    rows = dataset.frame.head(card.validation.probe_rows)
    try:
        new = mlflow.pyfunc.load_model(outcome.summary["model_uri"]).unwrap_python_model().model
        old = registry.load_model(card.id, version=champion_version)
        agreement = probe_agreement(card.task, new.predict(rows), old.predict(rows))
    except Exception as exc:  # noqa: BLE001 - a champion that cannot score today's rows is a finding
        return Check("probe", FAILED, f"could not score the probe rows with both models: {type(exc).__name__}: {exc}")
    need = 1 - card.validation.probe_tolerance
    ok = agreement >= need
    measure = "share of equal labels" if card.task == "multiclass" else "correlation of outputs"
    return Check("probe", PASSED if ok else FAILED,
                 f"{measure} with champion v{champion_version} on {len(rows)} probe rows is {agreement:.3f} "
                 f"({'≥' if ok else '<'} {need:.2f})" + ("" if ok else _probe_hint(champion_check)))


def _probe_hint(champion_check: Check | None) -> str:
    """Whether a probe failure is the expected kind: the new model behaves differently but is not worse."""
    if champion_check is not None and champion_check.status == PASSED:
        return ("; the new model is not worse than the champion (champion check passed), so it only behaves "
                "differently: expected after a retrain; accept it by training the champion anew")
    if champion_check is not None and champion_check.status == FAILED:
        return "; the new model is also worse than the champion: a regression to look into"
    return ""


def probe_agreement(task: str, new, old) -> float:
    """How alike two models' predictions are: the share of equal labels (multiclass), else the
    correlation of the probabilities, anomaly scores or values (1 = same ranking and spread)."""
    import numpy as np

    if task == "multiclass":
        return float(np.mean(new["prediction"].astype(str).to_numpy() == old["prediction"].astype(str).to_numpy()))
    column = {"binary": "probability", "anomaly": "score"}.get(task, "prediction")
    a, b = new[column].astype(float).reset_index(drop=True), old[column].astype(float).reset_index(drop=True)
    if a.std() == 0 or b.std() == 0:  # a constant model agrees only with the same constant
        return float(np.allclose(a, b))
    value = a.corr(b)
    return 0.0 if value != value else float(value)  # NaN (too few rows) counts as no agreement


def _record(card, out: CardResult, budget: Budget, batch: str) -> None:
    """Put the verdict on the validation run and read this card's metric history back."""
    from mlflow.tracking import MlflowClient

    from . import tracking

    tracking.configure()
    client = MlflowClient()
    experiment = client.get_experiment_by_name(card.id)
    if experiment is None:
        return
    if out.run_id is None:  # the notebook failed: find the run the runner made by its batch tag
        found = client.search_runs([experiment.experiment_id], max_results=1,
                                   filter_string=f"tags.`validation.batch` = '{batch}'")
        out.run_id = found[0].info.run_id if found else None
    if out.run_id:
        client.set_tag(out.run_id, "validation.status", PASSED if out.passed else FAILED)
        for check in out.checks:
            client.set_tag(out.run_id, f"validation.{check.name}", check.status)
        client.log_metric(out.run_id, "validation_seconds", out.seconds)
    past = client.search_runs([experiment.experiment_id], max_results=30, order_by=["attributes.start_time DESC"],
                              filter_string=f"tags.`{KIND_TAG}` = 'validation' and "
                                            f"tags.`validation.budget` = '{budget.name}'")
    key = f"test_{card.metric.primary}"
    out.history = [r.data.metrics[key] for r in reversed(past) if key in r.data.metrics]


# --- the fan-out, in the client ---------------------------------------------------------------------

def validate(card_ids: list[str], budget: Budget, workers: int | None = None, scheduler: str | None = None,
             seed: int = 42, on_result: Callable[[CardResult], None] | None = None) -> Batch:
    """Validate ``card_ids`` in parallel; ``on_result`` is called as each card finishes."""
    from dask.distributed import as_completed

    start = time.perf_counter()
    batch = Batch(id=time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6], budget=budget, engine="",
                  started=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                  load=" ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {cores()} cores ({platform.node()})")
    env = worker_environment(None if scheduler else workers or default_workers())
    _create_stores()
    found = {}
    with dask_client(scheduler, workers) as (client, engine):
        batch.engine = engine
        client.run(_import_engine)  # once per worker, before any card's clock starts
        futures = {client.submit(validate_card, card_id, budget, env, batch.id, seed, pure=False,
                                 key=f"validate-{card_id}-{batch.id}"): card_id for card_id in card_ids}
        for future in as_completed(futures):
            card_id = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001 - the worker died (memory, a signal) or a bug here: go on
                why = f"validation did not finish on its Dask worker: {type(exc).__name__}: {exc}"
                result = CardResult(card_id, checks=[Check("notebook", FAILED, why)])
                result.checks += [Check(n, SKIPPED, "the worker failed") for n in CHECKS if n != "notebook"]
            found[card_id] = result
            if on_result:
                on_result(result)
    batch.results = [found[c] for c in card_ids]
    batch.seconds = time.perf_counter() - start
    return batch


def _create_stores() -> None:
    """Make the MLflow and Optuna tables here, once: N runs that start together on a new store each try
    to create them, and MLflow's migrations fail half-way when two race ("table already exists")."""
    from mlflow.tracking import MlflowClient

    from . import tracking, tuning

    tracking.configure()
    MlflowClient().search_experiments(max_results=1)
    tuning.open_storage()


def _import_engine() -> None:
    """The heavy imports a card needs (MLflow alone takes seconds), done when a worker starts."""
    import mlflow  # noqa: F401
    import papermill  # noqa: F401

    from . import data, registry, runner, tracking  # noqa: F401


# --- reports ----------------------------------------------------------------------------------------

def write_reports(batch: Batch, folder: str | Path) -> dict[str, Path]:
    """The executed notebooks, ``junit.xml`` and ``report.html`` under ``folder``."""
    from .report_html import write_html

    folder = Path(folder)
    notebooks = folder / "notebooks"
    notebooks.mkdir(parents=True, exist_ok=True)
    for old in notebooks.glob("*.ipynb"):  # a report describes one batch only
        old.unlink()
    for old in notebooks.glob("*.html"):
        old.unlink()
    links = {}
    for result in batch.results:
        if result.notebook is not None:
            (notebooks / f"{result.card_id}.ipynb").write_bytes(result.notebook)
            links[result.card_id] = f"notebooks/{result.card_id}.ipynb"
            html = result.notebook_html or notebook_html(result.notebook)
            if html is not None:  # what the report links to: a page any browser reads, figures inline
                (notebooks / f"{result.card_id}.html").write_bytes(html)
                links[result.card_id] = f"notebooks/{result.card_id}.html"
    return {"junit": write_junit(batch, folder / "junit.xml"),
            "html": write_html(batch, folder / "report.html", links)}


def notebook_html(notebook: bytes) -> bytes | None:
    """An executed notebook as one HTML page (nbconvert's lab template, images inline), or None when it
    cannot be rendered (the .ipynb is still linked)."""
    try:
        import nbformat
        from nbconvert import HTMLExporter

        body, _ = HTMLExporter(template_name="lab").from_notebook_node(nbformat.reads(notebook.decode("utf-8"),
                                                                                      as_version=4))
        return body.encode("utf-8")
    except Exception as exc:  # noqa: BLE001 - the report links the .ipynb instead
        print(f"workbench validate: a notebook could not be rendered as HTML: {type(exc).__name__}: {exc}",
              file=sys.stderr)
        return None


def write_junit(batch: Batch, path: Path) -> Path:
    """One test suite per card, one test case per check: any CI shows which check of which card failed."""
    from junitparser import Failure, JUnitXml, Skipped, TestCase, TestSuite

    xml = JUnitXml(f"workbench validate ({batch.budget.name})")
    for result in batch.results:
        suite = TestSuite(result.card_id)
        for check in result.checks:
            case = TestCase(check.name, classname=result.card_id,
                            time=round(result.seconds, 3) if check.name == "notebook" else 0.0)
            if check.status == FAILED:
                case.result = [Failure(f"{check.message}. What it checks: {check.meaning} What to do: {check.fix}",
                                       type_=check.name)]
            elif check.status == SKIPPED:
                case.result = [Skipped(check.message)]
            else:
                case.system_out = check.message
            suite.add_testcase(case)
        suite.update_statistics()
        xml.add_testsuite(suite)
    xml.update_statistics()
    path.parent.mkdir(parents=True, exist_ok=True)
    xml.write(str(path), pretty=True)
    return path
