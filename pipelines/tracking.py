"""MLflow tracking: one experiment per card, one run per training, with the conventions of
DESIGN.md section 5 (tags ``card.id``, ``card.version``, ``data.sha256``, ``git.sha``, ``device``;
metrics ``test_*``, ``cv_*``, ``baseline_*``; the card, plots, trials and the model as artifacts)."""

from __future__ import annotations

import importlib.metadata
import subprocess
import tempfile
import warnings
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from . import settings
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


def configure(tracking_uri: str | None = None) -> str:
    uri = tracking_uri or settings.tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
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
                                          "git.sha": git_sha(), **(tags or {})})
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
                     "data.source": data.source, "git.sha": git_sha()})
    mlflow.log_params({"data.rows": data.rows})
    path = card_path(card.id)
    if path.exists():
        mlflow.log_artifact(str(path), artifact_path="card")
    return run


def _requirements() -> list[str]:
    names = ["mlflow", "lightgbm", "xgboost", "pandas", "numpy", "scikit-learn", "cloudpickle"]
    return [f"{n}=={importlib.metadata.version(n)}" for n in names]


def log_result(result, report) -> str:
    """Log params, metrics, plots, trials and the model into the active run; return the model URI."""
    card = result.card
    mlflow.set_tag("device", result.device)
    mlflow.log_params({"seed": result.seed, "n_trials_total": len(result.study.trials),
                       "n_trials_new": result.new_trials, "study": result.study.study_name,
                       **{f"best.{k}": v for k, v in result.params.items()}})
    if result.model.threshold is not None:
        mlflow.log_param("threshold", round(result.model.threshold, 6))
    mlflow.log_metrics({**report.metrics, **report.baseline, **result.cv, "tuning_seconds": result.seconds})
    for name, fig in report.figures.items():
        mlflow.log_figure(fig, f"plots/{name}.png")
    with tempfile.TemporaryDirectory() as tmp:
        trials = result.study.trials_dataframe(attrs=("number", "value", "state", "params", "duration"))
        trials.to_csv(Path(tmp) / "trials.csv", index=False)
        report.predictions.head(5000).to_csv(Path(tmp) / "test_predictions.csv", index=False)
        mlflow.log_artifacts(tmp, artifact_path="tables")
    example = result.test.frame()[result.model.input_columns].head(5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        signature = infer_signature(example, result.model.predict(example))
        info = mlflow.pyfunc.log_model(name=MODEL_NAME, python_model=PyfuncModel(result.model), signature=signature,
                                       input_example=example, pip_requirements=_requirements())
    return info.model_uri
