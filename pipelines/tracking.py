"""MLflow tracking: one experiment per card, one run per training, with the conventions of
DESIGN.md section 5 (tags ``card.id``, ``card.version``, ``data.sha256``, ``git.sha``, ``device``;
metrics ``test_*``, ``cv_*``, ``baseline_*``; the card, plots, trials and the model as artifacts)."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import tempfile
import warnings
from pathlib import Path

import cloudpickle
import mlflow
import pandas as pd
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from . import settings, stale_runs
from .cards import Card, card_path
from .data import Dataset
from .model import StandardModel

MODEL_NAME = "model"  # the artifact name of the logged model inside a run


class PyfuncModel(mlflow.pyfunc.PythonModel):
    """MLflow's face of a StandardModel: the scoring server and ``pyfunc.load_model`` call this."""

    def __init__(self, model: StandardModel):
        self.model = model

    # The DataFrame hint is one MLflow infers nothing from (the logged signature carries the card's
    # schema); without a hint MLflow warns on every import and model load, past any warning filter.
    def predict(self, context, model_input: pd.DataFrame, params=None):
        return self.model.predict(pd.DataFrame(model_input))


_READY: set[str] = set()


def configure(tracking_uri: str | None = None) -> str:
    uri = tracking_uri or settings.tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if uri not in _READY:
        # the first touch creates or migrates the tables: four runs starting together on a new store
        # would each try (`table logged_models already exists`), so one at a time
        with settings.store_lock("create", uri):
            MlflowClient().search_experiments(max_results=1)
        _READY.add(uri)
    return uri


def experiment_id(card_id: str) -> str:
    client = MlflowClient()
    found = client.get_experiment_by_name(card_id)
    if found:
        return found.experiment_id
    root = settings.artifact_root(mlflow.get_tracking_uri())
    return client.create_experiment(card_id, artifact_location=f"{root}/{card_id}" if root else None)


def git_sha() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=settings.REPO_ROOT, capture_output=True, text=True,
                             timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def create_run(card: Card, tracking_uri: str | None = None, tags: dict | None = None) -> str:
    """A new RUNNING run in the card's experiment (the runner's, before the notebook starts)."""
    configure(tracking_uri)
    run = MlflowClient().create_run(experiment_id(card.id), run_name=f"{card.id}",
                                    tags={"card.id": card.id, "card.version": str(card.version),
                                          "git.sha": git_sha(), stale_runs.TAG: stale_runs.process_tag(),
                                          **(tags or {})})
    return run.info.run_id


def start_run(card: Card, data: Dataset, run_id: str | None = None, tracking_uri: str | None = None):
    """Make the run active in this process: the runner's run when ``run_id`` is given (papermill),
    a new one when the notebook is run by hand."""
    configure(tracking_uri)
    if mlflow.active_run() is not None:
        mlflow.end_run()
    if run_id:
        run = mlflow.start_run(run_id=run_id)
    else:
        run = mlflow.start_run(experiment_id=experiment_id(card.id), run_name=card.id)
    mlflow.set_tags({"card.id": card.id, "card.version": str(card.version), "data.sha256": data.sha256,
                     "data.source": data.source, "git.sha": git_sha(),
                     # who works on the run, so that a killed process's run is found (pipelines/stale_runs.py)
                     (stale_runs.KERNEL_TAG if run_id else stale_runs.TAG): stale_runs.process_tag()})
    mlflow.log_params({"data.rows": data.rows})
    log_data_decisions(card, data)
    path = card_path(card.id)
    if path.exists():
        mlflow.log_artifact(str(path), artifact_path="card")
    return run


def _metric_key(name: str) -> str:
    return re.sub(r"[^\w.\- /]", "_", str(name))


def log_data_decisions(card: Card, data: Dataset) -> None:
    """Every decision the file made, where a person looks in MLflow: the split used (tag ``split.kind``,
    and ``split.fallback`` when the card's could not be made), absent columns, values set missing per
    column (metrics ``data.out_of_range.<column>``), and all notes in English and Korean
    (``data/notes.json``, ``data/decisions.md``) and in the run's description."""
    from . import messages

    used = data.card or card
    tags = {"split.kind": used.split.kind}
    if used.split.kind != card.split.kind:
        tags["split.card_kind"] = card.split.kind
        if not any(code == "split_override" for code, _ in data.notes):
            tags["split.fallback"] = used.split.kind
    absent = data.facts.get("absent") or []
    if absent:
        tags["data.absent_columns"] = ", ".join(absent)[:4000]
    mlflow.set_tags(tags)
    metrics = {f"data.out_of_range.{_metric_key(c)}": n for c, n in (data.facts.get("out_of_range") or {}).items()}
    if "rows_used" in data.facts:
        metrics["data.rows_used"] = data.facts["rows_used"]
    if metrics:
        mlflow.log_metrics(metrics)
    if not data.notes:
        return
    lines = {lang: data.notes_text(lang) for lang in ("en", "ko")}
    mlflow.log_dict({"notes": messages.portable(data.notes), "text": lines, "facts": data.carry()["facts"]},
                    "data/notes.json")
    text = "## What the data decided\n\n" + "\n".join(f"- {n}" for n in lines["en"]) + \
           "\n\n## 데이터에 따른 결정\n\n" + "\n".join(f"- {n}" for n in lines["ko"]) + "\n"
    mlflow.log_text(text, "data/decisions.md")
    mlflow.set_tag("mlflow.note.content", f"Data: {data.source}\n\n" + text)


