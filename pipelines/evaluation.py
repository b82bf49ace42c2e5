"""Test-split evaluation: the task's metrics next to a naive baseline, and the plots people look at
(confusion matrix or residuals, forecast trace, anomaly scores, feature importance and SHAP values
taken from the booster itself)."""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib

if matplotlib.get_backend().lower() not in ("module://matplotlib_inline.backend_inline", "inline"):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import confusion_matrix, precision_recall_curve  # noqa: E402

from . import alarms, boosters, metrics  # noqa: E402
from .intervals import coverage as interval_coverage  # noqa: E402
from .cards import Card  # noqa: E402
from .model import StandardModel  # noqa: E402
from .plotting import korean_fonts  # noqa: E402
from .tuning import TestSet, TuneResult  # noqa: E402

korean_fonts()  # SHAP and importance plots name Korean columns of KAMP files


@dataclass
class Report:
    card: Card
    metrics: dict[str, float]
    baseline: dict[str, float]
    predictions: pd.DataFrame
    figures: dict[str, plt.Figure] = field(default_factory=dict)
    data_notes: list[str] = field(default_factory=list)  # what the file decided: absent columns, split, values set missing
    counts: dict[str, int] = field(default_factory=dict)  # test_rows, and test_positives for binary/anomaly cards
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)  # test_<metric>: bootstrap 90 % interval
    untrusted: dict[str, str] = field(default_factory=dict)  # test_<metric>: why it cannot be trusted
    # what the plant decides with: the alarm threshold and its cost per row (binary cards with costs), or
    # how often the prediction interval held the truth and how wide it was (regression, RUL, forecast)
    decisions: dict[str, float] = field(default_factory=dict)

    @property
    def trusted(self) -> bool:
        """Can the primary metric decide a promotion?"""
        return f"test_{self.primary}" not in self.untrusted

    @property
    def primary(self) -> str:
        return self.card.metric.primary

    @property
    def value(self) -> float:
        return self.metrics[f"test_{self.primary}"]

    @property
    def passed(self) -> bool:
        return metrics.better(self.card.task, self.primary, self.value, self.card.metric.accept)

    def table(self) -> pd.DataFrame:
        names = list(metrics.for_task(self.card.task))
        return pd.DataFrame({"model": [self.metrics.get(f"test_{n}") for n in names],
                             "baseline": [self.baseline.get(f"baseline_{n}") for n in names]}, index=names)

    def summary(self) -> str:
        verdict = "passes" if self.passed else "does NOT pass"
        lo, hi = self.intervals.get(f"test_{self.primary}", (float("nan"), float("nan")))
        counted = ", ".join(f"{v} {k.removeprefix('test_').replace('_', ' ')}" for k, v in self.counts.items())
        text = (f"{self.card.id}: test {self.primary} = {self.value:.4f} (90 % interval {lo:.4f} to {hi:.4f}; "
                f"{counted}; baseline {self.baseline.get(f'baseline_{self.primary}', float('nan')):.4f}); "
                f"{verdict} the acceptance threshold {self.card.metric.accept}")
        for name, why in self.untrusted.items():
            text += f"\n{name} cannot be trusted: {why}"
        d = self.decisions
        if "test_expected_cost" in d:
            unit = f" {self.card.costs.unit}" if self.card.costs and self.card.costs.unit else ""
            text += (f"\nalarm threshold {d['decision_threshold']:.3f} chosen for the costs on the training folds: "
                     f"{d['test_expected_cost']:.3f}{unit} per test row, against {d['test_cost_at_0.5']:.3f} at 0.5 "
                     f"and {d['test_cost_never_alarm']:.3f} never alarming")
        if "test_interval_coverage" in d:
            text += (f"\n{self.card.target.column} {d['interval_level']:.0%} prediction interval: held the truth in "
                     f"{d['test_interval_coverage']:.1%} of the test rows, {d['test_interval_width']:.3g} wide on average")
        if self.data_notes:
            text += "\nWhat the data decided:\n" + "\n".join(f"  - {n}" for n in self.data_notes)
        return text


def _metric_values(task: str, y: np.ndarray, score: np.ndarray, label: np.ndarray) -> dict[str, float]:
    out = {}
    for name, metric in metrics.for_task(task).items():
        if name == "roc_auc" and len(np.unique(y)) < 2:
            continue
        arg = score if metric.needs in ("score", "value") else label
        out[name] = metric.fn(y, arg)
    return out


