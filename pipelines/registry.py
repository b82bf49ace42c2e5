"""Registered model per card and data line ("site") with aliases ``challenger`` and ``champion``.

The name is the card id for the card's reference data, and ``<card id>.<site>`` for a plant's own data
line (``workbench run CARD --data FILE --site NAME``; without --site the label comes from the file
name): a model trained on one plant's file never competes with, or replaces, the reference model or
another plant's. MLflow refuses only ``/`` and ``:`` in a registered name; ``@`` would read as an alias
in ``models:/NAME@champion`` (``models:/card@site`` alone means the alias ``site`` of ``card``), so the
separator is ``.``, which card ids cannot hold: ``models:/injection-molding-quality.plant-a@champion``.

The promotion rule: a new version becomes ``challenger``; it becomes ``champion`` only when it passes
the card's acceptance threshold and is not worse than the current champion scored on the SAME test
rows (the champion is loaded and re-scored, so a change of data cannot flatter either side).
A validation run (``settings.registering()`` is False) is compared the same way but never registered.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import mlflow
import numpy as np
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from . import metrics, settings, tracking
from .evaluation import Report, score

CHAMPION, CHALLENGER = "champion", "challenger"
SITE_SEPARATOR = "."
REFERENCE_SITE = "reference"  # the card's own reference data: the registered name is the plain card id
SITE_TAG = "site"  # on runs (which data line trained it) and on registered models
_SITE_MAX = 40


def site_label(text: str, lang: str | None = None) -> str:
    """A site name as it goes into a registered name: letters (any script, so ``1공장`` stays), digits,
    ``-`` and ``_``; other characters and spaces become ``-``; Latin letters lower-cased."""
    import unicodedata

    label = unicodedata.normalize("NFKC", str(text)).strip().lower()
    label = re.sub(r"[^\w-]+", "-", label).strip("-_")[:_SITE_MAX].strip("-_")
    if not label:
        from .errors import WorkbenchError
        from .messages import say

        raise WorkbenchError(say("site_empty", lang, site=str(text)))
    return label


def site_for(data_path: str | Path | None, site: str | None, lang: str | None = None) -> tuple[str, bool]:
    """``(site, derived)``: the site a run's model registers under. ``--site`` wins; a user's file without
    it gets a label from the file name (``1월_사출.csv`` -> ``1월_사출``, derived=True); the reference data
    is ``reference``."""
    from .errors import WorkbenchError
    from .messages import say

    if site is not None:
        label = site_label(site, lang)
        if data_path is None:
            raise WorkbenchError(say("site_without_data", lang, site=site))
        if label == REFERENCE_SITE:
            raise WorkbenchError(say("site_reserved", lang))
        return label, False
    if data_path is not None:
        label = site_label(Path(data_path).stem, lang)
        return (f"{label}-file" if label == REFERENCE_SITE else label), True
    return REFERENCE_SITE, False


def model_name(card_id: str, site: str | None = None) -> str:
    """The registered name of a card's model for ``site`` (the card id itself for the reference data)."""
    if site is None or site == REFERENCE_SITE:
        return card_id
    return f"{card_id}{SITE_SEPARATOR}{site_label(site)}"


def split_name(name: str) -> tuple[str, str]:
    """``(card id, site)`` of a registered name (``reference`` for a plain card id)."""
    card_id, sep, site = name.partition(SITE_SEPARATOR)
    return card_id, (site if sep else REFERENCE_SITE)


def site_names(card_id: str | None = None) -> list[str]:
    """Registered names (of one card, or of all), the reference model first within a card."""
    client, found, token = MlflowClient(), [], None
    while True:  # pages of at most 1,000, the most a registry answers at once
        page = client.search_registered_models(max_results=1000, page_token=token)
        found += [m.name for m in page]
        token = page.token
        if not token:
            break
    if card_id is not None:
        found = [n for n in found if split_name(n)[0] == card_id]
    return sorted(found, key=lambda n: (split_name(n)[0], split_name(n)[1] != REFERENCE_SITE, n))


def _run_site(run) -> str:
    """The site the active run trains for (its ``site`` tag; a notebook run by hand has none: reference)."""
    if run is None:
        return REFERENCE_SITE
    try:
        return MlflowClient().get_run(run.info.run_id).data.tags.get(SITE_TAG) or REFERENCE_SITE
    except MlflowException:
        return REFERENCE_SITE


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
    model: str = ""  # the registered name: the card id, or <card id>.<site> for a plant's data line
    site: str = REFERENCE_SITE

    def summary(self) -> str:
        if self.version is None:
            return f"{self.card_id}: not registered, validation run ({self.reason})"
        return f"{self.model or self.card_id} v{self.version}: {'champion' if self.promoted else 'challenger'} ({self.reason})"


def version_by_alias(name: str, alias: str):
    try:
        return MlflowClient().get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


