"""Registered model per card (name = card id) with aliases ``challenger`` and ``champion``.

The promotion rule: a new version becomes ``challenger``; it becomes ``champion`` only when it passes
the card's acceptance threshold and is not worse than the current champion scored on the SAME test
rows (the champion is loaded and re-scored, so a change of data cannot flatter either side).
A validation run (``settings.registering()`` is False) is compared the same way but never registered.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import mlflow
import numpy as np
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from . import metrics, settings, tracking
from .evaluation import Report, score

CHAMPION, CHALLENGER = "champion", "challenger"


@dataclass
class Decision:
    card_id: str
    version: int | None  # None: a validation run, compared but not registered
    metric: str
    value: float
    accept: float
    passes_threshold: bool
    champion_before: int | None
    champion_value: float | None
    promoted: bool
    reason: str

    def summary(self) -> str:
        if self.version is None:
            return f"{self.card_id}: not registered, validation run ({self.reason})"
        return f"{self.card_id} v{self.version}: {'champion' if self.promoted else 'challenger'} ({self.reason})"


def version_by_alias(name: str, alias: str):
    try:
        return MlflowClient().get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def load_model(name: str, alias: str = CHAMPION, version: int | None = None):
    """The StandardModel behind a registered version (by alias or number)."""
    uri = f"models:/{name}/{version}" if version else f"models:/{name}@{alias}"
    return mlflow.pyfunc.load_model(uri).unwrap_python_model().model


def decide(result, report: Report) -> tuple[bool, str, int | None, float | None]:
    card = result.card
    primary = f"test_{card.metric.primary}"
    if not report.passed:
        return False, f"{primary} {report.value:.4f} misses the acceptance threshold {card.metric.accept}", None, None
    if not report.trusted:  # a figure from a handful of rows never decides alone
        return _untrusted_decision(result, report)
    ok, reason, version, value = compare_with_champion(result, report)
    return ok, reason if version is not None else "first version to pass the acceptance threshold", version, value


def _untrusted_decision(result, report: Report) -> tuple[bool, str, int | None, float | None]:
    """The primary test metric is too thin to trust: a first version may still become champion when its
    cross-validation figure (many more rows) passes the threshold too; against a champion it never
    decides, and a person may promote by hand."""
    card = result.card
    primary = f"test_{card.metric.primary}"
    why = f"{primary} {report.value:.4f} cannot be trusted ({report.untrusted[primary]})"
    current = version_by_alias(card.id, CHAMPION)
    cv = result.cv.get(f"cv_{card.metric.primary}")
    by_hand = f"`workbench promote {card.id} VERSION` makes it champion by hand"
    if current is not None:
        return False, f"{why}: kept as challenger beside champion v{current.version}; {by_hand}", int(current.version), None
    cv_doubt = _cv_untrusted(result)
    if cv is not None and cv_doubt is None and metrics.better(card.task, card.metric.primary, cv, card.metric.accept):
        return True, (f"first version: {why}, but cv_{card.metric.primary} {cv:.4f} also passes the acceptance "
                      f"threshold {card.metric.accept}"), None, None
    because = f" (cross-validation: {cv_doubt})" if cv_doubt else ""
    return False, f"{why}, and cross-validation does not confirm it{because}: kept as challenger; {by_hand}", None, None


def _cv_untrusted(result) -> str | None:
    """Why the cross-validation figure cannot stand in for the test figure either (None when it can):
    the out-of-fold rows that were scored hold too few positives, for instance."""
    covered = ~np.isnan(result.oof) if np.ndim(result.oof) == 1 else ~np.isnan(result.oof).any(axis=1)
    why = metrics.untrusted(result.card.task, result.card.metric.primary, np.asarray(result.y_train)[covered])
    return why.replace("test rows", "validation rows") if why else None


def _provenance(result) -> dict[str, str]:
    """What makes a version what it is: its study (data, card version and features), the best trial,
    the code, the seed and whether it was refit on every row."""
    return {"study": result.study.study_name, "best_trial": str(result.study.best_trial.number),
            "git.sha": tracking.git_sha(), "seed": str(result.seed), "refit": str(settings.refitting())}


def unchanged_version(result):
    """The registered version this run would only repeat (a rerun whose study gained no trial), or None."""
    if result.new_trials or not _exists(result.card.id):
        return None
    wanted = _provenance(result)
    for mv in MlflowClient().search_model_versions(f"name='{result.card.id}'"):
        if all(mv.tags.get(k) == v for k, v in wanted.items()):
            return mv
    return None


def compare_with_champion(result, report: Report) -> tuple[bool, str, int | None, float | None]:
    """Is the new model not worse than the current champion, scored on the same test rows?
    Returns ``(ok, reason, champion version or None when there is none, champion's value)``."""
    card = result.card
    primary = f"test_{card.metric.primary}"
    current = version_by_alias(card.id, CHAMPION)
    if current is None:
        return True, "no champion yet", None, None
    try:
        # the champion as it was tested (before its refit on every row, which may include these rows)
        tested = tracking.load_holdout_model(current.run_id) or load_model(card.id, version=int(current.version))
        champion_value = score(card, tested, result.test)[primary]
        basis = "re-scored on the same test rows"
    except Exception as exc:  # an old champion that cannot read today's data: fall back to its record
        recorded = MlflowClient().get_run(current.run_id).data.metrics.get(primary)
        if recorded is None:
            return True, f"champion v{current.version} could not be compared ({type(exc).__name__})", int(current.version), None
        champion_value, basis = recorded, f"its recorded value ({type(exc).__name__} re-scoring it)"
    ok = metrics.better(card.task, card.metric.primary, report.value, champion_value, card.metric.tolerance)
    verdict = "not worse than" if ok else "worse than"
    return ok, (f"{primary} {report.value:.4f} is {verdict} champion v{current.version} at {champion_value:.4f} "
                f"({basis})"), int(current.version), champion_value


def register(result, report: Report, model_uri: str, output_dir: str | Path | None = None) -> Decision:
    """Register the logged model, make it challenger, promote it if the rule allows, and write
    ``metrics.json`` (with the logged model's URI) for the runner. In a validation run it only
    compares with the champion: nothing is registered and no alias moves."""
    card = result.card
    run = mlflow.active_run()
    version = None
    if settings.registering():
        # the comparison with the champion and the alias move are one step: two runs finishing together
        # must not both be judged against the same old champion, the last to write winning
        with settings.store_lock("registry"):
            same = None if settings.retraining() else unchanged_version(result)
            if same is not None:  # a rerun that added nothing: the registry stays as it is
                version, champion = int(same.version), version_by_alias(card.id, CHAMPION)
                promote = champion is not None and int(champion.version) == version
                champion_before, champion_value = (int(champion.version) if champion else None), None
                reason = (f"model unchanged: the study added no trial on the same data, card and code, so v{version} "
                          f"stays {'champion' if promote else 'challenger'}; `workbench run {card.id} --retrain` "
                          f"registers a new version anyway")
            else:
                promote, reason, champion_before, champion_value = decide(result, report)
                client = MlflowClient()
                mv = mlflow.register_model(model_uri, card.id, tags={"card.version": str(card.version),
                                                                     f"test_{card.metric.primary}": f"{report.value:.6f}",
                                                                     **_provenance(result)})
                version = int(mv.version)
                client.set_registered_model_alias(card.id, CHALLENGER, mv.version)
                if promote:
                    client.set_registered_model_alias(card.id, CHAMPION, mv.version)
                client.set_model_version_tag(card.id, mv.version, "promotion", reason)
    else:  # a validation run: compared with the champion even when it misses the threshold, never registered
        promote = False
        _, reason, champion_before, champion_value = compare_with_champion(result, report)
    decision = Decision(card_id=card.id, version=version, metric=card.metric.primary, value=report.value,
                        accept=card.metric.accept, passes_threshold=report.passed, champion_before=champion_before,
                        champion_value=champion_value, promoted=promote, reason=reason)
    if run is not None:
        mlflow.set_tags({"registry.promoted": str(promote), "registry.reason": reason,
                         **({"registry.version": str(version)} if version is not None else {})})
    if output_dir:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        summary = {"run_id": run.info.run_id if run else None, "model_uri": model_uri, "metrics": report.metrics,
                   "intervals": report.intervals, "counts": report.counts, "untrusted": report.untrusted,
                   "baseline": report.baseline, "cv": result.cv, "decisions": report.decisions, "decision": asdict(decision), "device": result.device,
                   "tuning_seconds": result.seconds, "trials": len(result.study.trials),
                   "data_notes": report.data_notes, "split": result.card.split.kind,
                   "rows": {"train": result.model.rows_fit, "test": int(result.test.scored.sum()),
                            "registered_model": result.registered_rows}}
        (Path(output_dir) / "metrics.json").write_text(json.dumps(summary, indent=2, default=float))
    return decision


# --- life cycle by hand: list what is registered, promote a chosen version ------------------------

@dataclass
class VersionRow:
    card_id: str
    version: int
    aliases: list[str]
    metrics: dict[str, float]  # test_*, cv_* and baseline_* of the run that made it
    run_id: str | None
    created: int  # ms since the epoch


def run_metrics(run_id: str | None) -> dict[str, float]:
    if not run_id:
        return {}
    try:
        found = MlflowClient().get_run(run_id).data.metrics
    except MlflowException:  # a run deleted after its model was registered
        return {}
    return {k: v for k, v in sorted(found.items()) if k.startswith(("test_", "cv_", "baseline_"))}


def versions(name: str | None = None) -> list[VersionRow]:
    """Every registered version (of one model when ``name`` is given), newest first within a model."""
    client = MlflowClient()
    if name and not _exists(name):
        return []
    names = [name] if name else sorted(m.name for m in client.search_registered_models())
    rows = []
    for model_name in names:
        aliases: dict[int, list[str]] = {}
        for alias, number in client.get_registered_model(model_name).aliases.items():  # search omits them
            aliases.setdefault(int(number), []).append(alias)
        for mv in sorted(client.search_model_versions(f"name='{model_name}'"), key=lambda v: -int(v.version)):
            rows.append(VersionRow(card_id=model_name, version=int(mv.version),
                                   aliases=sorted(aliases.get(int(mv.version), [])),
                                   metrics=run_metrics(mv.run_id), run_id=mv.run_id,
                                   created=int(mv.creation_timestamp or 0)))
    return rows


def resolve(name: str, alias: str = CHAMPION, version: int | None = None):
    """The model version a command means (a number, else the alias), or a WorkbenchError that says what to
    run instead."""
    from .errors import WorkbenchError

    if version is None:
        found = version_by_alias(name, alias)
        if found is None:
            raise WorkbenchError(f"No registered model {name}@{alias}: run `workbench run {name}` first, or name a "
                                 f"version with --version (see `workbench models`).")
        return found
    try:
        return MlflowClient().get_model_version(name, str(version))
    except MlflowException:
        known = sorted(r.version for r in versions(name))
        hint = f"its versions are {known}" if known else f"nothing is registered under {name!r} yet"
        raise WorkbenchError(f"No version {version} of registered model {name}: {hint}. "
                             f"See `workbench models`.") from None


def promote(name: str, version: int) -> int | None:
    """Make ``version`` the champion by hand (a person's decision, recorded on the version); return the
    version that was champion before, if any."""
    resolve(name, version=version)
    client = MlflowClient()
    before = version_by_alias(name, CHAMPION)
    client.set_registered_model_alias(name, CHAMPION, str(version))
    was = int(before.version) if before else None
    client.set_model_version_tag(name, str(version), "promotion",
                                 f"promoted by hand (champion before: {'v' + str(was) if was else 'none'})")
    return was


def _exists(name: str) -> bool:
    try:
        MlflowClient().get_registered_model(name)
        return True
    except MlflowException:
        return False