def test_scores(card: Card, model: StandardModel, test: TestSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predict the test rows (with their history) and return ``(y, score, label)`` over scored rows."""
    raw = model.raw_scores(model.featurize(test.raw))[test.rows][test.scored]
    y = test.y[test.scored]
    if card.task == "multiclass":
        label = np.asarray(model.classes, dtype=object)[raw.argmax(axis=1)]
        return y, raw, label
    if card.task in ("binary", "anomaly"):
        return y.astype(int), raw, (raw >= model.threshold).astype(int)
    if card.task == "rul":
        raw = np.clip(raw, 0, None)
    return y.astype(float), raw, raw


def score(card: Card, model: StandardModel, test: TestSet) -> dict[str, float]:
    """``test_<metric>`` for a model on a test set: used for the challenger and, on the same rows,
    for the current champion."""
    y, s, label = test_scores(card, model, test)
    return {f"test_{k}": v for k, v in _metric_values(card.task, y, s, label).items()}


def baseline(card: Card, result: TuneResult) -> dict[str, float]:
    """Naive reference: prevalence/majority class, the training mean, or persistence (forecast; the
    seasonal naive forecast where the card gives ``forecast.season``)."""
    test = result.test
    y = test.y[test.scored]
    if card.task in ("binary", "anomaly"):
        s = np.full(len(y), float(np.nanmean(result.y_train)))
        label = np.zeros(len(y), dtype=int)
    elif card.task == "multiclass":
        majority = pd.Series(result.y_train).mode().iloc[0]
        label = np.full(len(y), result.model.classes[int(majority)], dtype=object)
        s = label
    elif card.task == "forecast":
        s = _naive_forecast(card, test.raw)[test.rows][test.scored]
        label = s
    else:
        s = np.full(len(y), float(np.nanmean(result.y_train)))
        label = s
    return {f"baseline_{k}": v for k, v in _metric_values(card.task, y.astype(float) if card.task not in
                                                           ("multiclass",) else y, s, label).items()}


def _naive_forecast(card: Card, raw: pd.DataFrame) -> np.ndarray:
    """Persistence (the value now), or with ``forecast.season`` the seasonal naive forecast: the
    target's value one season before the moment forecast (persistence where that is not known yet)."""
    now = raw[card.target.column].astype(float)
    back = (card.forecast.season or card.forecast.horizon) - card.forecast.horizon
    if not back:
        return now.to_numpy()
    earlier = now.groupby(raw[card.group.column], sort=False).shift(back) if card.group else now.shift(back)
    return earlier.fillna(now).to_numpy()


def evaluate(result: TuneResult, plots: bool = True) -> Report:
    card, model, test = result.card, result.model, result.test
    y, s, label = test_scores(card, model, test)
    values = {f"test_{k}": v for k, v in _metric_values(card.task, y, s, label).items()}
    predictions = pd.DataFrame({"y_true": y, "prediction": label})
    if card.task != "multiclass":
        predictions["score"] = s
    counts = {"test_rows": int(len(y))}
    if card.task in ("binary", "anomaly"):
        counts["test_positives"] = int(np.sum(y == 1))
    intervals, untrusted = {}, {}
    for name, metric in metrics.for_task(card.task).items():
        if f"test_{name}" not in values:
            continue
        intervals[f"test_{name}"] = metrics.interval(metric, y, s if metric.needs in ("score", "value") else label,
                                                     seed=result.seed)
        why = metrics.untrusted(card.task, name, y)
        if why:
            untrusted[f"test_{name}"] = why
    decisions = {}
    if card.task == "binary" and card.costs is not None:
        decisions = alarms.test_costs(y, s, model.threshold, card.costs)
    if model.conformal is not None:
        lower, upper = model.conformal.bounds(s, model.interval_level)
        predictions["lower"], predictions["upper"] = lower, upper
        decisions = {"interval_level": model.interval_level, **interval_coverage(y, lower, upper)}
    report = Report(card=card, metrics=values, baseline=baseline(card, result), predictions=predictions,
                    data_notes=result.data.notes_text(), counts=counts, intervals=intervals, untrusted=untrusted,
                    decisions=decisions)
    if plots:
        report.figures = figures(result, report)
    return report


# --- plots --------------------------------------------------------------------------------------------

def figures(result: TuneResult, report: Report) -> dict[str, plt.Figure]:
    card = result.card
    out: dict[str, plt.Figure] = {}
    p = report.predictions
    if card.task in ("binary", "multiclass", "anomaly"):
        out["confusion_matrix"] = _confusion(p["y_true"], p["prediction"], card)
    if card.task in ("binary", "anomaly"):
        out["precision_recall"] = _pr_curve(p["y_true"], p["score"], report)
    if "test_expected_cost" in report.decisions:
        out["cost_curve"] = _cost_curve(result, report)
    if card.task in ("regression", "rul", "forecast"):
        out["residuals"] = _residuals(p["y_true"], p["score"], card)
    if "lower" in p:
        out["interval_coverage"] = _interval_plot(p, report)
    if card.task == "forecast":
        out["forecast"] = _forecast_trace(p["y_true"], p["score"], card)
    if card.task == "anomaly":
        out["anomaly_scores"] = _anomaly_trace(p["y_true"], p["score"], result.model.threshold)
    out["feature_importance"] = _importance(result.model)
    out["shap_summary"] = _shap_summary(result)
    return out


def _confusion(y, pred, card: Card) -> plt.Figure:
    labels = sorted(pd.unique(pd.concat([pd.Series(y), pd.Series(pred)]).astype(str)))
    cm = confusion_matrix(pd.Series(y).astype(str), pd.Series(pred).astype(str), labels=labels)
    fig, ax = plt.subplots(figsize=(1.2 + 0.6 * len(labels), 1.0 + 0.6 * len(labels)))
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > cm.max() / 2 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title(f"{card.id}: confusion matrix (test)")
    fig.tight_layout()
    return fig


def _pr_curve(y, s, report: Report) -> plt.Figure:
    precision, recall, _ = precision_recall_curve(y, s)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(recall, precision, label=f"model (AP {report.metrics.get('test_average_precision', float('nan')):.3f})")
    ax.axhline(np.mean(y), color="grey", linestyle="--", label=f"baseline (prevalence {np.mean(y):.3f})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("precision-recall on the test split")
    ax.legend()
    fig.tight_layout()
    return fig


def _cost_curve(result: TuneResult, report: Report) -> plt.Figure:
    """Expected cost per row against the threshold: on the training folds (where it was chosen) and on
    the test rows, with the chosen threshold, 0.5 and never alarming marked."""
    costs, d = result.card.costs, report.decisions
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, y, s in (("training folds (chooses)", result.y_train, result.oof),
                       ("test rows", report.predictions["y_true"].to_numpy(), report.predictions["score"].to_numpy())):
        found = alarms.curve(y, s, costs)
        ax.step(found.thresholds[:-1], found.per_row[:-1], where="post", label=name)
    ax.axvline(d["decision_threshold"], color="black", linestyle="--",
               label=f"chosen {d['decision_threshold']:.3f}: {d['test_expected_cost']:.3f} per test row")
    ax.axvline(0.5, color="grey", linestyle=":", label=f"0.5: {d['test_cost_at_0.5']:.3f}")
    ax.axhline(d["test_cost_never_alarm"], color="red", linestyle=":",
               label=f"never alarm: {d['test_cost_never_alarm']:.3f}")
    unit = f" [{costs.unit}]" if costs.unit else ""
    ax.set_xlabel("alarm threshold (probability of a defect)")
    ax.set_ylabel(f"expected cost per row{unit}")
    ax.set_title(f"cost of the alarm decision (false alarm {costs.false_alarm:g} : missed {costs.missed:g})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _interval_plot(p: pd.DataFrame, report: Report, points: int = 300) -> plt.Figure:
    """The test rows sorted by prediction, their intervals as a band and the truths as dots: red where
    the truth fell outside."""
    d = report.decisions
    part = p.sort_values("score").iloc[np.linspace(0, len(p) - 1, min(points, len(p))).astype(int)]
    x = np.arange(len(part))
    outside = (part["y_true"] < part["lower"]) | (part["y_true"] > part["upper"])
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.fill_between(x, part["lower"], part["upper"], color="C0", alpha=0.25,
                    label=f"{d['interval_level']:.0%} interval")
    ax.plot(x, part["score"], color="C0", linewidth=1, label="prediction")
    ax.scatter(x[~outside], part["y_true"][~outside], s=6, color="black", label="actual")
    ax.scatter(x[outside], part["y_true"][outside], s=10, color="red", label="actual, outside")
    ax.set_xlabel("test rows, sorted by prediction")
    unit = f" [{report.card.target.unit}]" if report.card.target.unit else ""
    ax.set_ylabel(f"{report.card.target.column}{unit}")
    ax.set_title(f"prediction intervals on the test rows: coverage {d['test_interval_coverage']:.1%}, "
                 f"mean width {d['test_interval_width']:.3g}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _residuals(y, s, card: Card) -> plt.Figure:
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.scatter(y, s, s=6, alpha=0.4)
    lo, hi = float(np.nanmin([y.min(), s.min()])), float(np.nanmax([y.max(), s.max()]))
    a.plot([lo, hi], [lo, hi], color="black", linewidth=1)
    unit = f" [{card.target.unit}]" if card.target.unit else ""
    a.set_xlabel(f"actual {card.target.column}{unit}")
    a.set_ylabel("predicted")
    a.set_title("predicted vs actual (test)")
    b.hist(np.asarray(s) - np.asarray(y), bins=40)
    b.set_xlabel(f"residual (predicted - actual){unit}")
    b.set_title("residuals")
    fig.tight_layout()
    return fig


def _forecast_trace(y, s, card: Card, points: int = 96 * 7) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(11, 3.5))
    ax.plot(np.asarray(y)[-points:], label="actual", linewidth=1)
    ax.plot(np.asarray(s)[-points:], label="forecast", linewidth=1)
    ax.set_title(f"last {min(points, len(y))} test steps: {card.target.column}, {card.forecast.horizon} step(s) ahead")
    ax.legend()
    fig.tight_layout()
    return fig


def _anomaly_trace(y, s, threshold: float) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(11, 3.5))
    x = np.arange(len(s))
    ax.plot(x, s, linewidth=0.6, label="anomaly score")
    ax.scatter(x[np.asarray(y) == 1], np.asarray(s)[np.asarray(y) == 1], color="red", s=8, label="labelled fault")
    ax.axhline(threshold, color="black", linestyle="--", label="threshold")
    ax.set_title("anomaly score over the test period")
    ax.legend()
    fig.tight_layout()
    return fig


def _first_booster(model: StandardModel):
    name = "target" if "target" in model.boosters else next(iter(model.boosters))
    names = model.feature_names if name == "target" else model.signal_features[name]
    return name, model.boosters[name], names


def _importance(model: StandardModel, top: int = 20) -> plt.Figure:
    name, booster, names = _first_booster(model)
    gain = boosters.importance(model.kind, booster, names).sort_values().tail(top)
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(gain) + 1.2))
    ax.barh(gain.index, gain.to_numpy())
    ax.set_title(f"feature importance (total gain{'' if name == 'target' else ', model of ' + name})")
    fig.tight_layout()
    return fig