@contextlib.contextmanager
def quiet_downloads():
    """No 'Downloading artifacts' progress bar while a model or its files are fetched: in a notebook it is a
    red stderr block in the executed copy, in a terminal noise before the command's own lines."""
    before = os.environ.get("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", None)
        else:
            os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = before


def load_model(name: str, alias: str = CHAMPION, version: int | None = None):
    """The StandardModel behind a registered version (by alias or number)."""
    uri = f"models:/{name}/{version}" if version else f"models:/{name}@{alias}"
    with quiet_downloads():
        return mlflow.pyfunc.load_model(uri).unwrap_python_model().model


def decide(result, report: Report, name: str | None = None) -> tuple[bool, str, int | None, float | None]:
    """The promotion rule within one registered name (``name``, default the card id): versions of another
    site's name are never compared with."""
    card = result.card
    primary = f"test_{card.metric.primary}"
    if not report.passed:
        return False, f"{primary} {report.value:.4f} misses the acceptance threshold {card.metric.accept}", None, None
    if not report.trusted:  # a figure from a handful of rows never decides alone
        return _untrusted_decision(result, report, name)
    ok, reason, version, value = compare_with_champion(result, report, name)
    return ok, reason if version is not None else "first version to pass the acceptance threshold", version, value


def _untrusted_decision(result, report: Report, name: str | None = None) -> tuple[bool, str, int | None, float | None]:
    """The primary test metric is too thin to trust: a first version may still become champion when its
    cross-validation figure (many more rows) passes the threshold too; against a champion it never
    decides, and a person may promote by hand."""
    card = result.card
    primary = f"test_{card.metric.primary}"
    why = f"{primary} {report.value:.4f} cannot be trusted ({report.untrusted[primary]})"
    name = name or card.id
    current = version_by_alias(name, CHAMPION)
    cv = result.cv.get(f"cv_{card.metric.primary}")
    by_hand = f"`workbench promote {name} --version VERSION` makes it champion by hand"
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


def unchanged_version(result, name: str | None = None):
    """The registered version this run would only repeat (a rerun whose study gained no trial), or None."""
    name = name or result.card.id
    if result.new_trials or not _exists(name):
        return None
    wanted = _provenance(result)
    for mv in MlflowClient().search_model_versions(f"name='{_quoted(name)}'"):
        if all(mv.tags.get(k) == v for k, v in wanted.items()):
            return mv
    return None


def compare_with_champion(result, report: Report, name: str | None = None) -> tuple[bool, str, int | None, float | None]:
    """Is the new model not worse than the current champion of registered model ``name`` (default: the
    card id), scored on the same test rows? Returns ``(ok, reason, champion version or None when there is
    none, champion's value)``."""
    card = result.card
    primary = f"test_{card.metric.primary}"
    name = name or card.id
    current = version_by_alias(name, CHAMPION)
    if current is None:
        return True, "no champion yet", None, None
    try:
        # the champion as it was tested (before its refit on every row, which may include these rows)
        with quiet_downloads():
            tested = tracking.load_holdout_model(current.run_id) or load_model(name, version=int(current.version))
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
    site = _run_site(run) if settings.registering() else REFERENCE_SITE  # validation: the reference champion
    name = model_name(card.id, site)
    if settings.registering():
        # the comparison with the champion and the alias move are one step: two runs finishing together
        # must not both be judged against the same old champion, the last to write winning
        with settings.store_lock("registry"):
            same = None if settings.retraining() else unchanged_version(result, name)
            if same is not None:  # a rerun that added nothing: the registry stays as it is
                version, champion = int(same.version), version_by_alias(name, CHAMPION)
                promote = champion is not None and int(champion.version) == version
                champion_before, champion_value = (int(champion.version) if champion else None), None
                reason = (f"model unchanged: the study added no trial on the same data, card and code, so v{version} "
                          f"stays {'champion' if promote else 'challenger'}; `workbench run {card.id} --retrain` "
                          f"registers a new version anyway")
            else:
                promote, reason, champion_before, champion_value = decide(result, report, name)
                client = MlflowClient()
                mv = _new_version(name, model_uri, run, card.id, site, tags={"card.version": str(card.version),
                                                                             f"test_{card.metric.primary}": f"{report.value:.6f}",
                                                                             **_provenance(result)})
                version = int(mv.version)
                client.set_registered_model_alias(name, CHALLENGER, mv.version)
                if promote:
                    client.set_registered_model_alias(name, CHAMPION, mv.version)
                client.set_model_version_tag(name, mv.version, "promotion", reason)
                tracking.describe_version(name, mv.version, card, reason, promote, report)
    else:  # a validation run: compared with the champion even when it misses the threshold, never registered
        promote = False
        _, reason, champion_before, champion_value = compare_with_champion(result, report)
    decision = Decision(card_id=card.id, version=version, metric=card.metric.primary, value=report.value,
                        accept=card.metric.accept, passes_threshold=report.passed, champion_before=champion_before,
                        champion_value=champion_value, promoted=promote, reason=reason, model=name, site=site)
    if run is not None:
        mlflow.set_tags({"registry.promoted": str(promote), "registry.reason": reason,
                         **({"registry.version": str(version)} if version is not None else {})})
        tracking.note_decision(version, reason, promote)
    if output_dir:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        summary = {"run_id": run.info.run_id if run else None, "model_uri": model_uri, "metrics": report.metrics,
                   "intervals": report.intervals, "interval_block": report.interval_block,
                   "interval_groups": report.interval_groups,
                   "group_column": result.card.group.column if result.card.group else None, "counts": report.counts,
                   "untrusted": report.untrusted,
                   "baseline": report.baseline, "cv": result.cv, "decisions": report.decisions, "decision": asdict(decision), "device": result.device,
                   "tuning_seconds": result.seconds, "trials": len(result.study.trials), "engine": result.engine,
                   "data_notes": report.data_notes, "split": result.card.split.kind,
                   "rows": {"train": result.model.rows_fit, "test": int(result.test.scored.sum()),
                            "registered_model": result.registered_rows}}
        (Path(output_dir) / "metrics.json").write_text(json.dumps(summary, indent=2, default=float))
    return decision


