"""MLflow tracking: one experiment per card, one run per training, with the conventions of
DESIGN.md section 5 (tags ``card.id``, ``card.version``, ``data.sha256``, ``git.sha``, ``device``;
metrics ``test_*``, ``cv_*``, ``baseline_*``; the card, plots, trials and the model as artifacts)."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import cloudpickle
import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
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
        # MLflow's INFO lines on a new store ("Creating initial MLflow database tables...") are its own
        # bookkeeping, in English whatever --lang says: kept out of the command's output
        import logging

        logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
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
    try:
        return client.create_experiment(card_id, artifact_location=f"{root}/{card_id}" if root else None)
    except MlflowException as exc:  # another run of the card created it in between (a server has no file lock)
        found = client.get_experiment_by_name(card_id) if exc.error_code == "RESOURCE_ALREADY_EXISTS" else None
        if found is None:
            raise
        return found.experiment_id


# --- what a person sees in the MLflow UI: experiment description and tags, run names, a runs view -------

VIEW_KEY = "workbench"  # the experiment's shared view: the runs table with the primary metric first


def runs_view_path(experiment: str) -> str:
    """The MLflow UI path (after ``#``) of an experiment's runs with the card's primary metric as the first
    column (MLflow's own shared-view state, stored as an experiment tag by ``describe_experiment``)."""
    return f"/experiments/{experiment}/runs?viewStateShareKey={VIEW_KEY}"


def describe_experiment(card: Card, experiment: str) -> None:
    """The card's names (ko, en), summary, industry, equipment and task as the experiment's description and
    tags, and a runs view that shows the primary metric, its baseline and CV figure without choosing
    columns. Set at every run, so an edited card shows; a handful of tag writes."""
    import json

    client = MlflowClient()
    sign = "≥" if card.higher_is_better else "≤"
    primary = card.metric.primary
    lines = [f"{card.name.ko} · {card.name.en}", ""]
    if card.summary:
        lines += [card.summary.ko, "", card.summary.en, ""]
    lines += [f"- equipment / 설비: {card.equipment.en} / {card.equipment.ko}",
              f"- industry: {card.industry} · problem: {card.problem} · task: {card.task}",
              f"- primary metric: test_{primary} {sign} {card.metric.accept:g} to become champion"
              + (f" ({card.metric.why})" if card.metric.why else ""),
              f"- target: {card.target.column}" + (f" ({card.target.ko})" if card.target.ko else ""),
              f"- card: catalog/{card.id}.yaml v{card.version} · runs table with the primary metric first: "
              f"[this view](#{runs_view_path(experiment)})"]
    first = [f"metrics.`test_{primary}`", f"metrics.`baseline_{primary}`"]  # right after the run's name and date
    view = {"selectedColumns": [*first, "attributes.`Dataset`", "attributes.`Models`"], "columnOrder": first}
    tags = {"mlflow.note.content": "\n".join(lines), "mlflow.experimentKind": "custom_model_development",
            "card.id": card.id, "card.version": str(card.version), "name.ko": card.name.ko, "name.en": card.name.en,
            "industry": card.industry, "equipment.en": card.equipment.en, "equipment.ko": card.equipment.ko,
            "problem": card.problem, "task": card.task, "metric.primary": primary,
            "metric.accept": f"{sign} {card.metric.accept:g}",
            **({"summary.en": card.summary.en[:4000], "summary.ko": card.summary.ko[:4000]} if card.summary else {}),
            f"mlflow.sharedViewState.{VIEW_KEY}": json.dumps(view)}
    experiment_tags = client.get_experiment(experiment).tags
    for key, value in tags.items():
        if experiment_tags.get(key) != value:
            _set_experiment_tag(client, experiment, key, value)


def _set_experiment_tag(client: MlflowClient, experiment: str, key: str, value: str) -> None:
    """Two runs of one card starting together may both find a tag absent and both insert it: the second
    insert breaks the store's unique key (MLflow's set is a read, then an insert or an update). The tag
    exists then, so setting it once more is an update."""
    try:
        client.set_experiment_tag(experiment, key, value)
    except MlflowException as exc:
        if not re.search(r"UniqueViolation|UNIQUE constraint failed|duplicate key|IntegrityError", str(exc)):
            raise
        client.set_experiment_tag(experiment, key, value)


def data_label(source: str, user_file: str | None = None) -> str:
    """Where a run's data came from, as its name says it: ``reference`` (the card's simulator), the public
    dataset id, or the file's name."""
    if user_file:
        return Path(user_file).name
    if source.startswith("public:"):
        return source.removeprefix("public:")
    if source.startswith("simulator:"):
        return "reference"
    return Path(source.removeprefix("file:")).name or source


def run_name(card_id: str, label: str, trials: int | None = None, when: float | None = None,
             site: str | None = None, validation: bool = False, metric: str | None = None) -> str:
    """``turbofan-rul · reference · test_rmse 12.06 · 40 trials · 2026-12-03 10:14`` (a site and a
    validation run say so; the metric once the test has scored: MLflow's runs table shows it in the first
    column, where its metric columns start off-screen)."""
    parts = [card_id, *([site] if site and site != "reference" else []), label, *([metric] if metric else []),
             *([f"{trials} trials"] if trials is not None else []),
             time.strftime("%Y-%m-%d %H:%M", time.localtime(when if when is not None else time.time())),
             *(["validation"] if validation else [])]
    return " · ".join(parts)


def _reference_label(card: Card) -> str:
    from .cards import data_kind

    kind, name = data_kind(card)
    return "reference" if kind == "simulated" else name or "reference"


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
    tags = tags or {}
    experiment = experiment_id(card.id)
    describe_experiment(card, experiment)
    label = data_label("", tags["data.file"]) if tags.get("data.file") else _reference_label(card)
    name = run_name(card.id, label, site=tags.get("site"), validation=tags.get("workbench.kind") == "validation")
    run = MlflowClient().create_run(experiment, run_name=name,
                                    tags={"card.id": card.id, "card.version": str(card.version),
                                          "git.sha": git_sha(), stale_runs.TAG: stale_runs.process_tag(),
                                          **tags})
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
        experiment = experiment_id(card.id)
        describe_experiment(card, experiment)
        run = mlflow.start_run(experiment_id=experiment, run_name=run_name(card.id, data_label(data.source)))
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
    mlflow.set_tags({"device": result.device, "tuning.engine": result.engine})
    mlflow.log_params({"seed": result.seed, "n_trials_total": len(result.study.trials),
                       "n_trials_new": result.new_trials, "study": result.study.study_name,
                       "cv_folds": result.folds,
                       **{f"best.{k}": v for k, v in result.params.items()}})
    if result.model.threshold is not None:
        mlflow.log_param("threshold", round(result.model.threshold, 6))
    primary = card.metric.primary  # first, where MLflow lists metrics in the order they were logged
    first = {k: v for k, v in ((f"test_{primary}", report.metrics.get(f"test_{primary}")),
                                (f"baseline_{primary}", report.baseline.get(f"baseline_{primary}")),
                                (f"cv_{primary}", result.cv.get(f"cv_{primary}"))) if v is not None}
    mlflow.log_metrics(first)
    mlflow.log_metrics({k: v for k, v in {**report.metrics, **report.baseline, **result.cv, **report.counts,
                                          **report.decisions, "tuning_seconds": result.seconds}.items()
                        if k not in first})
    # each test figure's 90 % bootstrap interval, and the ones too thin to trust, beside it
    mlflow.log_metrics({f"{k}.ci90_{end}": v for k, (lo, hi) in report.intervals.items()
                        for end, v in (("low", lo), ("high", hi)) if v == v})
    if report.interval_block > 1:  # drawn in runs of neighbouring rows (a time split's test period)
        mlflow.log_param("test.interval_block_rows", report.interval_block)
    if report.interval_groups:  # drawn as whole groups (a group split's engines, batches, lots)
        mlflow.log_param("test.interval_groups", report.interval_groups)
    if report.untrusted:
        mlflow.set_tag("test.untrusted", "; ".join(f"{k}: {why}" for k, why in report.untrusted.items())[:4000])
    if result.card.split.kind == "time":
        mlflow.set_tag("split.test_share", f"{result.card.split.test_size:g}")
        if result.card.split.recency_half_life is not None:  # the model was fitted with recent rows heavier
            mlflow.set_tag("split.recency_half_life", f"{result.card.split.recency_half_life:g}")
    # The columns this model reads and the features it built from them: predict and serve require these.
    mlflow.log_param("features.count", len(result.model.feature_names))
    mlflow.log_dict({"input_columns": result.model.input_columns, "feature_names": result.model.feature_names},
                    "model_features.json")
    for name, fig in report.figures.items():
        mlflow.log_figure(fig, f"plots/{name}.png")
    with tempfile.TemporaryDirectory() as tmp:
        trials = result.study.trials_dataframe(attrs=("number", "value", "state", "params", "duration"))
        trials.to_csv(Path(tmp) / "trials.csv", index=False)
        leaderboard(result).to_csv(Path(tmp) / "leaderboard.csv", index=False)
        report.predictions.head(5000).to_csv(Path(tmp) / "test_predictions.csv", index=False)
        mlflow.log_artifacts(tmp, artifact_path="tables")
    for name, fig in study_figures(result).items():
        mlflow.log_figure(fig, f"plots/optuna_{name}.png")
    log_inputs(result)
    present_run(result, report)
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
    from .history import features_needing_history, rows_needed  # what a row sent alone is scored without

    test_inputs = result.test.frame()[final.input_columns]
    needing = features_needing_history(final, test_inputs)
    mlflow.set_tag("model.history_features", ", ".join(needing)[:4000])
    mlflow.log_param("features.need_history", len(needing))
    unit = result.card.group.column if result.card.group else None
    kept = rows_needed(final, test_inputs, needing, unit)  # what `serve` remembers per unit
    mlflow.set_tag("model.history_rows", str(kept))
    mlflow.log_param("features.history_rows", kept)
    example = test_inputs.head(5)
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


def leaderboard(result) -> pd.DataFrame:
    """The study's trials best first: rank, model type, the objective (named for what it is), state, trial
    number, seconds, then the parameters; pruned and failed trials after the finished ones."""
    import optuna

    from .evaluation import objective_words

    study = result.study
    higher = study.direction == optuna.study.StudyDirection.MAXIMIZE
    rows = []
    for t in study.trials:
        rows.append({"model": t.params.get("model", ""), "value": t.value, "state": t.state.name, "trial": t.number,
                     "seconds": round(t.duration.total_seconds(), 2) if t.duration else None,
                     **{k: v for k, v in t.params.items() if k != "model"}})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["_done"] = frame["state"] != "COMPLETE"
    frame = frame.sort_values(["_done", "value"], ascending=[True, not higher], na_position="last").drop(columns="_done")
    frame.insert(0, "rank", range(1, len(frame) + 1))
    return frame.rename(columns={"value": objective_words(result.card)}).reset_index(drop=True)


def study_figures(result) -> dict:
    """Optuna's optimisation history and parameter importances (its matplotlib plots: no plotly), for the
    parameters every finished trial shares; a study too small for importances gets the history only."""
    import matplotlib.pyplot as plt
    import optuna
    from optuna.visualization import matplotlib as ovm

    from .evaluation import objective_words

    study, label = result.study, objective_words(result.card)
    out = {}
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both are marked experimental
        if complete:
            ax = ovm.plot_optimization_history(study, target_name=label)
            ax.set_title(f"{result.card.id}: optimisation history ({len(study.trials)} trials)")
            ax.figure.set_size_inches(8, 4.5)
            ax.figure.tight_layout()
            out["history"] = ax.figure
        if len(complete) >= 3:
            try:
                ax = ovm.plot_param_importances(study, target_name=label)
            except (ValueError, RuntimeError):  # no parameter varied across the finished trials
                ax = None
            if ax is not None:
                ax.set_title(f"{result.card.id}: which settings mattered for the {label}")
                ax.figure.set_size_inches(8, 4.5)
                ax.figure.tight_layout()
                out["param_importances"] = ax.figure
    for fig in out.values():
        plt.close(fig)  # logged, not shown again at the notebook's end
    return out


def _dataset_source(source: str):
    """MLflow's dataset source for where the data came from: the file, the public dataset's address (or its
    folder where it has none: KAMP files are fetched by hand), or the card's simulator and its seed."""
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.http_dataset_source import HTTPDatasetSource

    from . import sources

    def local(path: Path):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "can be interpreted in multiple ways": both are the local one
            return resolve_dataset_source(str(path.resolve()))

    if source.startswith("public:"):
        dataset = source.removeprefix("public:")
        found = sources.catalog().get(dataset)
        if found is not None and found.url:
            return HTTPDatasetSource(found.url)
        return local(sources.folder(dataset))
    if source.startswith("simulator:"):
        return CodeDatasetSource({"simulator": source.removeprefix("simulator:")})
    return local(Path(source.removeprefix("file:")))


def log_inputs(result) -> None:
    """The training and test rows as the run's dataset inputs (MLflow's Datasets column): where they came
    from, rows and columns (schema and profile), and a digest from our sha256 of each part (MLflow keeps 36
    characters); the whole data's sha256 is on each input and on the run (``data.sha256``)."""
    from mlflow.data import from_pandas

    from .data import frame_sha256

    data = result.data
    source = _dataset_source(data.source)
    name = data_label(data.source) if not data.source.startswith("simulator:") else \
        f"simulator {data.source.removeprefix('simulator:').split('(')[0]}"
    parts = {"training": result.train_raw, "test": result.test.frame()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # schema inference notes on integer columns that may hold missing values
        for context, frame in parts.items():
            digest = frame_sha256(frame)
            dataset = from_pandas(frame, source=source, name=name[:500], digest=digest[:36],
                                  targets=result.card.target.column if result.card.target.column in frame else None)
            tags = {"data.sha256": data.sha256, "sha256": digest, "rows": str(len(frame)), "columns": str(frame.shape[1])}
            for attempt in range(3):
                try:
                    mlflow.log_input(dataset, context=context, tags=tags)
                    break
                except mlflow.exceptions.MlflowException as exc:
                    # Two runs of one card logging the same rows at once: MLflow checks for the dataset, then
                    # inserts it, and the later insert breaks the store's unique key. The next try finds it.
                    if attempt == 2 or not any(w in str(exc) for w in ("IntegrityError", "UNIQUE", "UniqueViolation")):
                        raise
                    time.sleep(0.2 * (attempt + 1))


def present_run(result, report) -> None:
    """The run as a person finds it: named for the card, site, data, trials and time, and described by the
    primary metric beside its threshold and baseline (then the data's decisions, as before)."""
    from .evaluation import accuracy_note, headline

    run = mlflow.active_run()
    if run is None:
        return
    info = MlflowClient().get_run(run.info.run_id)
    tags = info.data.tags
    label = data_label(result.data.source, tags.get("data.file"))
    key = f"test_{result.card.metric.primary}"
    value = report.metrics.get(key)
    mlflow.set_tag("mlflow.runName", run_name(result.card.id, label, trials=len(result.study.trials),
                                              when=info.info.start_time / 1000, site=tags.get("site"),
                                              validation=tags.get("workbench.kind") == "validation",
                                              metric=f"{key} {value:.4g}" if value is not None and value == value else None))
    note = accuracy_note(result.card, report.metrics, report.baseline)
    lead = headline(result.card, report.metrics, report.baseline, report.intervals) + (f"\n\n{note}" if note else "")
    previous = tags.get("mlflow.note.content") or f"Data: {result.data.source} (sha256 {result.data.sha256[:12]}…)"
    mlflow.set_tag("mlflow.note.content", f"{lead}\n\n{previous}")


def describe_version(name: str, version: int | str, card: Card, reason: str, promoted: bool, report=None) -> None:
    """A new model version's description: the card's names and summary (en, ko), the primary metric beside
    its threshold and baseline, and the decision; the registered model, when it has no description yet,
    gets the card's (registry.register calls this once the version exists)."""
    from .evaluation import headline

    run = mlflow.active_run()
    about = [f"**{card.name.en}** · {card.name.ko}"]
    if card.summary:
        about += ["", card.summary.en, "", card.summary.ko]
    lines = list(about)
    if report is not None:
        lines += ["", headline(card, report.metrics, report.baseline, report.intervals)]
    lines += ["", f"**Decision:** {'champion' if promoted else 'challenger'}: {reason}"]
    if run is not None:
        lines += ["", f"Trained by MLflow run {run.info.run_id}."]
    client = MlflowClient()
    client.update_model_version(name, str(version), description="\n".join(lines))
    if not client.get_registered_model(name).description:
        sign = "≥" if card.higher_is_better else "≤"
        client.update_registered_model(name, description="\n".join(
            about + ["", f"Champion: the latest version that passes test_{card.metric.primary} {sign} "
                         f"{card.metric.accept:g} and is not worse than the champion before it on the same test rows "
                         f"(card: catalog/{card.id}.yaml)."]))


def note_decision(version: int | None, reason: str, promoted: bool) -> None:
    """The registry's decision in the run's description, right after its headline."""
    run = mlflow.active_run()
    if run is None:
        return
    state = "champion" if promoted else "challenger"
    line = f"**Registry:** v{version} {state}: {reason}" if version is not None else f"**Registry:** not registered: {reason}"
    note = MlflowClient().get_run(run.info.run_id).data.tags.get("mlflow.note.content", "")
    head, sep, rest = note.partition("\n\n")
    mlflow.set_tag("mlflow.note.content", f"{head}\n\n{line}{sep}{rest}" if note else line)


# nbconvert's lab page without the scripts it fetches from a CDN (require.js, MathJax, Mermaid): the page
# reads the same offline, and MLflow's artifact viewer, which cannot fetch them either, shows it at once.
_OFFLINE_NOTEBOOK = ("{%- extends 'lab/index.html.j2' -%}"
                     "{%- block html_head_js -%}{%- endblock html_head_js -%}"
                     "{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}"
                     "{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}")


def log_notebook_html(run_id: str, executed: Path) -> Path | None:
    """The executed notebook as HTML beside the .ipynb (MLflow shows .ipynb as raw JSON): nbconvert's
    lab template, images inline, nothing fetched; a notebook that cannot be converted is said, never
    failing the run."""
    import sys

    try:
        import nbformat
        from jinja2 import DictLoader
        from nbconvert import HTMLExporter

        exporter = HTMLExporter(template_name="lab", template_file="workbench_notebook.html.j2",
                                extra_loaders=[DictLoader({"workbench_notebook.html.j2": _OFFLINE_NOTEBOOK})])
        body, _ = exporter.from_notebook_node(nbformat.read(executed, as_version=4))
        html = executed.with_suffix(".html")
        html.write_text(body, encoding="utf-8")
        MlflowClient().log_artifact(run_id, str(html), artifact_path="notebook")
        return html
    except Exception as exc:  # noqa: BLE001 - the notebook itself is logged either way
        print(f"workbench: the notebook's HTML could not be made: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None


def load_holdout_model(run_id: str):
    """The model a run's test rows scored (before its refit), or None for a run that did not refit."""
    try:
        path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=HOLDOUT_MODEL)
    except Exception:  # noqa: BLE001 - an older run, or one registered with --no-refit
        return None
    with open(path, "rb") as fh:
        return cloudpickle.load(fh)
