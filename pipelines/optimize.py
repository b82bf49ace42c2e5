"""Recommended settings: search a card's controllable ``settings`` with Optuna on the champion model.

Each candidate is scored on a sample of real operating conditions from the data (the settings
replaced, everything else as it was), so a recommendation holds across the plant's usual conditions
rather than for one lucky row. Only the settings the data holds and the model reads are searched (a
plant file may lack some). The search stays near the settings actually run (their range widened by
a tenth of its span) and inside the card's physical limits, which are a sensor's, not an operating
window; every recommendation says how far it lies from settings actually run, and one outside what the
data has seen is flagged, because the model has no evidence there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import optuna
import pandas as pd

from . import data as data_module
from . import registry, tracking
from .cards import Card
from .errors import WorkbenchError

CONTEXT_ROWS = 300  # operating conditions each candidate is scored on
SEEDS = 20  # observed settings tried first, beside the median
FAR = 1.0  # a recommendation this many data standard deviations from any setting run is "outside the data"


@dataclass
class Recommendations:
    card: Card
    goal: str  # what the score means, e.g. "P(passorfail = 1), lower is better"
    table: pd.DataFrame  # top K: settings, predicted, distance, inside_data
    median_settings: pd.Series
    median_predicted: float
    model_version: int | None  # None: the model of the run that asked (a notebook's own)
    not_searched: tuple[str, ...] = ()  # card settings the data lacks or the model does not read

    def summary(self) -> str:
        best = self.table.iloc[0]
        which = f"v{self.model_version}" if self.model_version else "this run's model"
        out = [f"{self.card.id} {which}: {self.goal}",
               f"data's median settings: {self.median_predicted:.4g}; best recommendation: {best['predicted']:.4g}"]
        if self.not_searched:
            out.append(f"not searched (not in the data the model was trained on): {', '.join(self.not_searched)}")
        far = self.table[~self.table["inside_data"]]
        if len(far):
            out.append(f"warning: {len(far)} of {len(self.table)} recommendations lie outside the settings seen in "
                       f"the data (distance > {FAR} sd): the model has no evidence there; try them on a trial run only.")
        return "\n".join(out)


def _goal(card: Card) -> tuple[str, str, int]:
    """(output column, description, sign): minimise sign * mean(output)."""
    if card.task == "binary":
        return "probability", f"P({card.target.column} = {card.target.positive}), lower is better", 1
    if card.task == "regression":
        sign = 1 if card.settings_goal == "minimize" else -1
        unit = f" [{card.target.unit}]" if card.target.unit else ""
        return "prediction", f"predicted {card.target.column}{unit}, {'lower' if sign == 1 else 'higher'} is better", sign
    raise WorkbenchError(f"{card.id}: settings optimisation needs a binary or regression card, not {card.task}.")


MARGIN = 0.1  # the search reaches this share of the observed span beyond the settings run


def _space(card: Card, frame: pd.DataFrame, fixed: dict[str, float], reads: list[str]) -> dict[str, tuple[float, float]]:
    """The box searched: each setting the data holds and the model ``reads``, not fixed."""
    if not card.settings:
        raise WorkbenchError(f"{card.id} lists no controllable `settings` on its card, so there is nothing to optimise.")
    unknown = set(fixed) - set(card.input_columns)
    if unknown:
        raise WorkbenchError(f"--fix {', '.join(sorted(unknown))}: not input columns of {card.id} "
                             f"(settings: {', '.join(card.settings)}).")
    usable = [s for s in card.settings if s in frame.columns and s in reads and frame[s].notna().any()]
    if not usable:
        raise WorkbenchError(f"{card.id}: none of the card's settings ({', '.join(card.settings)}) is in the data "
                             "the model was trained on, so there is nothing to optimise.")
    space = {}
    for name in usable:
        if name in fixed:
            continue
        col = card.column(name)
        seen = frame[name].dropna()
        span = float(seen.max() - seen.min())
        lo, hi = float(seen.min()) - MARGIN * span, float(seen.max()) + MARGIN * span
        lo, hi = max(lo, col.min) if col.min is not None else lo, min(hi, col.max) if col.max is not None else hi
        space[name] = (lo, max(hi, lo))
    return space


def recommend(card: Card, data: data_module.Dataset, top: int = 5, n_trials: int = 300,
              fixed: dict[str, float] | None = None, alias: str = registry.CHAMPION, seed: int = 0,
              progress: bool = False, model_uri: str | None = None) -> Recommendations:
    fixed = fixed or {}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    frame = data.frame if data.test is None else pd.concat([data.frame, data.test], ignore_index=True)
    output, goal, sign = _goal(card)
    tracking.configure()
    if model_uri:  # a notebook recommends from the model it just trained, champion or not
        import mlflow

        mv, model = None, mlflow.pyfunc.load_model(model_uri).unwrap_python_model().model
    else:
        mv = registry.version_by_alias(card.id, alias)
    if mv is None and not model_uri:
        raise WorkbenchError(f"No registered model {card.id}@{alias}: run `workbench run {card.id}` first.")
    if mv is not None:
        model = registry.load_model(card.id, alias=alias)
    space = _space(card, frame, fixed, model.input_columns)

    context = frame.tail(CONTEXT_ROWS).reset_index(drop=True)  # recent operating conditions, in order
    for name, value in fixed.items():
        context[name] = value

    def predicted(settings: dict[str, float]) -> float:
        rows = context.assign(**settings)
        return float(model.predict(rows)[output].mean())

    seen = frame[list(space)].dropna()
    scale = seen.std().replace(0, 1.0)
    median = seen.median()
    median_predicted = predicted({k: median[k] for k in space})

    sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    # Start from what is run today and from settings actually run: most of a card's box is far from any
    # data, where the model is flat, so TPE needs footholds where the model has evidence.
    study.enqueue_trial({k: float(np.clip(median[k], *space[k])) for k in space})
    observed = seen[list(space)].drop_duplicates()
    for _, row in observed.sample(min(SEEDS, len(observed)), random_state=seed).iterrows():
        study.enqueue_trial({k: float(np.clip(row[k], *space[k])) for k in space})
    study.optimize(lambda t: sign * predicted({k: t.suggest_float(k, *space[k]) for k in space}), n_trials=n_trials,
                   show_progress_bar=progress)

    done = sorted((t for t in study.trials if t.value is not None), key=lambda t: t.value)
    picked: list[dict] = []
    for trial in done:  # distinct recommendations: skip near-copies of one already picked
        vector = pd.Series(trial.params)
        if any(((vector - p["_vector"]).abs() / scale[vector.index]).max() < 0.25 for p in picked):
            continue
        distance = float((((seen[vector.index] - vector) / scale[vector.index]) ** 2).sum(axis=1).min() ** 0.5)
        picked.append({**{k: round(v, 4) for k, v in trial.params.items()}, **fixed,
                       "predicted": sign * trial.value, "distance_sd": round(distance, 2),
                       "inside_data": distance <= FAR, "_vector": vector})
        if len(picked) == top:
            break
    table = pd.DataFrame(picked).drop(columns="_vector")
    not_searched = tuple(s for s in card.settings if s not in space and s not in fixed)
    return Recommendations(card=card, goal=goal, table=table, median_settings=median,
                           median_predicted=median_predicted, model_version=int(mv.version) if mv is not None else None,
                           not_searched=not_searched)