def _new_version(name: str, model_uri: str, run, card_id: str, site: str, tags: dict):
    """A new version of registered model ``name`` (created, tagged with its card and site, when new).
    The client's calls rather than ``mlflow.register_model``, which prints 'Successfully registered
    model' and 'Created version' to stderr: red lines in every executed notebook, said again by the
    decision the notebook prints."""
    from mlflow.store.artifact.utils.models import _parse_model_id_if_present

    client = MlflowClient()
    if not _exists(name):
        try:
            client.create_registered_model(name, tags={"card.id": card_id, SITE_TAG: site})
        except MlflowException:  # another run created it in between (a tracking server has no file lock)
            pass
    return client.create_model_version(name, source=model_uri, run_id=run.info.run_id if run else None, tags=tags,
                                       model_id=_parse_model_id_if_present(model_uri))


def _quoted(name: str) -> str:
    return name.replace("'", "\\'")


# --- life cycle by hand: list what is registered, promote a chosen version ------------------------

@dataclass
class VersionRow:
    card_id: str
    version: int
    aliases: list[str]
    metrics: dict[str, float]  # test_*, cv_* and baseline_* of the run that made it
    run_id: str | None
    created: int  # ms since the epoch
    name: str = ""  # the registered name: the card id, or <card id>.<site>
    site: str = REFERENCE_SITE


def run_metrics(run_id: str | None) -> dict[str, float]:
    return _metrics_of(_run_data(run_id))


def run_facts(run_id: str | None) -> tuple[dict[str, float], dict[str, str]]:
    """A run's test, CV and baseline metrics and its tags, in one request to the store."""
    found = _run_data(run_id)
    return _metrics_of(found), dict(found.tags) if found else {}


def _run_data(run_id: str | None):
    if not run_id:
        return None
    try:
        return MlflowClient().get_run(run_id).data
    except MlflowException:  # a run deleted after its model was registered
        return None


def _metrics_of(found) -> dict[str, float]:
    metrics = found.metrics if found else {}
    return {k: v for k, v in sorted(metrics.items()) if k.startswith(("test_", "cv_", "baseline_"))}


def versions(name: str | None = None, card_id: str | None = None) -> list[VersionRow]:
    """Every registered version (of one registered model when ``name`` is given, of every site of one
    card when ``card_id`` is), newest first within a model; models by card, the reference one first."""
    client = MlflowClient()
    if name and not _exists(name):
        return []
    names = [name] if name else site_names(card_id)
    rows = []
    for model_name in names:
        aliases: dict[int, list[str]] = {}
        for alias, number in client.get_registered_model(model_name).aliases.items():  # search omits them
            aliases.setdefault(int(number), []).append(alias)
        card, site = split_name(model_name)
        for mv in sorted(client.search_model_versions(f"name='{_quoted(model_name)}'"), key=lambda v: -int(v.version)):
            rows.append(VersionRow(card_id=card, version=int(mv.version),
                                   aliases=sorted(aliases.get(int(mv.version), [])),
                                   metrics=run_metrics(mv.run_id), run_id=mv.run_id,
                                   created=int(mv.creation_timestamp or 0), name=model_name, site=site))
    return rows


def resolve(name: str, alias: str = CHAMPION, version: int | None = None):
    """The model version a command means (a number, else the alias), or a WorkbenchError that says what to
    run instead."""
    from .errors import WorkbenchError

    if version is None:
        found = version_by_alias(name, alias)
        if found is None:
            card_id, site = split_name(name)
            how = (f"`workbench run {card_id}`" if site == REFERENCE_SITE else
                   f"`workbench run {card_id} --data FILE --site {site}`")
            raise WorkbenchError(f"No registered model {name}@{alias}: run {how} first, or name a version with "
                                 f"--version (see `workbench models`).")
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