def shap_values(result: TuneResult, rows: int = 2000) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SHAP values (TreeSHAP from the booster) for up to ``rows`` test rows: ``(values, inputs)``;
    multiclass gives mean |SHAP| over classes."""
    model = result.model
    name, booster, names = _first_booster(model)
    frame = model.featurize(result.test.raw).iloc[result.test.rows]
    frame = frame.sample(min(rows, len(frame)), random_state=0) if len(frame) > rows else frame
    X = model.design(frame, names)
    contrib = boosters.contributions(model.kind, booster, X)
    if contrib.ndim == 3:
        contrib = np.abs(contrib).mean(axis=1)
    elif contrib.shape[1] != len(names) + 1:
        contrib = np.abs(contrib.reshape(len(X), -1, len(names) + 1)).mean(axis=1)
    return pd.DataFrame(contrib[:, :-1], columns=names), frame[names].reset_index(drop=True)


def _shap_summary(result: TuneResult, top: int = 12) -> plt.Figure:
    values, inputs = shap_values(result)
    order = values.abs().mean().sort_values(ascending=False).index[:top][::-1]
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(order) + 1.5))
    rng = np.random.default_rng(0)
    for i, col in enumerate(order):
        x = inputs[col]
        colour = pd.to_numeric(x, errors="coerce") if pd.api.types.is_numeric_dtype(x) else x.astype("category").cat.codes
        colour = (colour - np.nanmin(colour)) / ((np.nanmax(colour) - np.nanmin(colour)) or 1)
        ax.scatter(values[col], i + rng.uniform(-0.25, 0.25, len(values)), c=colour, cmap="coolwarm", s=5, alpha=0.6)
    ax.set_yticks(range(len(order)), order)
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("SHAP value (impact on the model output); colour: feature value low (blue) to high (red)")
    ax.set_title("SHAP summary (test rows)")
    fig.tight_layout()
    return fig