def _requirements() -> list[str]:
    names = ["mlflow", "lightgbm", "xgboost", "pandas", "numpy", "scikit-learn", "cloudpickle"]
    return [f"{n}=={importlib.metadata.version(n)}" for n in names]


HOLDOUT_MODEL = "holdout_model/model.pkl"  # the model the test rows scored, before the refit on every row


def log_result(result, report) -> str:
    """Log params, metrics, plots, trials and the model into the active run; return the model URI.
    The logged model is refit on every supplied row (``settings.refitting()``); the model the test rows
    scored is kept beside it, so a later champion comparison re-scores what was tested, not a model
    that has seen those rows."""
    from .tuning import refit

    card = result.card
    mlflow.set_tag("device", result.device)
    mlflow.log_params({"seed": result.seed, "n_trials_total": len(result.study.trials),
                       "n_trials_new": result.new_trials, "study": result.study.study_name,
                       "cv_folds": result.folds,
                       **{f"best.{k}": v for k, v in result.params.items()}})
    if result.model.threshold is not None:
        mlflow.log_param("threshold", round(result.model.threshold, 6))
    mlflow.log_metrics({**report.metrics, **report.baseline, **result.cv, **report.counts, **report.decisions,
                        "tuning_seconds": result.seconds})
    # each test figure's 90 % bootstrap interval, and the ones too thin to trust, beside it
    mlflow.log_metrics({f"{k}.ci90_{end}": v for k, (lo, hi) in report.intervals.items()
                        for end, v in (("low", lo), ("high", hi)) if v == v})
    if report.untrusted:
        mlflow.set_tag("test.untrusted", "; ".join(f"{k}: {why}" for k, why in report.untrusted.items())[:4000])
    if result.card.split.kind == "time":
        mlflow.set_tag("split.test_share", f"{result.card.split.test_size:g}")
    # The columns this model reads and the features it built from them: predict and serve require these.
    mlflow.log_param("features.count", len(result.model.feature_names))
    mlflow.log_dict({"input_columns": result.model.input_columns, "feature_names": result.model.feature_names},
                    "model_features.json")
    for name, fig in report.figures.items():
        mlflow.log_figure(fig, f"plots/{name}.png")
    with tempfile.TemporaryDirectory() as tmp:
        trials = result.study.trials_dataframe(attrs=("number", "value", "state", "params", "duration"))
        trials.to_csv(Path(tmp) / "trials.csv", index=False)
        report.predictions.head(5000).to_csv(Path(tmp) / "test_predictions.csv", index=False)
        mlflow.log_artifacts(tmp, artifact_path="tables")
    final = result.model
    if settings.refitting():
        final = refit(result)
        with tempfile.TemporaryDirectory() as tmp:
            with open(Path(tmp) / "model.pkl", "wb") as fh:
                cloudpickle.dump(result.model, fh)
            mlflow.log_artifact(str(Path(tmp) / "model.pkl"), artifact_path=str(Path(HOLDOUT_MODEL).parent))
    result.registered_rows = final.rows_fit
    mlflow.set_tag("model.refit", "all_rows" if final is not result.model else "train_part")
    mlflow.log_params({"model.rows_fit": final.rows_fit, "model.rows_test_fit": result.model.rows_fit})
    from .drift import log_profile  # drift/profile.json: the inputs of the rows the logged model was fitted on
    log_profile(result, final)
    example = result.test.frame()[final.input_columns].head(5)
    import logging

    # MLflow logs, for every python_model object, a warning that CloudPickle serialises it and an INFO line that
    # it validates the input example: red lines in each executed notebook. The object is a StandardModel that
    # is a pickle whichever way it is shipped (models-from-code would load the same pickle from an artifact),
    # read back only from this store; the model's own errors still raise.
    logger = logging.getLogger("mlflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            signature = infer_signature(example, final.predict(example))
            info = mlflow.pyfunc.log_model(name=MODEL_NAME, python_model=PyfuncModel(final), signature=signature,
                                           input_example=example, pip_requirements=_requirements())
    finally:
        logger.setLevel(level)
    return info.model_uri


def load_holdout_model(run_id: str):
    """The model a run's test rows scored (before its refit), or None for a run that did not refit."""
    try:
        path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=HOLDOUT_MODEL)
    except Exception:  # noqa: BLE001 - an older run, or one registered with --no-refit
        return None
    with open(path, "rb") as fh:
        return cloudpickle.load(fh)
